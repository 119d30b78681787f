#pragma once

// Per-cluster resource usage, computed from the inventory when asked (it is a sum over a
// cluster's nodes and the pools assigned to them, cheap next to keeping a copy in step).
// "Allocated" is what placement reserved; measured use arrives with node telemetry.

#include "qx/projections/inventory.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace qx::projections {

struct cluster_usage {
  std::string cluster_id;
  std::uint32_t nodes = 0;
  std::uint64_t cpu_threads = 0;   ///< Hardware threads of its member nodes.
  std::uint64_t cpu_capacity = 0;  ///< threads x cpu overcommit, in vCPUs.
  std::uint64_t cpu_allocated = 0; ///< vCPUs reserved by VMs.
  std::uint64_t memory_total_mib = 0;
  std::uint64_t memory_capacity_mib = 0;
  std::uint64_t memory_allocated_mib = 0;
  std::uint64_t storage_total_bytes = 0;     ///< Capacity of pools assigned to its nodes.
  std::uint64_t storage_allocated_bytes = 0; ///< Volumes in those pools.
};

/// The usage of cluster `id`; nullopt when it does not exist.
[[nodiscard]] std::optional<cluster_usage> usage_of(const inventory& inv, std::string_view id);

} // namespace qx::projections
