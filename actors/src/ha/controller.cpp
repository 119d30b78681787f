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
  // A protected VM its node's agent found stopped (the host rebooted under it) restarts too.
  if (e.type != "qx.events.v1.VmPowerStateChanged")
    return;
  v1::VmPowerStateChanged ev;
  if (!qx::events::parse_message(ev, e.payload))
    return;
  if (auto q = queue_.find(ev.id());
      q != queue_.end() && q->second.in_flight && ev.to() == "starting")
    q->second.seen_starting = true; // the restart landed; a stop from now on is its failure
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

void controller::on_heartbeat(const std::string& node_id, time_point at) {
  last_heartbeat_[node_id] = at;
}

void controller::on_start_refused(const std::string& vm_id, const std::string& node_id) {
  const auto it = queue_.find(vm_id);
  if (it == queue_.end() || !it->second.in_flight || it->second.target != node_id)
    return;
  it->second.in_flight = false;
  ++it->second.attempts;
}

void controller::set_rules(const std::string& cluster_id, std::vector<domain::drs::rule> rules) {
  rules_[cluster_id] = std::move(rules);
}

void controller::set_shutdown_policy(const std::string& cluster_id, std::string policy) {
  shutdown_policy_[cluster_id] = std::move(policy);
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
  for (const auto& [node_id, node] : view_.nodes()) {
    const auto cluster = view_.clusters().find(node.cluster_id);
    if (cluster == view_.clusters().end() || !cluster->second.ha.enabled() ||
        node.state == domain::node::states::decommissioned ||
        node.state == domain::node::states::maintenance)
      continue; // a node in maintenance may be powered off on purpose
    node_health(node_id, node, now, out);
  }
  track_in_flight(now, out);
  restart_queued(now, out);
  return out;
}

void controller::node_health(const std::string& node_id,
                             const domain::cluster_view::node_info& node, time_point now,
                             actions& out) {
  // A node never heard from is given one lease from the moment HA first sees it.
  const auto last = last_heartbeat_.try_emplace(node_id, now).first->second;
  // A host shut down on purpose stays failed until it is heard from after its shutdown: its
  // silence is expected, and it is never counted as recovered while off.
  if (const auto off = powered_off_.find(node_id); off != powered_off_.end()) {
    if (last <= off->second)
      return;
    powered_off_.erase(off);
  }
  const auto h = domain::ha::health_of(last, now, cfg_.lease);
  if (h == health::healthy) {
    if (suspected_.erase(node_id) + failed_.erase(node_id) > 0) {
      v1::HaNodeRecovered ev;
      ev.set_cluster_id(node.cluster_id);
      ev.set_node_id(node_id);
      record(out, node.cluster_id, ev);
    }
    if (node.state == domain::node::states::disconnected)
      out.node_commands.push_back({node_id, domain::node::connect{}, meta("HEARTBEAT")});
    return;
  }
  if (suspected_.insert(node_id).second) {
    v1::HaNodeSuspected ev;
    ev.set_cluster_id(node.cluster_id);
    ev.set_node_id(node_id);
    ev.set_last_heartbeat_unix_ms(last.count());
    record(out, node.cluster_id, ev);
    if (node.state == domain::node::states::connected)
      out.node_commands.push_back(
          {node_id, domain::node::disconnect{"HEARTBEAT_LOST"}, meta("HEARTBEAT_LOST")});
  }
  if (h == health::failed && failed_.insert(node_id).second)
    fail_node(node_id, node.cluster_id, last, "HOST_FAILED", out);
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
  const auto policy = shutdown_policy_.count(cluster_id) != 0 ? shutdown_policy_.at(cluster_id)
                                                              : std::string{"failover"};
  if (policy == "migrate")
    return out; // DRS evacuates it (maintenance); HA has nothing to do
  // The shutdown stops the VMs cleanly, so there is no lease to wait for: the node counts as
  // failed now, and its heartbeats' silence is expected until it is powered on again.
  failed_.insert(node_id);
  suspected_.insert(node_id);
  powered_off_[node_id] = now;
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
    if (!q.in_flight && (q.only_node.empty() || failed_.count(q.only_node) == 0)) {
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
    if (suspected_.count(n.id) == 0 && failed_.count(n.id) == 0 &&
        (only_node.empty() || n.id == only_node))
      nodes.push_back(std::move(n));
  if (!only_node.empty() && nodes.empty())
    return; // frozen until its node returns
  std::map<std::string, std::string> placed;
  for (const auto& [vm_id, vm] : view_.vms())
    if (domain::cluster_view::holds_capacity(vm.power))
      placed[vm_id] = vm.node_id;
  const auto rules = rules_.find(cluster_id);
  static const std::vector<domain::drs::rule> none;
  auto plan =
      domain::ha::plan_restarts(std::move(candidates), std::move(nodes),
                                rules == rules_.end() ? none : rules->second, placed, cfg_.restart);
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
      scope.peers = domain::drs::peers_of(rules == rules_.end() ? none : rules->second, r.vm_id);
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
    record_left_down(out, cluster_id, vm_id, reason);
  }
}

} // namespace qx::actors::ha
