#pragma once

// The node (hypervisor host) aggregate. States: registered hosts are connected, disconnected,
// in maintenance or decommissioned. A node holds the capacity reserved for the VMs placed on
// it; reserve refuses what would exceed threads x cpu_overcommit or memory x
// memory_overcommit. Heartbeat leases are runtime facts kept by the HA actor, not events.
//
//   register -> connected
//   connected|maintenance --disconnect--> disconnected --connect--> connected
//   connected --enter_maintenance (no VMs)--> maintenance --exit_maintenance--> connected
//   any --decommission (no VMs, no cluster)--> decommissioned (final)

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/node.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <string>
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
};
struct connect {};
struct disconnect {
  std::string reason;
};
struct enter_maintenance {};
struct exit_maintenance {};
struct decommission {};
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

[[nodiscard]] std::uint64_t allocated_vcpus(const state& s);
[[nodiscard]] std::uint64_t allocated_memory_mib(const state& s);
[[nodiscard]] double cpu_capacity(const state& s);
[[nodiscard]] double memory_capacity_mib(const state& s);

} // namespace qx::domain::node
