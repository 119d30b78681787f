#pragma once

// The scenarios behind bench_sim's consolidation and start-together figures, and what is
// measured of their runs. Kept apart from bench_sim.cpp so each figure's set-up reads alone.

#include <qx/sim/run.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

namespace qx::bench {

/// Writes one day of demand per VM as a trace file (seconds,cpu_vcpus,memory_mib every 5
/// minutes), shaped like the public PlanetLab day (mostly idle, a daily swell, bursts), from a
/// fixed seed so every run plays the same traces.
inline void write_trace(const std::filesystem::path& file, int vm, std::uint32_t vcpus,
                        std::uint64_t memory_mib, int hours) {
  std::mt19937_64 rng{static_cast<std::uint64_t>(vm) * 7919U + 1U};
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  std::ofstream out{file};
  out << "seconds,cpu_vcpus,memory_mib\n";
  const double phase = unit(rng) * 6.0;
  for (int t = 0; t <= hours * 3600; t += 300) {
    const double hour = t / 3600.0;
    double level = 0.10 + 0.08 * std::sin((hour - 8.0 - phase) / 24.0 * 2.0 * 3.14159265);
    if (unit(rng) < 0.05)
      level += 0.5 * unit(rng); // a burst
    level = std::clamp(level + 0.04 * (unit(rng) - 0.5), 0.01, 1.0);
    out << t << ',' << level * vcpus << ',' << 0.4 * static_cast<double>(memory_mib) << '\n';
  }
}

/// `hosts` hosts in clusters of 50 (16 CPUs, 64 GiB), `vms` VMs placed by the cluster's
/// strategy at start (none named a host), each playing its own trace, DRS fully automated.
inline sim::scenario make_consolidation(int hosts, int vms, int hours, const std::string& how,
                                        const std::filesystem::path& trace_dir) {
  using namespace std::chrono_literals;
  sim::scenario s;
  s.name = "consolidation";
  s.duration = std::chrono::hours{hours};
  s.drs_interval = 5min;
  s.metrics_interval = 5min;
  const int clusters = std::max(1, hosts / 50);
  for (int c = 0; c < clusters; ++c) {
    sim::cluster_spec spec;
    spec.id = "c" + std::to_string(c);
    spec.drs.placement = how;
    spec.ha.admission = "none";
    s.clusters.push_back(spec);
  }
  for (int h = 0; h < hosts; ++h)
    s.hosts.push_back(
        {"h" + std::to_string(h), "c" + std::to_string(h % clusters), 16, 64 * 1024, {}});
  std::filesystem::create_directories(trace_dir);
  for (int i = 0; i < vms; ++i) {
    sim::vm_spec v;
    v.id = "v" + std::to_string(i);
    v.cluster = "c" + std::to_string(i % clusters);
    v.vcpus = static_cast<std::uint32_t>(1 + i % 4);
    v.memory_mib = static_cast<std::uint64_t>(1 + i % 4) * 1024;
    v.workload.type = "trace";
    v.workload.path = trace_dir / (v.id + ".csv");
    write_trace(v.workload.path, i, v.vcpus, v.memory_mib, hours);
    s.vms.push_back(v);
  }
  return s;
}

/// `vms` VMs started at once (set-up starts every VM before the first step) on `hosts` empty
/// hosts of one cluster, placed by spread.
inline sim::scenario make_start_together(int hosts, int vms) {
  using namespace std::chrono_literals;
  sim::scenario s;
  s.name = "start together";
  s.duration = 2min;
  sim::cluster_spec c;
  c.id = "c0";
  c.ha.admission = "none";
  c.drs.threshold = 1; // placement only: no balancing moves muddle the spread measured
  s.clusters.push_back(c);
  for (int h = 0; h < hosts; ++h)
    s.hosts.push_back({"h" + std::to_string(h), "c0", 32, 128 * 1024, {}});
  for (int i = 0; i < vms; ++i) {
    sim::vm_spec v;
    v.id = "v" + std::to_string(i);
    v.cluster = "c0";
    v.vcpus = 2;
    v.memory_mib = 2048;
    s.vms.push_back(v);
  }
  return s;
}

/// What the consolidation figure reports of a run.
struct consolidation_figures {
  double mean_active_hosts = 0; ///< hosts running VMs, averaged over the samples
  double overloaded_host_hours = 0;
};

inline consolidation_figures consolidation_of(const sim::run_result& r,
                                              std::chrono::milliseconds interval) {
  consolidation_figures f;
  if (r.samples.empty())
    return f;
  double active = 0;
  double overloaded = 0;
  // In use: a host running VMs (load above 0); all hosts stay powered on (no power management),
  // so what pack saves shows as hosts left empty.
  for (const auto& m : r.samples) {
    active += static_cast<double>(std::count_if(m.host_load.begin(), m.host_load.end(),
                                                [](const auto& kv) { return kv.second > 0; }));
    overloaded += m.hosts_overloaded;
  }
  f.mean_active_hosts = active / static_cast<double>(r.samples.size());
  f.overloaded_host_hours = overloaded * std::chrono::duration<double>(interval).count() / 3600.0;
  return f;
}

/// VMs per host at the end: the fewest and the most over the hosts (hosts holding none count).
inline std::pair<int, int> spread_of(const sim::run_result& r, int hosts) {
  std::map<std::string, int> per_host;
  for (int h = 0; h < hosts; ++h)
    per_host["h" + std::to_string(h)] = 0;
  for (const auto& [vm, host] : r.placement)
    ++per_host[host];
  int lo = 1 << 30;
  int hi = 0;
  for (const auto& [host, n] : per_host) {
    lo = std::min(lo, n);
    hi = std::max(hi, n);
  }
  return {lo, hi};
}

} // namespace qx::bench
