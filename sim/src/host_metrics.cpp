// The hosts' side of a metrics sample: how many take VMs, how many are overloaded, and how
// much CPU their VMs want beyond what the hosts have.
#include "engine.hpp"

namespace qx::sim {

void engine::count_hosts(metrics_sample& m,
                         const std::map<std::string, std::pair<double, double>>& used) const {
  for (const auto& [id, h] : world_.hosts()) {
    if (!h.powered)
      continue;
    // Taking VMs: the control plane has it connected (not down, not in maintenance).
    if (const auto node = view_.nodes().find(id);
        node != view_.nodes().end() && node->second.state == "connected")
      ++m.hosts_active;
    if (const auto load = m.host_load.find(id);
        load != m.host_load.end() && load->second > overload_threshold)
      ++m.hosts_overloaded;
    if (const auto u = used.find(id); u != used.end())
      m.unmet_cpu += std::max(0.0, u->second.first - static_cast<double>(h.spec.cpus));
  }
}

} // namespace qx::sim
