// One DRS pass (drs::plan) over a large cluster: 64 hosts and 8,000 VMs by default, with some
// hosts hot, 200 keep-apart pairs and 50 must-run rules, from a fixed seed. Prints the pass's
// median and worst time over repeated runs next to the same run's reference: one imbalance()
// over the same cluster (a single pass over the VMs), so the planner's cost reads as a multiple
// of touching every VM once. Goal (issue 6): a pass under 100 ms.
//
// usage: bench_drs [--quick] [--hosts N] [--vms N] [--runs N]
// Last line: RESULT drs_pass_ms=<median> moves=<n> hosts=<h> vms=<v>
#include "drs_cluster.hpp"

#include <qx/actors/domain/drs.hpp>
#include <qx/actors/domain/node.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace qx::domain;
using clock_type = std::chrono::steady_clock;

struct options {
  int hosts = 64;
  int vms = 8000;
  int runs = 15;
};

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.hosts = 16;
      o.vms = 1000;
      o.runs = 3;
    } else if (a == "--hosts" && i + 1 < argc) {
      o.hosts = std::atoi(argv[++i]);
    } else if (a == "--vms" && i + 1 < argc) {
      o.vms = std::atoi(argv[++i]);
    } else if (a == "--runs" && i + 1 < argc) {
      o.runs = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_drs [--quick] [--hosts N] [--vms N] [--runs N]\n");
      return 1;
    }
  }
  if (o.hosts < 2 || o.vms < 1 || o.runs < 1) {
    std::fprintf(stderr, "bench_drs: need at least 2 hosts, 1 VM and 1 run\n");
    return 1;
  }
  const auto c = qx::bench::make_drs_cluster(o.hosts, o.vms);
  drs::settings s; // threshold 3, 8 moves a pass, 2 per host, 8 per cluster
  std::printf("bench_drs: one DRS pass over %d hosts, %d VMs, %zu rules (threshold %u, at most "
              "%zu moves)\n",
              o.hosts, o.vms, c.rules.size(), s.threshold, s.max_moves_per_pass);
  std::vector<double> pass_ms;
  std::vector<double> scan_ms;
  drs::pass last;
  double sink = 0;
  for (int r = 0; r < o.runs; ++r) {
    auto t0 = clock_type::now();
    sink += drs::imbalance(c.hosts, c.vms);
    scan_ms.push_back(ms_since(t0));
    t0 = clock_type::now();
    last = drs::plan(c.hosts, c.vms, c.rules, s);
    pass_ms.push_back(ms_since(t0));
  }
  const double p = median(pass_ms);
  std::printf("  imbalance %.4f -> %.4f (target %.2f), %zu moves, stopped: %s\n",
              last.imbalance_before, last.imbalance_after, last.target, last.moves.size(),
              last.stopped.c_str());
  std::printf("  pass      median %8.2f ms  worst %8.2f ms  (%d runs)\n", p,
              *std::max_element(pass_ms.begin(), pass_ms.end()), o.runs);
  std::printf("  same-run reference: imbalance() over the same cluster, median %.3f ms "
              "(checksum %.3f)\n",
              median(scan_ms), sink);
  std::printf("  goal: < 100 ms: %s\n", p < 100 ? "met" : "NOT met");
  std::printf("RESULT drs_pass_ms=%.2f moves=%zu hosts=%d vms=%d\n", p, last.moves.size(), o.hosts,
              o.vms);
  return 0;
}
