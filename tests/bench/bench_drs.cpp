// One DRS pass (drs::plan) over a large cluster: 64 hosts and 8,000 VMs by default, with some
// hosts hot, 200 keep-apart pairs and 50 must-run rules, from a fixed seed. Prints the pass's
// median and worst time over repeated runs next to the same run's reference: one imbalance()
// over the same cluster (a single pass over the VMs), so the planner's cost reads as a multiple
// of touching every VM once. Goal (issue 6): a pass under 100 ms.
//
// usage: bench_drs [--quick] [--hosts N] [--vms N] [--runs N]
// Last line: RESULT drs_pass_ms=<median> moves=<n> hosts=<h> vms=<v>
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

struct cluster {
  std::vector<drs::host> hosts;
  std::vector<drs::vm> vms;
  std::vector<drs::rule> rules;
};

cluster make_cluster(const options& o) {
  std::mt19937_64 rng{42};
  cluster c;
  for (int h = 0; h < o.hosts; ++h) {
    drs::host x;
    char id[16];
    std::snprintf(id, sizeof id, "h%03d", h);
    x.node.id = id;
    x.node.state = node::states::connected;
    x.cpu_threads = 128;
    x.memory_mib = 2048.0 * 1024;
    x.node.cpu_capacity = x.cpu_threads * 8;
    x.node.memory_capacity_mib = x.memory_mib * 1.5;
    x.node.pool_ids = {"shared"};
    c.hosts.push_back(x);
  }
  std::uniform_int_distribution<int> vcpus{1, 8};
  std::uniform_int_distribution<int> gib{1, 16};
  std::uniform_real_distribution<double> busy{0.02, 0.3};
  std::uniform_int_distribution<int> any_host{0, o.hosts - 1};
  std::uniform_int_distribution<int> hot_host{0, std::max(0, o.hosts / 8 - 1)};
  for (int i = 0; i < o.vms; ++i) {
    drs::vm v;
    char id[16];
    std::snprintf(id, sizeof id, "vm%05d", i);
    v.id = id;
    // A sixth of the VMs crowd the first eighth of the hosts: there is work to do.
    const int h = (i % 6 == 0) ? hot_host(rng) : any_host(rng);
    v.host_id = c.hosts[static_cast<std::size_t>(h)].node.id;
    v.vcpus = static_cast<std::uint32_t>(vcpus(rng));
    v.memory_mib = static_cast<std::uint64_t>(gib(rng)) * 1024;
    v.cpu_demand = v.vcpus * busy(rng);
    v.memory_demand_mib = static_cast<double>(v.memory_mib) * busy(rng);
    v.pool_ids = {"shared"};
    auto& node = c.hosts[static_cast<std::size_t>(h)].node;
    node.cpu_allocated += v.vcpus;
    node.memory_allocated_mib += v.memory_mib;
    c.vms.push_back(v);
  }
  for (int r = 0; r < 200 && 2 * r + 1 < o.vms; ++r)
    c.rules.push_back(
        {"apart" + std::to_string(r),
         drs::rule_kind::keep_apart,
         {c.vms[static_cast<std::size_t>(2 * r)].id, c.vms[static_cast<std::size_t>(2 * r + 1)].id},
         {}});
  for (int r = 0; r < 50 && 1000 + r < o.vms; ++r)
    c.rules.push_back({"pin" + std::to_string(r),
                       drs::rule_kind::must_run_on,
                       {c.vms[static_cast<std::size_t>(1000 + r)].id},
                       {c.vms[static_cast<std::size_t>(1000 + r)].host_id}});
  return c;
}

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
  const auto c = make_cluster(o);
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
