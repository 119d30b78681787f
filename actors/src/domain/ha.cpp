#include "qx/actors/domain/ha.hpp"

#include "qx/actors/domain/node.hpp"

#include <algorithm>
#include <functional>

namespace qx::domain::ha {

health health_of(time_point last_heartbeat, time_point now, const lease_settings& s) {
  const auto silent = now - last_heartbeat;
  if (silent <= s.lease)
    return health::healthy;
  if (silent <= s.lease + s.fence_bound)
    return health::suspect;
  return health::failed;
}

bool must_self_fence(time_point last_acknowledged, time_point now, const lease_settings& s) {
  return now - last_acknowledged > s.lease;
}

namespace {

/// Sum of the values but the `skip` largest.
double sum_without_largest(std::vector<double> values, std::size_t skip) {
  std::sort(values.begin(), values.end(), std::greater<>{});
  double sum = 0;
  for (std::size_t i = std::min(skip, values.size()); i < values.size(); ++i)
    sum += values[i];
  return sum;
}

/// The rule `vm_id` would break on `node_id`, given where the others are; "" if none.
std::string broken_rule(const std::vector<drs::rule>& rules, const std::string& vm_id,
                        const std::string& node_id,
                        const std::map<std::string, std::string>& placed) {
  const auto holds = [&](const std::string& o, const std::string& node) {
    const auto it = placed.find(o);
    return it != placed.end() && it->second == node;
  };
  const auto somewhere = [&](const std::string& o) {
    return placed.contains(o);
  };
  for (const auto& r : rules)
    if (drs::names(r, vm_id) && drs::breaks(r, vm_id, node_id, holds, somewhere))
      return r.name;
  return {};
}

double load_after(const placement::node_view& n, const protected_vm& v) {
  const auto ratio = [](double used, double cap) {
    return cap > 0 ? used / cap : 1.0;
  };
  return std::max(
      ratio(static_cast<double>(n.cpu_allocated + v.vcpus), n.cpu_capacity),
      ratio(static_cast<double>(n.memory_allocated_mib + v.memory_mib), n.memory_capacity_mib));
}

} // namespace

bool admits(const std::vector<placement::node_view>& nodes, std::uint32_t vcpus,
            std::uint64_t memory_mib, const admission& a) {
  std::vector<double> cpu;
  std::vector<double> memory;
  double cpu_used = vcpus;
  double memory_used = static_cast<double>(memory_mib);
  for (const auto& n : nodes) {
    if (n.state != node::states::connected)
      continue;
    cpu.push_back(n.cpu_capacity);
    memory.push_back(n.memory_capacity_mib);
    cpu_used += static_cast<double>(n.cpu_allocated);
    memory_used += static_cast<double>(n.memory_allocated_mib);
  }
  if (a.policy == "host_failures")
    return cpu_used <= sum_without_largest(cpu, a.host_failures_to_tolerate) &&
           memory_used <= sum_without_largest(memory, a.host_failures_to_tolerate);
  if (a.policy == "percentage") {
    const double cpu_total = sum_without_largest(cpu, 0);
    const double memory_total = sum_without_largest(memory, 0);
    return cpu_used <= cpu_total * (100.0 - a.reserved_cpu_percent) / 100.0 &&
           memory_used <= memory_total * (100.0 - a.reserved_memory_percent) / 100.0;
  }
  return true;
}

restart_plan plan_restarts(std::vector<protected_vm> vms, std::vector<placement::node_view> nodes,
                           const std::vector<drs::rule>& rules,
                           const std::map<std::string, std::string>& placed,
                           const restart_settings& s) {
  std::sort(vms.begin(), vms.end(), [](const protected_vm& a, const protected_vm& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
  });
  std::sort(nodes.begin(), nodes.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  auto where = placed;
  restart_plan out;
  for (const auto& v : vms) {
    if (v.restarts >= s.max_restarts) {
      out.left_down[v.id] = "MAX_RESTARTS";
      continue;
    }
    // The highest should-run rank first: lower ones only when none of those can take it.
    std::size_t best = nodes.size();
    double best_load = 0;
    std::int32_t best_rank = 0;
    std::string blocked_by;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const auto& n = nodes[i];
      if (!placement::fits(n, v.vcpus, v.memory_mib, v.pool_ids))
        continue;
      if (auto r = broken_rule(rules, v.id, n.id, where); !r.empty()) {
        blocked_by = r;
        continue;
      }
      const auto rank = drs::rank(rules, v.id, n.id);
      const double load = load_after(n, v);
      if (best == nodes.size() || rank > best_rank || (rank == best_rank && load < best_load)) {
        best = i;
        best_load = load;
        best_rank = rank;
      }
    }
    if (best == nodes.size()) {
      out.left_down[v.id] = blocked_by.empty() ? "NO_SUITABLE_NODE" : "RULE:" + blocked_by;
      continue;
    }
    auto& n = nodes[best];
    n.cpu_allocated += v.vcpus;
    n.memory_allocated_mib += v.memory_mib;
    where[v.id] = n.id;
    if (out.tiers.empty() || out.tiers.back().front().priority != v.priority)
      out.tiers.emplace_back();
    out.tiers.back().push_back(restart{v.id, n.id, v.priority});
  }
  return out;
}

} // namespace qx::domain::ha
