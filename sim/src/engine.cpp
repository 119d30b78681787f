#include "engine.hpp"

#include <qx/actors/domain/agent_logic.hpp>
#include <qx/actors/domain/cluster.hpp>
#include <qx/actors/domain/node.hpp>
#include <qx/actors/domain/storage_pool.hpp>
#include <qx/actors/domain/vm.hpp>
#include <qx/actors/domain/volume.hpp>
#include <qx/events/memory_store.hpp>
#include <qx/events/v1/vm.pb.h>

#include <algorithm>
#include <qx/events/text_fields.hpp>

namespace qx::sim {

namespace {

using namespace std::chrono_literals;
namespace dom = qx::domain;
using actors::command_outcome;
using actors::placement_outcome;

constexpr const char* principal = "user:sim";
constexpr sim_duration agent_restart_time = 10s;

caf::actor_system_config& deterministic(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  return cfg;
}

events::v1::HaSettings ha_settings(const ha_spec& h) {
  events::v1::HaSettings out;
  out.set_enabled(h.enabled);
  out.set_admission_policy(h.admission == "none" ? "" : h.admission);
  out.set_host_failures_to_tolerate(h.host_failures_to_tolerate);
  out.set_reserved_cpu_percent(h.reserved_percent);
  out.set_reserved_memory_percent(h.reserved_percent);
  out.set_shutdown_policy(h.shutdown_policy);
  return out;
}

events::v1::DrsSettings drs_settings(const drs_spec& d, sim_duration default_hold) {
  events::v1::DrsSettings out;
  out.set_enabled(d.enabled);
  out.set_automation(d.automation);
  out.set_migration_threshold(d.threshold);
  out.set_placement_strategy(d.placement);
  out.set_max_moves_per_pass(d.max_moves);
  out.set_max_concurrent_per_host(d.max_per_host);
  out.set_max_concurrent_per_cluster(d.max_per_cluster);
  out.set_hold_seconds(static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(d.hold.value_or(default_hold)).count()));
  out.set_min_gain(d.min_gain);
  out.set_fail_back(d.fail_back);
  if (d.migration_gib_per_s)
    out.set_migration_gib_per_s(*d.migration_gib_per_s);
  if (d.cpu_overcommit)
    out.set_cpu_overcommit(*d.cpu_overcommit);
  return out;
}

std::string volume_id(const std::string& vm, const std::string& pool) {
  return vm + "-" + pool;
}

} // namespace

engine::engine(const scenario& s, const run_options& opts)
    : scenario_(s), opts_(opts), clock_(opts.epoch_unix_ms * 1'000'000) {
  sys_ = std::make_unique<caf::actor_system>(deterministic(cfg_));
  sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
  store_ = events::make_memory_store({&clock_, {}});
}

engine::~engine() {
  if (dc_.coordinator)
    actors::shutdown(dc_);
  reactors_.stop();
  sched_->run();
}

template<class Reply, class Handle, class... Ts>
void engine::ask(const Handle& dest, std::function<void(Reply&)> then, Ts... xs) {
  sys_->spawn(
      [this, dest, then = std::move(then), xs...](caf::event_based_actor* self,
                                                  int /*see tests/README.md*/) {
        self->request(dest, caf::infinite, xs...).then([this, then](Reply& r) {
          acknowledge(r);
          if (then)
            then(r);
        });
      },
      0);
}

template<class Reply>
void engine::acknowledge(const Reply& r) {
  if constexpr (std::is_same_v<Reply, command_outcome>) {
    if (r && r->events > 0)
      acknowledged_.emplace_back(r->first_position, r->events);
  } else if constexpr (std::is_same_v<Reply, placement_outcome>) {
    if (r && r->vm.events > 0)
      acknowledged_.emplace_back(r->vm.first_position, r->vm.events);
  }
}

void engine::note(std::string_view what) {
  auto line = "t=" + std::to_string(now_.count() / 1000) + "s: ";
  line += what;
  notes_.push_back(std::move(line));
}

