#pragma once

// The large DRS cluster bench_drs and bench_sim time one planner pass over.

#include <qx/actors/domain/drs.hpp>
#include <qx/actors/domain/node.hpp>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace qx::bench {

using namespace qx::domain;

struct drs_cluster {
  std::vector<drs::host> hosts;
  std::vector<drs::vm> vms;
  std::vector<drs::rule> rules;
};

/// A cluster of `hosts` hosts and `vms` VMs from a fixed seed: a sixth of the VMs crowd the
/// first eighth of the hosts, 200 keep-apart pairs, 50 must-run rules.
inline drs_cluster make_drs_cluster(int hosts, int vms) {
  std::mt19937_64 rng{42};
  drs_cluster c;
  for (int h = 0; h < hosts; ++h) {
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
  std::uniform_int_distribution<int> any_host{0, hosts - 1};
  std::uniform_int_distribution<int> hot_host{0, std::max(0, hosts / 8 - 1)};
  for (int i = 0; i < vms; ++i) {
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
  for (int r = 0; r < 200 && 2 * r + 1 < vms; ++r)
    c.rules.push_back(
        {"apart" + std::to_string(r),
         drs::rule_kind::keep_apart,
         {c.vms[static_cast<std::size_t>(2 * r)].id, c.vms[static_cast<std::size_t>(2 * r + 1)].id},
         {}});
  for (int r = 0; r < 50 && 1000 + r < vms; ++r)
    c.rules.push_back({"pin" + std::to_string(r),
                       drs::rule_kind::must_run_on,
                       {c.vms[static_cast<std::size_t>(1000 + r)].id},
                       {c.vms[static_cast<std::size_t>(1000 + r)].host_id}});
  return c;
}

} // namespace qx::bench
