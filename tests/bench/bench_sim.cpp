// bench_sim: the simulator at scale. 1,000 hosts in 15 clusters, 20,000 VMs with diurnal and
// random-walk workloads, 24 simulated hours, DRS every 5 minutes, four host failures on the
// timeline: the wall time of the whole run and simulated seconds per wall second (goal: the
// day in under 30 s). Then one DRS pass over 64 hosts / 8,000 VMs (goal < 100 ms) beside the
// same run's reference, one imbalance() over the same cluster. Then consolidation: 800 hosts,
// 1,052 VMs each playing a one-day trace, placed by pack with DRS on, beside the same day
// placed by spread (wall time, goal < 5 s; migrations, overloaded host-hours, mean hosts in
// use). Then 1,000 VMs started at once on 200 empty hosts: all placed, spread as one by one
// (five each). Refused or unplaced work is an error, never a figure.
//
// usage: bench_sim [--quick] [--hosts N] [--vms N] [--hours H] [--only day|drs|consolidation|start]
// Last line: RESULT with the figures run (sim_wall_s, drs_pass_ms, consolidation_s, start_1000_s).
// --only runs one figure (to profile it alone).
#include "drs_cluster.hpp"
#include "sim_figures.hpp"

#include <qx/sim/run.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

qx::sim::scenario make_scenario(int hosts, int vms, int hours) {
  qx::sim::scenario s;
  s.name = "bench_sim";
  s.duration = std::chrono::hours{hours};
  s.drs_interval = 5min;
  s.metrics_interval = 5min;
  const int clusters = std::max(1, hosts / 63);
  for (int c = 0; c < clusters; ++c) {
    qx::sim::cluster_spec spec;
    spec.id = "c" + std::to_string(c);
    spec.ha.admission = "none";
    s.clusters.push_back(spec);
  }
  for (int h = 0; h < hosts; ++h)
    s.hosts.push_back(
        {"h" + std::to_string(h), "c" + std::to_string(h % clusters), 64, 512 * 1024, {}});
  for (int i = 0; i < vms; ++i) {
    qx::sim::vm_spec v;
    v.id = "v" + std::to_string(i);
    const int h = i % hosts;
    v.cluster = "c" + std::to_string(h % clusters);
    v.host = "h" + std::to_string(h);
    v.vcpus = static_cast<std::uint32_t>(1 + i % 8);
    v.memory_mib = static_cast<std::uint64_t>(1 + i % 16) * 1024;
    v.priority = i % 5 - 2;
    v.workload.type = i % 2 == 0 ? "diurnal" : "random_walk";
    v.workload.cpu = 0.3 + 0.05 * (i % 7);
    s.vms.push_back(v);
  }
  for (int k = 0; k < 4 && k < hosts; ++k) {
    qx::sim::step_spec off;
    off.at = std::chrono::hours{hours} * (k + 1) / 5;
    off.action = "host_power_off";
    off.target = "h" + std::to_string(k * 97 % hosts);
    s.timeline.push_back(off);
  }
  return s;
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

/// One consolidation run: its wall seconds, or nullopt (and why on stderr) when it failed.
std::optional<double> consolidation_run(const qx::sim::scenario& s, const char* how) {
  const auto t0 = clock_type::now();
  const auto r = qx::sim::run_scenario(s, {});
  const double wall_s = ms_since(t0) / 1000;
  if (!r) {
    std::fprintf(stderr, "bench_sim: consolidation (%s): %s\n", how, r.error().to_string().c_str());
    return std::nullopt;
  }
  if (r->placement.size() != s.vms.size() || !r->summary.violations.empty()) {
    std::fprintf(stderr, "bench_sim: consolidation (%s): %zu of %zu VMs run, %zu violations\n", how,
                 r->placement.size(), s.vms.size(), r->summary.violations.size());
    return std::nullopt;
  }
  const auto f = qx::bench::consolidation_of(*r, s.metrics_interval);
  std::printf(
      "consolidation %s: %zu hosts, %zu VMs, %lld h: %.2f s wall, %llu migrations, "
      "%.1f overloaded host-hours, %.1f hosts in use on average\n",
      how, s.hosts.size(), s.vms.size(),
      static_cast<long long>(std::chrono::duration_cast<std::chrono::hours>(s.duration).count()),
      wall_s, static_cast<unsigned long long>(r->summary.migrations), f.overloaded_host_hours,
      f.mean_active_hosts);
  return wall_s;
}

/// Pack with DRS, then the same day with spread as the same run's reference.
std::optional<double> run_consolidation(bool quick) {
  const int hosts = quick ? 80 : 800;
  const int vms = quick ? 105 : 1052;
  const int hours = quick ? 2 : 24;
  const auto dir =
      std::filesystem::temp_directory_path() / ("bench_sim_traces_" + std::to_string(::getpid()));
  const auto pack =
      consolidation_run(qx::bench::make_consolidation(hosts, vms, hours, "pack", dir), "pack");
  const auto spread = consolidation_run(
      qx::bench::make_consolidation(hosts, vms, hours, "spread", dir), "spread (reference)");
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (!pack || !spread)
    return std::nullopt;
  return pack;
}

/// VMs started at once: every one placed, as evenly as one-by-one starts would place them.
std::optional<double> run_start_together(bool quick) {
  const int hosts = quick ? 20 : 200;
  const int vms = quick ? 100 : 1000;
  const auto s = qx::bench::make_start_together(hosts, vms);
  const auto t0 = clock_type::now();
  const auto r = qx::sim::run_scenario(s, {});
  const double wall_s = ms_since(t0) / 1000;
  if (!r) {
    std::fprintf(stderr, "bench_sim: start together: %s\n", r.error().to_string().c_str());
    return std::nullopt;
  }
  const auto [fewest, most] = qx::bench::spread_of(*r, hosts);
  std::printf("start together: %d VMs at once on %d empty hosts: %.2f s wall, %zu placed, "
              "%d to %d per host (one by one: %d each), %zu refused\n",
              vms, hosts, wall_s, r->placement.size(), fewest, most, vms / hosts,
              r->summary.refusals.size());
  if (static_cast<int>(r->placement.size()) != vms || most - fewest > 1) {
    std::fprintf(stderr, "bench_sim: start together: not all placed, or not spread\n");
    return std::nullopt;
  }
  return wall_s;
}

std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

/// The 1,000-host day: its wall seconds, or nullopt when it failed or broke an invariant.
std::optional<double> run_day(int hosts, int vms, int hours) {
  const auto s = make_scenario(hosts, vms, hours);
  const auto t0 = clock_type::now();
  const auto r = qx::sim::run_scenario(s, {});
  const double wall_s = ms_since(t0) / 1000;
  if (!r) {
    std::fprintf(stderr, "bench_sim: %s\n", r.error().to_string().c_str());
    return std::nullopt;
  }
  const double simulated_s = hours * 3600.0;
  std::printf("simulation: %d hosts, %d VMs, %d h: %.2f s wall, %.0f simulated s per wall s, "
              "%llu events, %llu migrations, %llu restarts, %zu violations\n",
              hosts, vms, hours, wall_s, simulated_s / wall_s,
              static_cast<unsigned long long>(r->summary.events),
              static_cast<unsigned long long>(r->summary.migrations),
              static_cast<unsigned long long>(r->summary.restarts), r->summary.violations.size());
  if (!r->summary.violations.empty())
    return std::nullopt;
  return wall_s;
}

/// The best of seven DRS passes over 64 hosts / 8,000 VMs, printed beside one imbalance().
double drs_pass_ms() {
  const auto c = qx::bench::make_drs_cluster(64, 8000);
  qx::domain::drs::settings settings;
  settings.threshold = 4;
  double best = 1e9;
  double reference = 1e9;
  double sink = 0;
  for (int run = 0; run < 7; ++run) {
    auto t = clock_type::now();
    sink += qx::domain::drs::imbalance(c.hosts, c.vms);
    reference = std::min(reference, ms_since(t));
    t = clock_type::now();
    sink +=
        static_cast<double>(qx::domain::drs::plan(c.hosts, c.vms, c.rules, settings).moves.size());
    best = std::min(best, ms_since(t));
  }
  std::printf("drs pass 64 hosts / 8000 VMs: %.2f ms (reference, one imbalance() over the same "
              "cluster: %.3f ms) [%g]\n",
              best, reference, sink);
  return best;
}

} // namespace

