#pragma once

// The first scheduler: filters, then the least allocated node. Pure: the caller gathers the
// node and pool facts, this picks. Deterministic: ties go to the smaller node id.

#include <qx/base/error.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace qx::domain::placement {

/// What placement needs to know of one node.
struct node_view {
  std::string id;
  std::string state;               ///< connected, disconnected, maintenance, decommissioned
  double cpu_capacity = 0;         ///< threads x CPU overcommit ratio
  std::uint64_t cpu_allocated = 0; ///< vCPUs reserved
  double memory_capacity_mib = 0;  ///< memory x memory overcommit ratio
  std::uint64_t memory_allocated_mib = 0;
  std::set<std::string> pool_ids; ///< pools assigned to this node
};

struct request {
  std::string vm_id;
  std::uint32_t vcpus = 0;
  std::uint64_t memory_mib = 0;
  std::set<std::string> pool_ids; ///< pools of the VM's volumes: all must be on the node
};

/// Why a node was passed over, as a stable token.
struct rejection {
  std::string node_id;
  std::string reason; ///< NODE_NOT_CONNECTED, NODE_IN_MAINTENANCE, INSUFFICIENT_CPU,
                      ///< INSUFFICIENT_MEMORY, POOL_NOT_ASSIGNED
};

struct choice {
  std::string node_id;
  double load_after = 0; ///< the chosen node's max(cpu, memory) allocation ratio after placing
  std::vector<rejection> rejected;
};

/// Why `node` cannot take `req`, or an empty string when it can.
[[nodiscard]] std::string reject_reason(const node_view& node, const request& req);

/// Whether a VM of that size and pools fits `node` (reject_reason(...).empty() without building
/// a request or a reason: DRS asks this for every VM and host of a pass).
[[nodiscard]] bool fits(const node_view& node, std::uint32_t vcpus, std::uint64_t memory_mib,
                        const std::set<std::string>& pool_ids);

/// The node that fits and is least allocated afterwards; errc::resource_exhausted with
/// reason NO_SUITABLE_NODE (and each node's reason in the details) when none fits.
[[nodiscard]] result<choice> choose(const request& req, const std::vector<node_view>& nodes);

} // namespace qx::domain::placement