template<class A>
void engine::command_as(std::string who, const std::string& id, typename A::command c,
                        std::function<void(command_outcome&)> then) {
  ask<command_outcome>(
      dc_.coordinator, std::move(then),
      actors::command_request<A>{id, std::move(c), {std::move(who), "", "", "", {}}});
}

template<class A>
void engine::command(const std::string& id, typename A::command c,
                     std::function<void(command_outcome&)> then) {
  command_as<A>(principal, id, std::move(c), std::move(then));
}

void engine::report(const std::string& host, const std::string& vm, dom::vm::command c) {
  command_as<actors::vm_aggregate>("agent:" + host, vm, std::move(c));
}

sim_duration engine::latency(const std::string& host) const {
  const auto it = world_.hosts().find(host);
  return opts_.libvirt_latency + (it == world_.hosts().end() ? 0ms : it->second.slow);
}

std::string engine::cluster_of(const std::string& vm) const {
  const auto it = world_.vms().find(vm);
  return it == world_.vms().end() ? std::string{} : it->second.cluster;
}

// ---- setup ------------------------------------------------------------------------------

status engine::set_up() {
  auto dc = actors::spawn_datacenter(*sys_, *store_);
  if (!dc)
    return std::move(dc).error();
  dc_ = std::move(*dc);
  // The reactors as the server wires them (reactor_wiring.hpp), live from the start: the
  // simulated log begins empty.
  actors::reactor_settings reactors;
  reactors.drs.hold = 2 * scenario_.drs_interval;
  reactors.drs_interval = scenario_.drs_interval;
  reactors.ha.lease = {opts_.lease, opts_.fence_bound};
  reactors.ha_interval = opts_.step;
  reactors_ = actors::reactor_set::spawn(*sys_, *store_, dc_.coordinator, reactors);

  for (const auto& c : scenario_.clusters) {
    command<actors::cluster_aggregate>(
        c.id, dom::cluster::create{c.id, "", ha_settings(c.ha),
                                   drs_settings(c.drs, 2 * scenario_.drs_interval)});
  }
  std::set<std::string> pools;
  for (const auto& h : scenario_.hosts) {
    world_.add_host(h);
    for (const auto& c : scenario_.clusters)
      if (c.id == h.cluster && c.drs.cpu_overcommit)
        world_.hosts().at(h.id).cpu_overcommit = *c.drs.cpu_overcommit;
    events::v1::NodeHardware hw;
    hw.set_cpu_cores(h.cpus);
    hw.set_cpu_threads(h.cpus);
    hw.set_memory_mib(h.memory_mib);
    command<actors::node_aggregate>(h.id, dom::node::register_node{h.id, h.id, hw, ""});
    pools.insert(h.pools.begin(), h.pools.end());
  }
  for (const auto& p : pools)
    command<actors::storage_pool_aggregate>(
        p, dom::storage_pool::create{p, "nfs", {}, std::uint64_t{1} << 50U});
  settle();
  for (const auto& h : scenario_.hosts) {
    if (!h.cluster.empty())
      command<actors::cluster_aggregate>(h.cluster, dom::cluster::add_node{h.id});
    for (const auto& p : h.pools)
      command<actors::storage_pool_aggregate>(p, dom::storage_pool::assign{h.id});
  }
  for (const auto& v : scenario_.vms)
    create_vm(v);
  settle(); // the nodes are members before a rule names them
  for (const auto& r : scenario_.rules)
    set_rule(r);
  settle();
  for (const auto& v : scenario_.vms)
    if (v.state == "running") // a stopped VM is created only: not meant to run
      start_vm(v.id, v.host, "start");
  settle();
  return {};
}

void engine::create_vm(const vm_spec& v) {
  world_.add_vm(v);
  auto w = workload::make(v.workload, v, opts_.seed);
  if (w)
    workloads_.insert_or_assign(v.id, std::move(*w));
  else
    notes_.push_back("workload of " + v.id + " unusable: " + w.error().to_string());
  events::v1::VmSpec spec;
  spec.set_name(v.id);
  spec.set_vcpus(v.vcpus);
  spec.set_memory_mib(v.memory_mib);
  spec.set_ha_restart_priority(v.ha_protected ? v.priority + 3 : 0);
  for (const auto& p : v.pools) {
    spec.add_volume_ids(volume_id(v.id, p));
    command<actors::volume_aggregate>(volume_id(v.id, p),
                                      dom::volume::create{v.id, p, std::uint64_t{10} << 30U});
  }
  command<actors::vm_aggregate>(v.id, dom::vm::create{spec});
}

