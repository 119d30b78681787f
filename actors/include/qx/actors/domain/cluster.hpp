#pragma once

// The cluster aggregate: name, description, HA and DRS settings, and its member nodes.
// "A node belongs to at most one cluster" is enforced by the node aggregate (join_cluster),
// which the coordinator asks first; the cluster keeps the member list.
//
// Validation (INVALID_ARGUMENT naming the field): name 1..80 bytes without control characters,
// description up to 1024 bytes; ha.admission_policy "host_failures", "percentage" or ""
// (admission control disabled), ha.host_failures_to_tolerate 0..31 (0 under host_failures
// means 1), ha.reserved_cpu_percent and ha.reserved_memory_percent 0..100,
// ha.default_restart_priority 0..5; drs.automation manual (the default when empty),
// partially_automated or fully_automated, drs.migration_threshold 1..5 (0 means 3),
// drs.placement_strategy spread or pack ("" means spread).
// Refusals: create twice ALREADY_EXISTS, anything before create NOT_FOUND, anything after
// remove DELETED; remove_node of a non-member NODE_NOT_IN_CLUSTER; remove with members
// CLUSTER_NOT_EMPTY. add_node of a member and an update that changes nothing emit no events.
// set_rule checks the rule (check_rule) and emits nothing when the same rule is set again;
// remove_rule of an unknown name is NOT_FOUND (field name). ha.shutdown_policy failover (the
// default when empty), freeze or migrate.

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/cluster.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace qx::domain::cluster {

using state = snapshots::v1::ClusterState;

struct create {
  std::string name;
  std::string description;
  events::v1::HaSettings ha;
  events::v1::DrsSettings drs;
};
/// Changes the fields that are set.
struct update {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<events::v1::HaSettings> ha;
  std::optional<events::v1::DrsSettings> drs;
};
struct add_node {
  std::string node_id;
};
struct remove_node {
  std::string node_id;
};
struct remove {};
/// Adds a placement rule, or replaces the one of the same name.
struct set_rule {
  events::v1::PlacementRule rule;
};
struct remove_rule {
  std::string name;
};

using command = std::variant<create, update, add_node, remove_node, remove, set_rule, remove_rule>;
using event = std::variant<events::v1::ClusterCreated, events::v1::ClusterUpdated,
                           events::v1::ClusterNodeAdded, events::v1::ClusterNodeRemoved,
                           events::v1::ClusterDeleted, events::v1::ClusterRuleSet,
                           events::v1::ClusterRuleRemoved>;

inline constexpr const char* kind = "cluster";
inline constexpr const char* stream_prefix = "cluster-";

[[nodiscard]] state initial(std::string_view id);
[[nodiscard]] decision<event> decide(const state& s, const command& c);
void evolve(state& s, const event& e);
[[nodiscard]] std::string_view name_of(const command& c);

/// Checks HA settings and fills defaults; names the field at fault.
[[nodiscard]] result<events::v1::HaSettings> normalize(events::v1::HaSettings ha);
/// Checks a placement rule against the cluster (cluster_rules.cpp): kind; VMs (2..1000 for
/// keep_together/keep_apart, 1..1000 for the VM-host kinds, none twice); nodes (members of the
/// cluster, 1..1000, VM-host kinds only); priorities (should_run_on only, its own nodes,
/// 0..100); no contradiction with another rule (keep_together vs keep_apart sharing two VMs;
/// must_run_on/must_not_run_on leaving a VM no node): INVALID_ARGUMENT naming the field, and
/// for a contradiction reason RULE_CONFLICT, field rule.vm_ids or rule.node_ids, and
/// conflicts_with the other rule's name.
[[nodiscard]] status check_rule(const state& s, const events::v1::PlacementRule& r);
/// Checks DRS settings and fills defaults (manual, threshold 3).
[[nodiscard]] result<events::v1::DrsSettings> normalize(events::v1::DrsSettings drs);

} // namespace qx::domain::cluster
