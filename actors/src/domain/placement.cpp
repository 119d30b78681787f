#include "qx/actors/domain/placement.hpp"

#include <algorithm>

namespace qx::domain::placement {

std::string reject_reason(const node_view& node, const request& req) {
  if (node.state == "maintenance")
    return "NODE_IN_MAINTENANCE";
  if (node.state != "connected")
    return "NODE_NOT_CONNECTED";
  if (static_cast<double>(node.cpu_allocated + req.vcpus) > node.cpu_capacity)
    return "INSUFFICIENT_CPU";
  if (static_cast<double>(node.memory_allocated_mib + req.memory_mib) > node.memory_capacity_mib)
    return "INSUFFICIENT_MEMORY";
  for (const auto& pool : req.pool_ids)
    if (node.pool_ids.count(pool) == 0)
      return "POOL_NOT_ASSIGNED";
  return {};
}

bool fits(const node_view& node, std::uint32_t vcpus, std::uint64_t memory_mib,
          const std::set<std::string>& pool_ids) {
  if (node.state != "connected" ||
      static_cast<double>(node.cpu_allocated + vcpus) > node.cpu_capacity ||
      static_cast<double>(node.memory_allocated_mib + memory_mib) > node.memory_capacity_mib)
    return false;
  return std::all_of(pool_ids.begin(), pool_ids.end(),
                     [&](const std::string& p) { return node.pool_ids.contains(p); });
}

namespace {

double load_after(const node_view& node, const request& req) {
  const auto cpu = node.cpu_capacity > 0
                       ? static_cast<double>(node.cpu_allocated + req.vcpus) / node.cpu_capacity
                       : 1.0;
  const auto mem = node.memory_capacity_mib > 0
                       ? static_cast<double>(node.memory_allocated_mib + req.memory_mib) /
                             node.memory_capacity_mib
                       : 1.0;
  return std::max(cpu, mem);
}

} // namespace

result<choice> choose(const request& req, const std::vector<node_view>& nodes) {
  choice best;
  bool found = false;
  for (const auto& node : nodes) {
    if (auto why = reject_reason(node, req); !why.empty()) {
      best.rejected.push_back({node.id, std::move(why)});
      continue;
    }
    const auto load = load_after(node, req);
    if (!found || load < best.load_after || (load == best.load_after && node.id < best.node_id)) {
      best.node_id = node.id;
      best.load_after = load;
      found = true;
    }
  }
  if (!found) {
    std::map<std::string, std::string> details{{"reason", "NO_SUITABLE_NODE"}};
    for (const auto& r : best.rejected)
      details["node." + r.node_id] = r.reason;
    return error{errc::resource_exhausted,
                 "no node can run vm " + req.vm_id + " (" + std::to_string(nodes.size()) +
                     " considered)",
                 std::move(details)};
  }
  return best;
}

} // namespace qx::domain::placement
