#include "qx/projections/alerts.hpp"

#include <qx/events/v1/alert.pb.h>
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
  const auto key = key_of(rule, e.stream);
  if (active_.contains(key))
    return;
  alert a;
  a.id = rule + "." + std::to_string(e.position);
  a.rule = rule;
  a.severity = severity;
  a.state = "open";
  a.target = e.stream;
  a.message = message;
  a.raised_ns = e.time_unix_ns;
  a.raised_position = e.position;
  a.position = e.position;
  active_[key] = a.id;
  alerts_[a.id] = std::move(a);
}

void alerts::clear(const events::recorded_event& e, const std::string& rule) {
  const auto it = active_.find(key_of(rule, e.stream));
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
    return;
  }
  events::v1::VmPowerStateChanged ev;
  if (!qx::events::parse_message(ev, e.payload))
    return;
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