/// Admission control first (HA), then the start: on the given host, or placed by the
/// coordinator (the path the API's starts take) among the nodes DRS says the cluster's rules
/// allow, with the cluster's strategy.
void engine::start_vm(const std::string& vm, std::string host, std::string action) {
  desired_.insert(vm);
  stopped_by_user_.erase(vm);
  ++desired_generation_;
  const auto cluster = cluster_of(vm);
  const auto& spec = world_.vms().at(vm);
  auto go = [this, vm, action](const std::string& node, actors::placement_scope scope) {
    ask<placement_outcome>(
        dc_.coordinator, on_placement_refusal(action, vm),
        actors::start_vm{vm, node, {principal, "", "", "", {}}, std::move(scope)});
  };
  ask<bool>(
      reactors_.ha,
      [this, vm, host, cluster, go, action](bool& admitted) {
        if (!admitted) {
          desired_.erase(vm);
          ++desired_generation_;
          refuse(action, vm,
                 error{errc::resource_exhausted,
                       "HA admission control refused the start: the cluster would lose the "
                       "failover capacity it keeps",
                       {{"reason", "ADMISSION_CONTROL"}}});
          return;
        }
        if (cluster.empty()) {
          go(host, {});
          return;
        }
        // DRS answers where the rules allow it (RULE_VIOLATION for a named node they forbid).
        ask<result<actors::placement_scope>>(
            reactors_.drs,
            [this, vm, host, go, action](result<actors::placement_scope>& scope) {
              if (scope)
                go(host, std::move(*scope));
              else
                refuse(action, vm, scope.error());
            },
            actors::place_atom::value, cluster, vm, host);
      },
      actors::admit_atom::value, cluster, spec.vcpus, spec.memory_mib);
}

/// An operator's live migration: where the rules allow it (DRS's scope, RULE_VIOLATION for a
/// named target they forbid), then the coordinator's placement path.
void engine::migrate_vm(const std::string& vm, const std::string& to) {
  const auto cluster = cluster_of(vm);
  auto go = [this, vm, to](actors::placement_scope scope) {
    ask<placement_outcome>(
        dc_.coordinator, on_placement_refusal("vm_migrate", vm),
        actors::migrate_vm{vm, to, {principal, "", "", "", {}}, std::move(scope)});
  };
  if (cluster.empty()) {
    go({});
    return;
  }
  ask<result<actors::placement_scope>>(
      reactors_.drs,
      [this, vm, go](result<actors::placement_scope>& scope) {
        if (scope)
          go(std::move(*scope));
        else
          refuse("vm_migrate", vm, scope.error());
      },
      actors::place_atom::value, cluster, vm, to);
}

/// Maintenance through DRS, as an operator asks for it: refused for a host that is down.
void engine::maintenance(const std::string& host, bool enable) {
  ask<status>(
      reactors_.drs,
      [this, host, enable](status& s) {
        if (!s)
          refuse(enable ? "maintenance_enable" : "maintenance_disable", host, s.error());
      },
      actors::maintenance_atom::value, host, enable, std::string{principal});
}

/// The migration bandwidth of `vm`'s cluster (its drs.migration_gib_per_s), else the run's.
double engine::bandwidth_of(const std::string& vm) const {
  const auto cluster = cluster_of(vm);
  for (const auto& c : scenario_.clusters)
    if (c.id == cluster && c.drs.migration_gib_per_s)
      return *c.drs.migration_gib_per_s;
  return opts_.migration_gib_per_s;
}

bool engine::in_maintenance(const std::string& host) const {
  const auto n = view_.nodes().find(host);
  return n != view_.nodes().end() && n->second.state == dom::node::states::maintenance;
}

