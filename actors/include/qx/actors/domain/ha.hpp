#pragma once

// HA, the pure part: when a node counts as failed, whether its agent must fence itself, whether
// the cluster admits another start, and where a failed node's protected VMs restart. No
// actors, no clock: the HA actor (and the simulator) pass the time and the facts in.
//
// Never two running copies: a node's lease lasts `lease` after its last heartbeat. Its agent
// stops its VMs itself once `lease` has passed without the control plane's acknowledgement
// (self-fencing, as Proxmox's watchdog does); the control plane declares the node failed only
// after `lease + fence_bound`, the time the agent has to finish fencing. Only then are VMs
// restarted elsewhere. A partition shorter than the lease changes nothing.

#include "qx/actors/domain/drs.hpp"
#include "qx/actors/domain/placement.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace qx::domain::ha {

using duration = std::chrono::milliseconds;
using time_point = std::chrono::milliseconds; ///< Since any fixed epoch (virtual in the simulator).

struct lease_settings {
  duration lease{15'000};       ///< a heartbeat keeps a node alive this long
  duration fence_bound{10'000}; ///< what an agent may take to stop its VMs once fenced
};

enum class health : std::uint8_t { healthy, suspect, failed };

/// The control plane's view of a node whose last heartbeat came at `last_heartbeat`.
[[nodiscard]] health health_of(time_point last_heartbeat, time_point now, const lease_settings& s);

/// The agent's side: true once it must stop its VMs (its last acknowledged heartbeat is older
/// than the lease). Always earlier than the control plane's "failed" by the fence bound.
[[nodiscard]] bool must_self_fence(time_point last_acknowledged, time_point now,
                                   const lease_settings& s);

/// Admission control: may the cluster take one more start of this size and still restart
/// every VM of its `host_failures_to_tolerate` largest nodes (policy "host_failures"), or
/// keep the reserved percentages free (policy "percentage")? Nodes not connected do not count.
struct admission {
  std::string policy = "host_failures"; ///< "host_failures", "percentage", or "" (off)
  std::uint32_t host_failures_to_tolerate = 1;
  std::uint32_t reserved_cpu_percent = 25;
  std::uint32_t reserved_memory_percent = 25;
};
[[nodiscard]] bool admits(const std::vector<placement::node_view>& nodes, std::uint32_t vcpus,
                          std::uint64_t memory_mib, const admission& a);

struct protected_vm {
  std::string id;
  std::int32_t priority = 0; ///< higher restarts first (vSphere: lowest -2 .. highest 2)
  std::uint32_t vcpus = 0;
  std::uint64_t memory_mib = 0;
  std::set<std::string> pool_ids;
  std::uint32_t restarts = 0; ///< restarts already attempted for this failure
};

struct restart_settings {
  std::uint32_t max_restarts = 3;
};

struct restart {
  std::string vm_id;
  std::string node_id;
  std::int32_t priority = 0;
};

struct restart_plan {
  /// One tier per priority, highest first: a tier starts once the one above runs (or its
  /// delay passed; the actor's business).
  std::vector<std::vector<restart>> tiers;
  /// VMs left down and why: NO_SUITABLE_NODE, MAX_RESTARTS, RULE:<name>.
  std::map<std::string, std::string> left_down;
};

/// Where the protected VMs of failed nodes restart: by priority (then id), each on the node
/// that fits, keeps the strict rules (drs::breaks), has the highest should-run rank
/// (drs::rank), and is least allocated afterwards. `nodes` are the healthy nodes, with their
/// allocations.
[[nodiscard]] restart_plan plan_restarts(std::vector<protected_vm> vms,
                                         std::vector<placement::node_view> nodes,
                                         const std::vector<drs::rule>& rules,
                                         const std::map<std::string, std::string>& placed,
                                         const restart_settings& s);

} // namespace qx::domain::ha
