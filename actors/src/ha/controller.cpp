#include "qx/actors/ha/controller.hpp"

#include "qx/actors/domain/node.hpp"
#include "qx/actors/domain/vm.hpp"
#include "reactor_record.hpp"

#include <qx/events/v1/ha.pb.h>
#include <qx/events/v1/vm.pb.h>

#include <algorithm>
#include <qx/events/text_fields.hpp>

namespace qx::actors::ha {

namespace {

namespace v1 = events::v1;
using domain::ha::health;

template<class Message>
void record(actions& out, const std::string& cluster_id, const Message& m) {
  out.records.push_back(decision("ha-" + cluster_id, m, principal));
}

void record_left_down(actions& out, const std::string& cluster_id, const std::string& vm_id,
                      const std::string& reason) {
  v1::HaVmLeftDown ev;
  ev.set_cluster_id(cluster_id);
  ev.set_vm_id(vm_id);
  ev.set_reason(reason);
  record(out, cluster_id, ev);
}

command_meta meta(const std::string& why) {
  return command_meta{principal, "", why, why, {}};
}

/// A person (or their script) through the API: a user, or anyone when authentication is off.
/// Not the system's reactors, nor an agent reporting what its host did.
bool stopped_by_operator(const std::string& principal) {
  return principal.starts_with("user:") || principal == "anonymous";
}

} // namespace

void controller::on_event(const events::recorded_event& e) {
  view_.apply(e);
  if (e.type.starts_with("qx.events.v1.Node") || e.type.starts_with("qx.events.v1.Cluster"))
    check_all_ = true;
  if (e.type.starts_with("qx.events.v1.Node") || e.type.starts_with("qx.events.v1.Cluster") ||
      e.type.starts_with("qx.events.v1.Vm"))
    admission_due_ = true;
  if (e.type == "qx.events.v1.HaAdmissionChanged") {
    // Its own verdicts, also while replaying: a restarted server does not record them again.
    v1::HaAdmissionChanged ev;
    if (qx::events::parse_message(ev, e.payload)) {
      if (ev.breached())
        breached_.insert(ev.cluster_id());
      else
        breached_.erase(ev.cluster_id());
    }
    return;
  }
  if (!live_) {
    replay(e); // what HA decided before a restart, and what became of it
    return;
  }
  // A protected VM its node's agent found stopped (the host rebooted under it) restarts too.
  if (e.type != "qx.events.v1.VmPowerStateChanged")
    return;
  v1::VmPowerStateChanged ev;
  if (!qx::events::parse_message(ev, e.payload))
    return;
  if (auto q = queue_.find(ev.id());
      q != queue_.end() && q->second.in_flight && ev.to() == "starting")
    q->second.seen_starting = true; // the restart landed; a stop from now on is its failure
  if (ev.to() == "running")
    left_down_.erase(ev.id());
  // A VM an operator stopped stays stopped, also when the stop arrives while its recovery is
  // queued or under way: HA drops it (vSphere HA does not restart a VM a user powered off).
  if ((ev.to() == "stopping" || ev.to() == "stopped") && stopped_by_operator(e.metadata.actor)) {
    queue_.erase(ev.id());
    return;
  }
  // The reason is "CODE" or "CODE: detail" (the node proxy adds what the host reported): the
  // code decides. Comparing the whole text missed every stop the real agent reported, which
  // the simulator showed once it reconciled with the same logic as the node proxy.
  const auto& reason = ev.reason();
  if (ev.to() != "stopped" || reason.substr(0, reason.find(':')) != "FOUND_STOPPED")
    return;
  const auto vm = view_.vms().find(ev.id());
  const auto node = view_.nodes().find(ev.node_id());
  if (vm == view_.vms().end() || vm->second.ha_priority <= 0 || node == view_.nodes().end() ||
      queue_.count(ev.id()) != 0)
    return;
  queue_[ev.id()] = queued(node->second.cluster_id, ev.node_id(), vm->second.ha_priority);
}

void controller::replay(const events::recorded_event& e) {
  if (e.type == "qx.events.v1.HaNodeFailed") {
    v1::HaNodeFailed ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    // Failed until heard from again (the first live tick gives it a lease from then); its
    // protected VMs wait for their restart unless the log shows them back up.
    auto& t = tracks_[ev.node_id()];
    t.suspected = t.failed = true;
    t.seen = true; // last heard at the epoch: no fresh lease, failed until heard from
    t.last_heartbeat = time_point{0};
    for (const auto& vm_id : ev.vm_ids())
      if (const auto vm = view_.vms().find(vm_id);
          vm != view_.vms().end() && vm->second.ha_priority > 0)
        queue_[vm_id] = queued(ev.cluster_id(), ev.node_id(), vm->second.ha_priority);
  } else if (e.type == "qx.events.v1.HaNodeSuspected") {
    v1::HaNodeSuspected ev;
    if (qx::events::parse_message(ev, e.payload))
      tracks_[ev.node_id()].suspected = true;
  } else if (e.type == "qx.events.v1.HaNodeRecovered") {
    v1::HaNodeRecovered ev;
    if (qx::events::parse_message(ev, e.payload)) {
      auto& t = tracks_[ev.node_id()];
      t.suspected = t.failed = t.seen = false;
    }
  } else if (e.type == "qx.events.v1.HaVmLeftDown") {
    v1::HaVmLeftDown ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    if (ev.reason() == "MAX_RESTARTS") {
      left_down_[ev.vm_id()] = {ev.cluster_id(), ev.reason()};
      queue_.erase(ev.vm_id());
    } else if (auto q = queue_.find(ev.vm_id()); q != queue_.end()) {
      q->second.reported_down = true;
      q->second.down_reason = ev.reason();
    }
  } else if (e.type == "qx.events.v1.VmPowerStateChanged") {
    v1::VmPowerStateChanged ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    if (ev.to() == "running")
      left_down_.erase(ev.id());
    const auto q = queue_.find(ev.id());
    if (q == queue_.end())
      return;
    // Dropped: an operator's stop (never restarted), or up again after it went down
    // (restarted before the server stopped).
    const bool by_operator =
        (ev.to() == "stopping" || ev.to() == "stopped") && stopped_by_operator(e.metadata.actor);
    const bool restarted = ev.to() == "running" && q->second.seen_down;
    if (by_operator || restarted)
      queue_.erase(q);
    else if (ev.to() == "stopped")
      q->second.seen_down = true;
  }
}

void controller::on_heartbeat(const std::string& node_id, time_point at) {
  auto& t = tracks_[node_id];
  t.last_heartbeat = at;
  t.seen = true;
}

bool controller::unavailable(const std::string& node_id) const {
  const auto t = tracks_.find(node_id);
  return t != tracks_.end() && (t->second.suspected || t->second.failed);
}

bool controller::failed(const std::string& node_id) const {
  const auto t = tracks_.find(node_id);
  return t != tracks_.end() && t->second.failed;
}

void controller::on_start_refused(const std::string& vm_id, const std::string& node_id) {
  const auto it = queue_.find(vm_id);
  if (it == queue_.end() || !it->second.in_flight || it->second.target != node_id)
    return;
  it->second.in_flight = false;
  ++it->second.attempts;
}

bool controller::admits(const std::string& cluster_id, std::uint32_t vcpus,
                        std::uint64_t memory_mib) const {
  const auto cluster = view_.clusters().find(cluster_id);
  if (cluster == view_.clusters().end() || !cluster->second.ha.enabled())
    return true;
  const auto& ha = cluster->second.ha;
  domain::ha::admission a{ha.admission_policy(), ha.host_failures_to_tolerate(),
                          ha.reserved_cpu_percent(), ha.reserved_memory_percent()};
  return domain::ha::admits(view_.node_views(cluster_id), vcpus, memory_mib, a);
}

actions controller::tick(time_point now) {
  actions out;
  if (!live_)
    return out;
  // Every node after a change to nodes or clusters (a node may have joined, a cluster turned
  // HA on, a healthy node be recorded disconnected); otherwise only the nodes whose lease
  // lapsed or that are marked: at 800 hosts visiting each through the view every tick cost
  // a fifth of a simulated day, and a healthy, unmarked node has nothing to do.
  std::vector<std::string> due;
  if (check_all_) {
    check_all_ = false;
    for (const auto& [node_id, node] : view_.nodes())
      due.push_back(node_id);
  } else {
    for (const auto& [node_id, t] : tracks_)
      if (t.suspected || t.failed || t.powered_off ||
          domain::ha::health_of(t.last_heartbeat, now, cfg_.lease) != health::healthy)
        due.push_back(node_id);
    std::sort(due.begin(), due.end()); // the view's order, as when every node was visited
  }
  for (const auto& node_id : due) {
    const auto n = view_.nodes().find(node_id);
    if (n == view_.nodes().end())
      continue;
    const auto& node = n->second;
    const auto cluster = view_.clusters().find(node.cluster_id);
    if (cluster == view_.clusters().end() || !cluster->second.ha.enabled() ||
        node.state == domain::node::states::decommissioned ||
        node.state == domain::node::states::maintenance)
      continue; // a node in maintenance may be powered off on purpose
    node_health(node_id, node, now, out);
    if (node.state == domain::node::states::disconnected && !unavailable(node_id))
      check_all_ = true; // asked to reconnect: look again next tick
  }
  track_in_flight(now, out);
  restart_queued(now, out);
  check_admission(out);
  return out;
}

void controller::check_admission(actions& out) {
  if (!admission_due_)
    return;
  admission_due_ = false;
  for (const auto& [cluster_id, cluster] : view_.clusters()) {
    // Breached: what the VMs hold now (nothing more started) exceeds what survives the
    // tolerated failures or the reserve. A cluster without HA is never breached.
    const bool breached = cluster.ha.enabled() && !admits(cluster_id, 0, 0);
    if (breached == (breached_.count(cluster_id) != 0))
      continue;
    v1::HaAdmissionChanged ev;
    ev.set_cluster_id(cluster_id);
    ev.set_breached(breached);
    if (breached)
      ev.set_detail("the VMs of cluster " + cluster_id + " hold more than admission control (" +
                    cluster.ha.admission_policy() +
                    ") keeps free for failover: one more host failure leaves protected VMs down");
    record(out, cluster_id, ev);
    if (breached)
      breached_.insert(cluster_id);
    else
      breached_.erase(cluster_id);
  }
}

void controller::node_health(const std::string& node_id,
                             const domain::cluster_view::node_info& node, time_point now,
                             actions& out) {
  auto& t = tracks_[node_id];
  // A node never heard from is given one lease from the moment HA first sees it.
  if (!t.seen) {
    t.seen = true;
    t.last_heartbeat = now;
  }
  const auto last = t.last_heartbeat;
  // A host shut down on purpose stays failed until it is heard from after its shutdown: its
  // silence is expected, and it is never counted as recovered while off.
  if (t.powered_off) {
    if (last <= *t.powered_off)
      return;
    t.powered_off.reset();
  }
  const auto h = domain::ha::health_of(last, now, cfg_.lease);
  if (h == health::healthy) {
    if (t.suspected || t.failed) {
      t.suspected = false;
      t.failed = false;
      v1::HaNodeRecovered ev;
      ev.set_cluster_id(node.cluster_id);
      ev.set_node_id(node_id);
      record(out, node.cluster_id, ev);
    }
    if (node.state == domain::node::states::disconnected)
      out.node_commands.push_back({node_id, domain::node::connect{}, meta("HEARTBEAT")});
    return;
  }
  if (!t.suspected) {
    t.suspected = true;
    v1::HaNodeSuspected ev;
    ev.set_cluster_id(node.cluster_id);
    ev.set_node_id(node_id);
    ev.set_last_heartbeat_unix_ms(last.count());
    record(out, node.cluster_id, ev);
    if (node.state == domain::node::states::connected)
      out.node_commands.push_back(
          {node_id, domain::node::disconnect{"HEARTBEAT_LOST"}, meta("HEARTBEAT_LOST")});
  }
  if (h == health::failed && !t.failed) {
    t.failed = true;
    fail_node(node_id, node.cluster_id, last, "HOST_FAILED", out);
  }
}

void controller::fail_node(const std::string& node_id, const std::string& cluster_id,
                           time_point last, const std::string& reason, actions& out) {
  v1::HaNodeFailed ev;
  ev.set_cluster_id(cluster_id);
  ev.set_node_id(node_id);
  ev.set_last_heartbeat_unix_ms(last.count());
  for (const auto& [vm_id, vm] : view_.vms()) {
    if (vm.node_id != node_id || !domain::cluster_view::holds_capacity(vm.power))
      continue;
    ev.add_vm_ids(vm_id);
    out.vm_commands.push_back({vm_id, domain::vm::force_stop{reason}, meta(reason)});
    if (vm.ha_priority > 0)
      queue_[vm_id] = queued(cluster_id, node_id, vm.ha_priority);
  }
  record(out, cluster_id, ev);
}

actions controller::host_shutdown(const std::string& node_id, time_point now) {
  actions out;
  const auto node = view_.nodes().find(node_id);
  if (node == view_.nodes().end())
    return out;
  const auto& cluster_id = node->second.cluster_id;
  // The cluster's recorded policy (ha.shutdown_policy; failover when never set).
  const auto cluster = view_.clusters().find(cluster_id);
  const auto policy =
      cluster == view_.clusters().end() || cluster->second.ha.shutdown_policy().empty()
          ? std::string{"failover"}
          : cluster->second.ha.shutdown_policy();
  if (policy == "migrate")
    return out; // DRS evacuates it (maintenance); HA has nothing to do
  // The shutdown stops the VMs cleanly, so there is no lease to wait for: the node counts as
  // failed now, and its heartbeats' silence is expected until it is powered on again.
  auto& t = tracks_[node_id];
  t.failed = true;
  t.suspected = true;
  t.powered_off = now;
  if (node->second.state == domain::node::states::connected)
    out.node_commands.push_back(
        {node_id, domain::node::disconnect{"HOST_SHUTDOWN"}, meta("HOST_SHUTDOWN")});
  fail_node(node_id, cluster_id, now, "HOST_SHUTDOWN", out);
  if (policy == "freeze")
    for (auto& [vm_id, q] : queue_)
      if (q.failed_node == node_id && !q.in_flight)
        q.only_node = node_id;
  return out;
}

void controller::give_up(const std::string& vm_id, const std::string& reason, actions& out) {
  left_down_[vm_id] = {queue_.at(vm_id).cluster_id, reason};
  record_left_down(out, queue_.at(vm_id).cluster_id, vm_id, reason);
  out.vm_commands.push_back({vm_id, domain::vm::mark_error{"HA_" + reason}, meta(reason)});
  queue_.erase(vm_id);
}

void controller::track_in_flight(time_point now, actions& out) {
  std::vector<std::string> done;
  std::vector<std::string> exhausted;
  for (auto& [vm_id, q] : queue_) {
    const auto vm = view_.vms().find(vm_id);
    if (vm == view_.vms().end()) { // deleted meanwhile
      done.push_back(vm_id);
      continue;
    }
    const auto& power = vm->second.power;
    const bool up = power == "running" || power == "paused" || power == "migrating";
    if (!q.in_flight) {
      // Queued VMs are still up in the log until their forced stop lands; up again after
      // that means someone else started them.
      if (!up)
        q.seen_down = true;
      else if (q.seen_down)
        done.push_back(vm_id);
      continue;
    }
    if (up) {
      done.push_back(vm_id);
      continue;
    }
    if (power == "starting")
      q.seen_starting = true;
    // Until the log shows the start, a stopped VM is one whose start has not landed yet.
    const bool stopped_again = q.seen_starting && (power == "stopped" || power == "defined");
    if ((power == "starting" || !q.seen_starting) && now - q.started_at >= cfg_.start_timeout) {
      // Not confirmed in time: stop what may be half-started and try another node.
      if (power == "starting")
        out.vm_commands.push_back(
            {vm_id, domain::vm::force_stop{"HA_START_TIMEOUT"}, meta("HA_START_TIMEOUT")});
      q.in_flight = false;
      ++q.attempts;
    } else if (stopped_again) {
      q.in_flight = false; // the node refused or failed the start
      ++q.attempts;
    }
    if (!q.in_flight && q.attempts >= cfg_.restart.max_restarts)
      exhausted.push_back(vm_id);
  }
  for (const auto& id : done)
    queue_.erase(id);
  for (const auto& id : exhausted)
    give_up(id, "MAX_RESTARTS", out);
}

void controller::restart_queued(time_point now, actions& out) {
  // Per cluster: the tier that may start is the highest with a VM still waiting, unless a
  // higher tier is starting and its delay has not passed.
  std::map<std::string, std::int32_t> top_waiting;
  std::map<std::string, std::int32_t> blocked_below;
  for (const auto& [vm_id, q] : queue_) {
    if (!q.in_flight && (q.only_node.empty() || !failed(q.only_node))) {
      auto [it, fresh] = top_waiting.try_emplace(q.cluster_id, q.priority);
      if (!fresh)
        it->second = std::max(it->second, q.priority);
    } else if (now - q.started_at < cfg_.tier_delay) {
      auto [it, fresh] = blocked_below.try_emplace(q.cluster_id, q.priority);
      if (!fresh)
        it->second = std::max(it->second, q.priority);
    }
  }
  for (const auto& [cluster_id, tier] : top_waiting) {
    if (const auto b = blocked_below.find(cluster_id); b != blocked_below.end() && b->second > tier)
      continue;
    // Frozen VMs (policy freeze) restart only on their own node; the others anywhere.
    std::map<std::string, std::vector<domain::ha::protected_vm>> groups;
    for (const auto& [vm_id, q] : queue_) {
      const auto vm = view_.vms().find(vm_id);
      if (q.cluster_id != cluster_id || q.in_flight || q.priority != tier ||
          vm == view_.vms().end() || domain::cluster_view::holds_capacity(vm->second.power))
        continue;
      groups[q.only_node].push_back({vm_id, q.priority, vm->second.vcpus, vm->second.memory_mib,
                                     view_.pools_of(vm->second), q.attempts});
    }
    for (auto& [only_node, candidates] : groups)
      plan_group(cluster_id, only_node, std::move(candidates), now, out);
  }
}

void controller::plan_group(const std::string& cluster_id, const std::string& only_node,
                            std::vector<domain::ha::protected_vm> candidates, time_point now,
                            actions& out) {
  std::vector<domain::placement::node_view> nodes;
  for (auto& n : view_.node_views(cluster_id))
    if (!unavailable(n.id) && (only_node.empty() || n.id == only_node))
      nodes.push_back(std::move(n));
  if (!only_node.empty() && nodes.empty())
    return; // frozen until its node returns
  std::map<std::string, std::string> placed;
  for (const auto& [vm_id, vm] : view_.vms())
    if (domain::cluster_view::holds_capacity(vm.power))
      placed[vm_id] = vm.node_id;
  const auto& rules = view_.rules_of(cluster_id);
  auto plan = domain::ha::plan_restarts(std::move(candidates), std::move(nodes), rules, placed,
                                        cfg_.restart);
  for (const auto& t : plan.tiers)
    for (const auto& r : t) {
      auto& q = queue_.at(r.vm_id);
      q.in_flight = true;
      q.seen_starting = false;
      q.target = r.node_id;
      q.started_at = now;
      v1::HaRestartPlanned ev;
      ev.set_cluster_id(cluster_id);
      ev.set_vm_id(r.vm_id);
      ev.set_failed_node_id(q.failed_node);
      ev.set_target_node_id(r.node_id);
      ev.set_priority(r.priority);
      ev.set_attempt(q.attempts + 1);
      record(out, cluster_id, ev);
      // The coordinator checks the VM's peers against the nodes' reservations too: a start
      // another path made meanwhile may not be in this view yet.
      placement_scope scope;
      scope.peers = domain::drs::peers_of(rules, r.vm_id);
      out.starts.push_back(start_vm{r.vm_id, r.node_id, meta("HA_RESTART"), std::move(scope)});
    }
  for (const auto& [vm_id, reason] : plan.left_down) {
    if (reason == "MAX_RESTARTS") {
      give_up(vm_id, reason, out);
      continue;
    }
    // No room now: recorded once, retried every tick (a node may come back).
    auto& q = queue_.at(vm_id);
    if (q.reported_down)
      continue;
    q.reported_down = true;
    q.down_reason = reason;
    record_left_down(out, cluster_id, vm_id, reason);
  }
}

result<cluster_status> controller::status_of(const std::string& cluster_id, time_point now) const {
  const auto c = view_.clusters().find(cluster_id);
  if (c == view_.clusters().end())
    return error{
        errc::not_found, "cluster " + cluster_id + " does not exist", {{"id", cluster_id}}};
  const auto& ha = c->second.ha;
  cluster_status st;
  st.enabled = ha.enabled();
  st.admission_policy = ha.admission_policy();
  st.host_failures_to_tolerate = ha.host_failures_to_tolerate();
  st.reserved_cpu_percent = ha.reserved_cpu_percent();
  st.reserved_memory_percent = ha.reserved_memory_percent();
  st.shutdown_policy = ha.shutdown_policy().empty() ? "failover" : ha.shutdown_policy();
  st.lease = cfg_.lease.lease;
  st.fence_bound = cfg_.lease.fence_bound;
  st.live = live_;
  for (const auto& node_id : c->second.node_ids) {
    node_lease l;
    l.node_id = node_id;
    const auto n = view_.nodes().find(node_id);
    const auto t = tracks_.find(node_id);
    if (t != tracks_.end() && t->second.seen)
      l.heard_ago = now - t->second.last_heartbeat;
    if (n != view_.nodes().end() && n->second.state == domain::node::states::maintenance)
      l.state = "maintenance";
    else if (t != tracks_.end() && t->second.powered_off)
      l.state = "off";
    else if (t != tracks_.end() && t->second.failed)
      l.state = "failed"; // past lease + fence bound: its agent has stopped its VMs
    else if (t != tracks_.end() && t->second.suspected)
      l.state = "suspect";
    else
      l.state = "alive";
    st.nodes.push_back(std::move(l));
  }
  for (const auto& [vm_id, q] : queue_)
    if (q.cluster_id == cluster_id)
      st.queue.push_back({vm_id, q.priority, q.attempts, q.in_flight, q.target, q.failed_node,
                          q.reported_down ? q.down_reason : std::string{}});
  std::stable_sort(st.queue.begin(), st.queue.end(),
                   [](const auto& a, const auto& b) { return a.priority > b.priority; });
  for (const auto& [vm_id, down] : left_down_)
    if (down.first == cluster_id)
      st.left_down.emplace_back(vm_id, down.second);
  // What one more failure would leave: with the cluster's admission policy, can one more
  // small VM (1 vCPU, 1 GiB) still start?
  st.admits_more = admits(cluster_id, 1, 1024);
  st.admission_breached = breached_.count(cluster_id) != 0;
  return st;
}

} // namespace qx::actors::ha
