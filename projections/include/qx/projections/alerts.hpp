#pragma once

// The alerts read model. Rules raise alerts from events; a condition that clears resolves
// its alert by itself (as vSphere alarms do); people acknowledge and resolve through commands
// on the alert aggregate, whose events this model applies too. Alert ids derive from the
// position of the event that raised them, so a rebuild from the log raises the same alerts.
//
// Rules: node_disconnected (critical) while a node is disconnected; vm_error (critical) while
// a VM is in error; pool_usage (warning) while a pool's allocated bytes exceed 85 % of its
// capacity; ha_node_failed (critical) from HA's HaNodeFailed until HaNodeRecovered;
// ha_vm_left_down (critical) from HaVmLeftDown until the VM runs again or is deleted;
// ha_admission_breached (warning) while HaAdmissionChanged says breached;
// drs_rule_unmet:<rule> (warning) on the VM while DrsRuleCompliance says the rule is not met.

#include "qx/projections/inventory.hpp"

#include <qx/events/types.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace qx::projections {

struct alert {
  std::string id;       ///< "<rule>.<raised position>"
  std::string rule;     ///< node_disconnected, vm_error, pool_usage, ha_node_failed ...
  std::string severity; ///< info, warning, critical
  std::string state;    ///< open, acknowledged, resolved
  std::string target;   ///< The stream of the resource concerned ("node-n1").
  std::string message;
  std::int64_t raised_ns = 0;
  std::uint64_t raised_position = 0;
  std::string acknowledged_by;
  std::string resolved_by;
  std::uint64_t version = 1; ///< Changes seen, starting at 1 when raised.
  /// The version of the alert's own stream (its acknowledgements and resolutions): what
  /// the API shows as `version` and ETag, and what If-Match is checked against.
  std::uint64_t stream_version = 0;
  std::uint64_t position = 0; ///< Log position of the latest change.
};

inline constexpr double pool_usage_threshold = 0.85;

class alerts {
 public:
  /// `inv` must already have applied `e` (the projection host applies inventory first).
  explicit alerts(const inventory& inv) : inventory_(inv) {}

  void apply(const events::recorded_event& e);

  /// Raises an alert about the control plane itself at event `e` (its stream is the target):
  /// a read model that skipped an event it cannot apply ("event_skipped", warning), or that
  /// stopped because the log cannot be read ("log_unreadable", critical). Such a condition
  /// does not clear by itself: an operator resolves the alert.
  void raise_operational(const events::recorded_event& e, const std::string& rule,
                         const std::string& severity, const std::string& message);

  [[nodiscard]] std::optional<alert> get(const std::string& id) const;
  /// Alerts with id > after_id, by id.
  [[nodiscard]] std::vector<alert> list(const std::string& after_id, std::size_t limit,
                                        const std::string& state_filter,
                                        const std::string& severity_filter) const;

 private:
  void raise(const events::recorded_event& e, const std::string& rule, const std::string& severity,
             const std::string& message);
  void clear(const events::recorded_event& e, const std::string& rule);
  /// As raise and clear, about `target` (a stream) rather than the event's own stream: the
  /// reactors' decisions are on their cluster's stream and concern a node, VM or cluster.
  void raise_on(const events::recorded_event& e, const std::string& target, const std::string& rule,
                const std::string& severity, const std::string& message);
  void clear_on(const events::recorded_event& e, const std::string& target,
                const std::string& rule);
  void apply_ha(const events::recorded_event& e);
  void apply_drs(const events::recorded_event& e);
  void apply_node(const events::recorded_event& e);
  void apply_vm(const events::recorded_event& e);
  void apply_pool(const events::recorded_event& e);
  void apply_alert(const events::recorded_event& e);

  const inventory& inventory_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, alert> alerts_;
  /// The open (or acknowledged) alert of (rule, target), by "<rule>|<target>".
  std::map<std::string, std::string> active_;
};

} // namespace qx::projections