/// A rule goes to the log as a cluster's rule (the cluster of its first VM), as an operator's
/// would through the API; the reactors read it from there. A refusal is noted.
void engine::set_rule(const rule_spec& r) {
  std::erase_if(rules_, [&](const rule_spec& old) { return old.name == r.name; });
  rules_.push_back(r);
  events::v1::PlacementRule pr;
  pr.set_name(r.name);
  pr.set_kind(r.kind);
  for (const auto& vm : r.vms)
    pr.add_vm_ids(vm);
  for (const auto& h : r.hosts)
    pr.add_node_ids(h);
  pr.mutable_priorities()->insert(r.priorities.begin(), r.priorities.end());
  const auto cluster = r.vms.empty() ? std::string{} : cluster_of(r.vms.front());
  command<actors::cluster_aggregate>(cluster, dom::cluster::set_rule{std::move(pr)},
                                     on_refusal("set_rule", r.name));
}

void engine::remove_rule(const std::string& name) {
  const auto it = std::find_if(rules_.begin(), rules_.end(),
                               [&](const rule_spec& r) { return r.name == name; });
  if (it == rules_.end())
    return;
  const auto cluster = it->vms.empty() ? std::string{} : cluster_of(it->vms.front());
  rules_.erase(it);
  command<actors::cluster_aggregate>(cluster, dom::cluster::remove_rule{name},
                                     on_refusal("remove_rule", name));
}

// ---- the log, as the agents and the reactors learn it -----------------------------------

/// Runs the actors until they are idle and every new event has been delivered.
void engine::settle() {
  for (;;) {
    sched_->run();
    auto batch = store_->read_all(next_position_, 4096);
    if (!batch || batch->empty())
      return;
    next_position_ = batch->back().position + 1;
    for (const auto& e : *batch)
      observe(e);
    reactors_.events(std::move(*batch));
  }
}

void engine::observe(const events::recorded_event& e) {
  view_.apply(e);
  ++event_counts_[e.type];
  if (e.type == "qx.events.v1.VmMigrated") {
    ++migrations_;
  } else if (e.type == "qx.events.v1.DrsRecommended") {
    events::v1::DrsRecommended rec;
    if (qx::events::parse_message(rec, e.payload))
      check_balance_move(rec);
  } else if (e.type == "qx.events.v1.HaRestartPlanned") {
    ++restarts_;
  } else if (e.type == "qx.events.v1.VmMigrationStarted") {
    events::v1::VmMigrationStarted ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    const auto memory = world_.vms().count(ev.id()) != 0 ? world_.vms().at(ev.id()).memory_mib : 0;
    const auto copy = std::chrono::milliseconds{static_cast<std::int64_t>(
        static_cast<double>(memory) / 1024.0 / bandwidth_of(ev.id()) * 1000.0)};
    actions_.emplace(now_ + latency(ev.target_node_id()) + copy,
                     agent_action{agent_action::kind::migrate, ev.id(), ev.source_node_id(),
                                  ev.target_node_id()});
  } else if (e.type == "qx.events.v1.VmPowerStateChanged") {
    events::v1::VmPowerStateChanged ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    if (ev.to() == "starting")
      actions_.emplace(now_ + latency(ev.node_id()),
                       agent_action{agent_action::kind::start, ev.id(), ev.node_id(), {}});
    else if (ev.to() == "stopping")
      actions_.emplace(now_ + latency(ev.node_id()),
                       agent_action{agent_action::kind::stop, ev.id(), ev.node_id(), {}});
    else if (ev.to() == "stopped" && world_.reachable(ev.node_id()))
      world_.stop(ev.id(), ev.node_id()); // forced off: the agent destroys it now
    if (ev.to() == "stopped")
      if (const auto r = relocations_.find(ev.id()); r != relocations_.end()) {
        auto target = r->second;
        relocations_.erase(r);
        start_vm(ev.id(), target, "vm_relocate");
      }
  }
}

// ---- agents ---------------------------------------------------------------------------------

void engine::run_due_actions() {
  while (!actions_.empty() && actions_.begin()->first <= now_) {
    const auto a = actions_.begin()->second;
    actions_.erase(actions_.begin());
    run_action(a);
  }
}

