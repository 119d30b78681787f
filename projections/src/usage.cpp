#include "qx/projections/usage.hpp"

#include <algorithm>
#include <set>

namespace qx::projections {

std::optional<cluster_usage> usage_of(const inventory& inv, std::string_view id) {
  const auto cluster = inv.get<actors::cluster_aggregate>(id);
  if (!cluster)
    return std::nullopt;
  cluster_usage u;
  u.cluster_id = std::string{id};
  const std::set<std::string> members{cluster->state.node_ids().begin(),
                                      cluster->state.node_ids().end()};
  for (const auto& node_id : members) {
    const auto node = inv.get<actors::node_aggregate>(node_id);
    if (!node)
      continue;
    const auto& s = node->state;
    ++u.nodes;
    u.cpu_threads += s.hardware().cpu_threads();
    u.cpu_capacity += static_cast<std::uint64_t>(domain::node::cpu_capacity(s));
    u.cpu_allocated += domain::node::allocated_vcpus(s);
    u.memory_total_mib += s.hardware().memory_mib();
    u.memory_capacity_mib += static_cast<std::uint64_t>(domain::node::memory_capacity_mib(s));
    u.memory_allocated_mib += domain::node::allocated_memory_mib(s);
  }
  inv.for_each<actors::storage_pool_aggregate>(
      [&](const resource<actors::storage_pool_aggregate>& p) {
        const auto& nodes = p.state.node_ids();
        if (std::none_of(nodes.begin(), nodes.end(),
                         [&](const std::string& n) { return members.contains(n); }))
          return;
        u.storage_total_bytes += p.state.capacity_bytes();
        u.storage_allocated_bytes += domain::storage_pool::allocated_bytes(p.state);
      });
  return u;
}

} // namespace qx::projections
