#pragma once

// The node (hypervisor host) aggregate. States: registered hosts are connected, disconnected,
// in maintenance or decommissioned. A node holds the capacity reserved for the VMs placed on
// it; reserve refuses what would exceed threads x cpu_overcommit or memory x
// memory_overcommit. Heartbeat leases are runtime facts kept by the HA actor, not events.
//
//   register -> connected (overcommit cpu 4.0, memory 1.0)
//   connected --disconnect--> disconnected --connect--> connected
//   (maintenance ignores connect and disconnect: an operator's maintenance outlives the
//   agent's session, also when the host is powered off and on again)
//   connected --enter_maintenance (no VMs)--> maintenance --exit_maintenance--> connected
//   any --decommission (no VMs, no cluster)--> decommissioned (final)
// Anything else is refused with INVALID_NODE_STATE; repeating the move to the state the node
// is in already (connect, disconnect, enter_maintenance) changes nothing.
//
// Refusals: before register NOT_FOUND; register twice ALREADY_EXISTS; decommissioned
// DECOMMISSIONED; NODE_HAS_VMS (maintenance, decommission), NODE_IN_CLUSTER (decommission,
// join_cluster of another cluster), NODE_NOT_IN_CLUSTER (leave_cluster), NODE_IN_MAINTENANCE
// and NODE_NOT_CONNECTED (reserve), RESOURCE_EXHAUSTED with reason INSUFFICIENT_CPU or
// INSUFFICIENT_MEMORY and the requested/available figures (reserve).
// Reserve is idempotent per VM: the same size again changes nothing (in any state, as a retry),
// another size replaces the reservation (released, then reserved). Release of nothing held,
// join of the current cluster and set_overcommit to the current ratios change nothing.

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/node.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace qx::domain::node {

namespace states {
inline constexpr const char* connected = "connected";
inline constexpr const char* disconnected = "disconnected";
inline constexpr const char* maintenance = "maintenance";
inline constexpr const char* decommissioned = "decommissioned";
} // namespace states

using state = snapshots::v1::NodeState;

struct register_node {
  std::string hostname;
  std::string address;
  events::v1::NodeHardware hardware;
  std::string agent_key_sha256; ///< empty: no agent (registered by hand)
};
struct connect {};
struct disconnect {
  std::string reason;
};
struct enter_maintenance {};
struct exit_maintenance {};
struct decommission {};
/// cpu_ratio 1.0..16.0, memory_ratio 1.0..2.0; lowering them below the current load is
/// allowed (nothing more can be reserved until VMs leave).
struct set_overcommit {
  double cpu_ratio = 4.0;
  double memory_ratio = 1.0;
};
struct reserve {
  std::string vm_id;
  std::uint32_t vcpus = 0;
  std::uint64_t memory_mib = 0;
};
struct release {
  std::string vm_id;
};
struct join_cluster {
  std::string cluster_id;
};
struct leave_cluster {
  std::string cluster_id;
};

using command =
    std::variant<register_node, connect, disconnect, enter_maintenance, exit_maintenance,
                 decommission, set_overcommit, reserve, release, join_cluster, leave_cluster>;

using event = std::variant<events::v1::NodeRegistered, events::v1::NodeStateChanged,
                           events::v1::NodeOvercommitSet, events::v1::NodeCapacityReserved,
                           events::v1::NodeCapacityReleased, events::v1::NodeJoinedCluster,
                           events::v1::NodeLeftCluster>;

inline constexpr const char* kind = "node";
inline constexpr const char* stream_prefix = "node-";
inline constexpr double default_cpu_overcommit = 4.0;
inline constexpr double default_memory_overcommit = 1.0;

[[nodiscard]] state initial(std::string_view id);
[[nodiscard]] decision<event> decide(const state& s, const command& c);
void evolve(state& s, const event& e);
[[nodiscard]] std::string_view name_of(const command& c);

/// vCPUs reserved for VMs on the node.
[[nodiscard]] std::uint64_t allocated_vcpus(const state& s);
/// Memory reserved for VMs on the node.
[[nodiscard]] std::uint64_t allocated_memory_mib(const state& s);
/// hardware.cpu_threads x cpu_overcommit.
[[nodiscard]] double cpu_capacity(const state& s);
/// hardware.memory_mib x memory_overcommit.
[[nodiscard]] double memory_capacity_mib(const state& s);

} // namespace qx::domain::node