void engine::run_action(const agent_action& a) {
  const auto vm = view_.vms().find(a.vm);
  if (vm == view_.vms().end())
    return;
  const auto& host = world_.hosts().at(a.host);
  const bool failing = now_ < host.failing_until;
  switch (a.what) {
  case agent_action::kind::start:
    // The control plane may have changed its mind, or cannot reach the agent.
    if (vm->second.power != "starting" || vm->second.node_id != a.host || !world_.reachable(a.host))
      return;
    if (failing) {
      report(a.host, a.vm, dom::vm::force_stop{"LIBVIRT_ERROR"});
      return;
    }
    world_.run(a.vm, a.host, now_);
    check_rules(a.vm, a.host);
    check_not_stopped_by_user(a.vm);
    report(a.host, a.vm, dom::vm::confirm_running{});
    return;
  case agent_action::kind::stop:
    if (vm->second.power != "stopping" || !world_.reachable(a.host))
      return;
    world_.stop(a.vm, a.host);
    report(a.host, a.vm, dom::vm::confirm_stopped{});
    return;
  case agent_action::kind::migrate:
    if (vm->second.power != "migrating" || vm->second.migration_target != a.target)
      return;
    if (!world_.reachable(a.host) || !world_.reachable(a.target) || failing ||
        now_ < world_.hosts().at(a.target).failing_until) {
      report(a.host, a.vm, dom::vm::fail_migration{"HOST_UNREACHABLE"});
      return;
    }
    world_.stop(a.vm, a.host);
    world_.run(a.vm, a.target, now_);
    check_rules(a.vm, a.target);
    report(a.host, a.vm, dom::vm::complete_migration{});
    return;
  }
}

/// Heartbeats from every agent that is up and connected; self-fencing for the others.
void engine::agents() {
  std::vector<std::string> heard;
  for (auto& [id, h] : world_.hosts()) {
    if (!h.agent && now_ >= h.agent_back_at)
      h.agent = true;
    if (h.powered && h.agent && h.network) {
      heard.push_back(id);
      h.last_ack = now_;
      if (!h.heard) {
        h.heard = true;
        reconcile(id);
      }
      continue;
    }
    h.heard = false;
    // The watchdog: once the lease has lapsed the host stops its VMs, agent or not.
    if (opts_.self_fencing && h.powered && now_ - h.last_ack >= opts_.lease &&
        !world_.vms_on(id).empty()) {
      note(id + " fenced itself, stopping " + std::to_string(world_.vms_on(id).size()) + " VMs");
      world_.stop_all(id);
    }
  }
  reactors_.heard(std::move(heard));
}

/// After a reconnect the agent reports what really runs; the log is the reference. The same
/// reconciliation as the control plane's node proxy runs (domain/agent_logic): records what
/// the host reports, and sends again what a starting or stopping VM still lacks.
void engine::reconcile(const std::string& host) {
  agent::v1::Hello hello; // what libvirt runs on the host, as the agent's Hello says it
  for (const auto& id : world_.vms_on(host)) {
    auto* d = hello.add_domains();
    d->set_id(id);
    d->set_state("running");
  }
  std::vector<dom::agent_logic::vm_on_node> placed;
  for (const auto& [id, vm] : view_.vms())
    if (vm.node_id == host) {
      dom::agent_logic::vm_on_node v;
      v.state.set_id(id);
      v.state.set_power_state(vm.power);
      v.state.set_node_id(host);
      placed.push_back(std::move(v));
    }
  const dom::agent_logic::volume_lookup no_disks = [](const std::string&) {
    return std::optional<snapshots::v1::VolumeState>{}; // simulated hosts need no disk files
  };
  for (auto& step : dom::agent_logic::reconcile(hello, placed, no_disks)) {
    if (step.record)
      report(host, step.vm_id, std::move(*step.record));
    if (step.resend)
      actions_.emplace(now_,
                       agent_action{step.resend->has_define_and_start() ? agent_action::kind::start
                                                                        : agent_action::kind::stop,
                                    step.vm_id,
                                    host,
                                    {}});
  }
  // The simulated host itself: domains the log does not place there are destroyed.
  for (const auto& id : world_.vms_on(host)) {
    const auto vm = view_.vms().find(id);
    if (vm == view_.vms().end() || vm->second.node_id != host ||
        !dom::cluster_view::holds_capacity(vm->second.power)) {
      std::string what = host;
      what += " destroyed stray ";
      what += id;
      note(what);
      world_.stop(id, host);
    }
  }
}

