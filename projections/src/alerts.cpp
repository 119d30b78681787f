#include "qx/projections/alerts.hpp"

#include <qx/events/v1/alert.pb.h>
#include <qx/events/v1/drs.pb.h>
#include <qx/events/v1/ha.pb.h>
#include <qx/events/v1/node.pb.h>
#include <qx/events/v1/vm.pb.h>

#include <mutex>
#include <qx/events/text_fields.hpp>

namespace qx::projections {

namespace {

constexpr std::string_view type_prefix = "qx.events.v1.";

std::string key_of(const std::string& rule, const std::string& target) {
  return rule + "|" + target;
}

} // namespace

void alerts::raise(const events::recorded_event& e, const std::string& rule,
                   const std::string& severity, const std::string& message) {
  raise_on(e, e.stream, rule, severity, message);
}

void alerts::raise_on(const events::recorded_event& e, const std::string& target,
                      const std::string& rule, const std::string& severity,
                      const std::string& message) {
  const auto key = key_of(rule, target);
  if (active_.contains(key))
    return;
  alert a;
  a.id = rule + "." + std::to_string(e.position);
  a.rule = rule;
  a.severity = severity;
  a.state = "open";
  a.target = target;
  a.message = message;
  a.raised_ns = e.time_unix_ns;
  a.raised_position = e.position;
  a.position = e.position;
  active_[key] = a.id;
  alerts_[a.id] = std::move(a);
}

void alerts::clear(const events::recorded_event& e, const std::string& rule) {
  clear_on(e, e.stream, rule);
}

void alerts::clear_on(const events::recorded_event& e, const std::string& target,
                      const std::string& rule) {
  const auto it = active_.find(key_of(rule, target));
  if (it == active_.end())
    return;
  auto& a = alerts_[it->second];
  a.state = "resolved";
  a.resolved_by = "system:condition-cleared";
  ++a.version;
  a.position = e.position;
  active_.erase(it);
}

void alerts::apply_node(const events::recorded_event& e) {
  events::v1::NodeStateChanged ev;
  if (!qx::events::parse_message(ev, e.payload))
    return;
  if (ev.to() == "disconnected")
    raise(e, "node_disconnected", "critical",
          "node " + ev.id() + " is disconnected" +
              (ev.reason().empty() ? std::string{} : ": " + ev.reason()));
  else
    clear(e, "node_disconnected");
}

void alerts::apply_vm(const events::recorded_event& e) {
  if (e.type == "qx.events.v1.VmDeleted") {
    clear(e, "vm_error");
    clear(e, "ha_vm_left_down");
    return;
  }
  events::v1::VmPowerStateChanged ev;
  if (!qx::events::parse_message(ev, e.payload))
    return;
  if (ev.to() == "running")
    clear(e, "ha_vm_left_down");
  if (ev.to() == "error")
    raise(e, "vm_error", "critical",
          "vm " + ev.id() + " is in error" +
              (ev.reason().empty() ? std::string{} : ": " + ev.reason()));
  else
    clear(e, "vm_error");
}

void alerts::apply_pool(const events::recorded_event& e) {
  const auto id =
      std::string_view{e.stream}.substr(actors::storage_pool_aggregate::stream("").size());
  const auto pool = inventory_.get<actors::storage_pool_aggregate>(id);
  if (!pool || pool->state.capacity_bytes() == 0) {
    clear(e, "pool_usage");
    return;
  }
  const auto used = domain::storage_pool::allocated_bytes(pool->state);
  const auto ratio = static_cast<double>(used) / static_cast<double>(pool->state.capacity_bytes());
  if (ratio > pool_usage_threshold)
    raise(e, "pool_usage", "warning",
          "pool " + std::string{id} + " is " + std::to_string(static_cast<int>(ratio * 100)) +
              " % allocated (threshold 85 %)");
  else
    clear(e, "pool_usage");
}

void alerts::apply_ha(const events::recorded_event& e) {
  namespace v1 = events::v1;
  if (e.type == "qx.events.v1.HaNodeFailed") {
    v1::HaNodeFailed ev;
    if (qx::events::parse_message(ev, e.payload))
      raise_on(e, actors::node_aggregate::stream(ev.node_id()), "ha_node_failed", "critical",
               "node " + ev.node_id() + " of cluster " + ev.cluster_id() +
                   " failed (lease and fence bound lapsed): HA restarts its " +
                   std::to_string(ev.vm_ids_size()) + " VMs elsewhere");
  } else if (e.type == "qx.events.v1.HaNodeRecovered") {
    v1::HaNodeRecovered ev;
    if (qx::events::parse_message(ev, e.payload))
      clear_on(e, actors::node_aggregate::stream(ev.node_id()), "ha_node_failed");
  } else if (e.type == "qx.events.v1.HaVmLeftDown") {
    v1::HaVmLeftDown ev;
    if (qx::events::parse_message(ev, e.payload))
      raise_on(e, actors::vm_aggregate::stream(ev.vm_id()), "ha_vm_left_down", "critical",
               "HA could not restart vm " + ev.vm_id() + " in cluster " + ev.cluster_id() + ": " +
                   ev.reason());
  } else if (e.type == "qx.events.v1.HaAdmissionChanged") {
    v1::HaAdmissionChanged ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    const auto target = actors::cluster_aggregate::stream(ev.cluster_id());
    if (ev.breached())
      raise_on(e, target, "ha_admission_breached", "warning", ev.detail());
    else
      clear_on(e, target, "ha_admission_breached");
  }
}

void alerts::apply_drs(const events::recorded_event& e) {
  events::v1::DrsRuleCompliance ev;
  if (e.type != "qx.events.v1.DrsRuleCompliance" || !qx::events::parse_message(ev, e.payload))
    return;
  // One alert per VM and rule: the rule's name is part of the alert's rule key.
  const auto target = actors::vm_aggregate::stream(ev.vm_id());
  const auto rule = "drs_rule_unmet:" + ev.rule();
  if (ev.met())
    clear_on(e, target, rule);
  else
    raise_on(e, target, rule, "warning",
             "rule " + ev.rule() + " of cluster " + ev.cluster_id() + " cannot be met for vm " +
                 ev.vm_id() + " (" + ev.reason() + ")");
}

void alerts::apply_alert(const events::recorded_event& e) {
  const auto id = e.stream.substr(actors::alert_aggregate::stream("").size());
  const auto it = alerts_.find(id);
  if (it == alerts_.end() || it->second.state == "resolved")
    return;
  auto& a = it->second;
  if (e.type == "qx.events.v1.AlertAcknowledged") {
    a.state = "acknowledged";
    a.acknowledged_by = e.metadata.actor;
  } else if (e.type == "qx.events.v1.AlertResolved") {
    a.state = "resolved";
    a.resolved_by = e.metadata.actor;
    active_.erase(key_of(a.rule, a.target));
  } else {
    return;
  }
  ++a.version;
  a.stream_version = e.version;
  a.position = e.position;
}

void alerts::apply(const events::recorded_event& e) {
  if (!e.type.starts_with(type_prefix))
    return;
  std::unique_lock lock{mutex_};
  if (e.type == "qx.events.v1.NodeStateChanged")
    apply_node(e);
  else if (e.type == "qx.events.v1.VmPowerStateChanged" || e.type == "qx.events.v1.VmDeleted")
    apply_vm(e);
  else if (e.type.starts_with("qx.events.v1.StoragePool"))
    apply_pool(e);
  else if (e.type.starts_with("qx.events.v1.Alert"))
    apply_alert(e);
  else if (e.type.starts_with("qx.events.v1.Ha"))
    apply_ha(e);
  else if (e.type.starts_with("qx.events.v1.Drs"))
    apply_drs(e);
}

void alerts::raise_operational(const events::recorded_event& e, const std::string& rule,
                               const std::string& severity, const std::string& message) {
  std::unique_lock lock{mutex_};
  raise(e, rule, severity, message);
}

std::optional<alert> alerts::get(const std::string& id) const {
  std::shared_lock lock{mutex_};
  const auto it = alerts_.find(id);
  if (it == alerts_.end())
    return std::nullopt;
  return it->second;
}

std::vector<alert> alerts::list(const std::string& after_id, std::size_t limit,
                                const std::string& state_filter,
                                const std::string& severity_filter) const {
  std::vector<alert> out;
  std::shared_lock lock{mutex_};
  for (auto it = alerts_.upper_bound(after_id); it != alerts_.end() && out.size() < limit; ++it) {
    if ((!state_filter.empty() && it->second.state != state_filter) ||
        (!severity_filter.empty() && it->second.severity != severity_filter))
      continue;
    out.push_back(it->second);
  }
  return out;
}

} // namespace qx::projections