int main(int argc, char** argv) {
  int hosts = 1000;
  int vms = 20000;
  int hours = 24;
  bool quick = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
      hosts = 64;
      vms = 1000;
      hours = 2;
    } else if (a == "--hosts" && i + 1 < argc) {
      hosts = std::atoi(argv[++i]);
    } else if (a == "--vms" && i + 1 < argc) {
      vms = std::atoi(argv[++i]);
    } else if (a == "--hours" && i + 1 < argc) {
      hours = std::atoi(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_sim [--quick] [--hosts N] [--vms N] [--hours H] "
                           "[--only day|drs|consolidation|start]\n");
      return 1;
    }
  }
  if (!only.empty() && only != "day" && only != "drs" && only != "consolidation" &&
      only != "start") {
    std::fprintf(stderr, "bench_sim: --only takes day, drs, consolidation or start\n");
    return 1;
  }
  if (hosts < 1 || vms < 1 || hours < 1) {
    std::fprintf(stderr, "bench_sim: --hosts, --vms and --hours must be at least 1\n");
    return 1;
  }
  const auto wanted = [&](const char* figure) {
    return only.empty() || only == figure;
  };
  std::string result = "RESULT";
  bool failed = false;
  if (wanted("day")) {
    const auto day = run_day(hosts, vms, hours);
    failed = failed || !day;
    if (day)
      result += " sim_wall_s=" + fixed2(*day);
  }
  if (wanted("drs"))
    result += " drs_pass_ms=" + fixed2(drs_pass_ms());
  if (wanted("consolidation")) {
    const auto consolidation = run_consolidation(quick);
    failed = failed || !consolidation;
    if (consolidation)
      result += " consolidation_s=" + fixed2(*consolidation);
  }
  if (wanted("start")) {
    const auto together = run_start_together(quick);
    failed = failed || !together;
    if (together)
      result += " start_1000_s=" + fixed2(*together);
  }
  std::printf("%s\n", result.c_str());
  return failed ? 1 : 0;
}