void engine::telemetry() {
  std::vector<actors::vm_demand> measures;
  for (auto& [id, w] : workloads_) {
    if (world_.host_of(id).empty())
      continue;
    const auto d = w.at(now_);
    const auto& spec = world_.vms().at(id);
    measures.push_back({id, d.cpu * spec.vcpus, d.memory * static_cast<double>(spec.memory_mib)});
  }
  reactors_.measured(std::move(measures));
}

void engine::sample() {
  metrics_sample m;
  m.at = now_;
  std::map<std::string, std::pair<double, double>> used; // host -> cpu, memory
  for (auto& [id, w] : workloads_) {
    const auto host = world_.host_of(id);
    if (host.empty())
      continue;
    ++m.vms_running;
    const auto d = w.at(now_);
    const auto& spec = world_.vms().at(id);
    used[host].first += d.cpu * spec.vcpus;
    used[host].second += d.memory * static_cast<double>(spec.memory_mib);
  }
  std::map<std::string, std::vector<double>> loads;
  for (const auto& [id, h] : world_.hosts()) {
    if (!h.powered)
      continue;
    const auto& u = used[id];
    const double load =
        std::max(u.first / std::max(1U, h.spec.cpus),
                 u.second / static_cast<double>(std::max<std::uint64_t>(1, h.spec.memory_mib)));
    m.host_load[id] = load;
    if (!h.spec.cluster.empty())
      loads[h.spec.cluster].push_back(load);
  }
  for (const auto& [cluster, l] : loads) {
    double mean = 0;
    for (auto x : l)
      mean += x;
    mean /= static_cast<double>(l.size());
    double var = 0;
    for (auto x : l)
      var += (x - mean) * (x - mean);
    m.cluster_imbalance[cluster] = std::sqrt(var / static_cast<double>(l.size()));
  }
  m.migrations_total = migrations_;
  m.restarts_total = restarts_;
  for (const auto& vm : desired_)
    if (world_.host_of(vm).empty())
      ++m.vms_down;
  count_hosts(m, used);
  samples_.push_back(std::move(m));
}

// ---- the timeline -------------------------------------------------------------------------

void engine::host_power_off(const std::string& host) {
  auto& h = world_.hosts().at(host);
  h.powered = false;
  world_.stop_all(host);
}

void engine::host_power_on(const std::string& host) {
  auto& h = world_.hosts().at(host);
  h.powered = true;
  h.agent = true;
  h.network = true;
  h.last_ack = now_;
  // Back from a shutdown that emptied it (policy migrate): out of that maintenance, unless an
  // operator had set one, which powering on never clears.
  if (h.power_off_when_empty) {
    h.power_off_when_empty = false;
    if (!h.operator_maintenance)
      maintenance(host, false);
  }
}

void engine::host_shutdown(const std::string& host) {
  const auto& spec = world_.hosts().at(host).spec;
  std::string policy = "failover";
  for (const auto& c : scenario_.clusters)
    if (c.id == spec.cluster)
      policy = c.ha.shutdown_policy;
  ask<bool>(reactors_.ha, {}, actors::shutdown_atom::value, host);
  if (policy == "migrate") {
    maintenance(host, true);
    world_.hosts().at(host).power_off_when_empty = true; // once DRS has emptied it
  } else {
    host_power_off(host);
  }
}

void engine::apply_step(const step_spec& st) {
  const auto& a = st.action;
  if (a == "host_power_off") {
    host_power_off(st.target);
  } else if (a == "host_power_on") {
    host_power_on(st.target);
  } else if (a == "host_shutdown") {
    host_shutdown(st.target);
  } else if (a == "network_off" || a == "network_on") {
    world_.hosts().at(st.target).network = a == "network_on";
  } else if (a == "agent_restart") {
    auto& h = world_.hosts().at(st.target);
    h.agent = false;
    h.agent_back_at = now_ + (st.duration.count() > 0 ? st.duration : agent_restart_time);
  } else if (a == "maintenance_enable" || a == "maintenance_disable") {
    const bool enable = a == "maintenance_enable";
    world_.hosts().at(st.target).operator_maintenance = enable;
    maintenance(st.target, enable);
  } else if (a == "vm_start") {
    start_vm(st.target, st.to);
  } else if (a == "vm_stop") {
    stopped_by_user_.insert(st.target);
    desired_.erase(st.target);
    ++desired_generation_;
    command<actors::vm_aggregate>(st.target, dom::vm::stop{}, on_refusal(a, st.target));
  } else if (a == "vm_migrate") {
    migrate_vm(st.target, st.to);
  } else if (a == "vm_relocate") {
    relocations_[st.target] = st.to; // cold: off, then on at the target
    command<actors::vm_aggregate>(st.target, dom::vm::stop{}, on_refusal(a, st.target));
  } else if (a == "add_vm" && st.vm) {
    create_vm(*st.vm);
    settle();
    if (st.vm->state == "running")
      start_vm(st.vm->id, st.vm->host, a);
  } else if (a == "delete_vm") {
    desired_.erase(st.target);
    ++desired_generation_;
    const auto id = st.target;
    command<actors::vm_aggregate>(id, dom::vm::force_stop{"DELETED"}, [this, id](auto&) {
      command<actors::vm_aggregate>(id, dom::vm::remove{}, on_refusal("delete_vm", id));
    });
  } else if (a == "set_rule" && st.rule) {
    set_rule(*st.rule);
  } else if (a == "remove_rule") {
    remove_rule(st.target);
  } else if (a == "slow_libvirt") {
    world_.hosts().at(st.target).slow = st.duration;
  } else if (a == "fail_libvirt") {
    world_.hosts().at(st.target).failing_until = now_ + st.duration;
  }
}

// ---- the loop -------------------------------------------------------------------------------

/// Adds a step of downtime to every VM that should run and does not; the list is only rebuilt
/// when a VM started or stopped somewhere or the desired set changed.
void engine::count_downtime() {
  if (world_.generation() != down_world_generation_ ||
      desired_generation_ != down_desired_generation_) {
    down_.clear();
    for (const auto& vm : desired_)
      if (world_.host_of(vm).empty())
        down_.push_back(vm);
    down_world_generation_ = world_.generation();
    down_desired_generation_ = desired_generation_;
  }
  // The last step (at the scenario's end) lasts no longer than the run: not beyond its end.
  const auto step = std::min(opts_.step, scenario_.duration - now_);
  for (const auto& vm : down_)
    downtime_[vm] += step;
}

void engine::step() {
  clock_.set((opts_.epoch_unix_ms + now_.count()) * 1'000'000);
  while (next_step_ < scenario_.timeline.size() && scenario_.timeline[next_step_].at <= now_)
    apply_step(scenario_.timeline[next_step_++]);
  run_due_actions();
  for (auto& [id, h] : world_.hosts())
    // Off once empty and in maintenance: never declared failed while it is merely empty.
    if (h.power_off_when_empty && h.powered && world_.vms_on(id).empty() && in_maintenance(id))
      host_power_off(id);
  agents();
  if (now_.count() % std::chrono::milliseconds{1min}.count() == 0)
    telemetry();
  settle();
  count_downtime();
  if (now_.count() % scenario_.metrics_interval.count() == 0)
    sample();
}

result<run_result> engine::play() {
  if (auto ok = set_up(); !ok)
    return std::move(ok).error();
  for (now_ = 0ms; now_ <= scenario_.duration; now_ += opts_.step) {
    if (now_.count() > 0)
      sched_->advance_time(opts_.step);
    step();
  }
  now_ = scenario_.duration;
  return finish();
}

} // namespace qx::sim
