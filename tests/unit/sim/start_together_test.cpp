// VMs started together in the simulator take the control plane's one placement path: every
// one is placed while a host has room, spread as one-by-one starts would spread them, or
// packed onto as few hosts as fit them when the cluster says so.
#include "qx/sim/run.hpp"
#include "qx/sim/scenario.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

namespace {

using namespace qx::sim;

/// One cluster of `hosts` equal hosts (16 CPUs, 64 GiB) and `vms` VMs of 2 vCPUs and 2 GiB,
/// all started at the first instant, none on a named host.
scenario started_together(int hosts, int vms, const std::string& placement) {
  scenario s;
  s.name = "start together";
  s.duration = std::chrono::minutes{2};
  cluster_spec c;
  c.id = "c1";
  c.drs.enabled = false;
  c.drs.placement = placement;
  c.ha.enabled = false;
  s.clusters.push_back(c);
  for (int i = 0; i < hosts; ++i)
    s.hosts.push_back({"h" + std::to_string(i), "c1", 16, 65536, {}});
  for (int i = 0; i < vms; ++i) {
    vm_spec v;
    v.id = "vm" + std::to_string(i);
    v.cluster = "c1";
    v.vcpus = 2;
    v.memory_mib = 2048;
    s.vms.push_back(v);
  }
  return s;
}

std::map<std::string, int> vms_per_host(const run_result& r) {
  std::map<std::string, int> out;
  for (const auto& [vm, host] : r.placement)
    ++out[host];
  return out;
}

// The figure is 1,000 VMs on 200 hosts (bench_sim); a fifth of it keeps the unit run
// short under the sanitizers and fails the same way (before in-flight reservations, all but a
// few were refused).
TEST(start_together, two_hundred_vms_on_forty_hosts_are_all_placed_five_per_host) {
  const auto r = run_scenario(started_together(40, 200, "spread"), {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->placement.size(), 200U);
  const auto per_host = vms_per_host(*r);
  EXPECT_EQ(per_host.size(), 40U);
  for (const auto& [host, n] : per_host)
    EXPECT_EQ(n, 5) << host;
  EXPECT_TRUE(r->summary.violations.empty());
}

TEST(start_together, pack_fills_as_few_hosts_as_hold_them) {
  // 64 vCPUs (4x overcommit) and 64 GiB per host: 32 VMs fill one; 200 need 7 hosts.
  const auto r = run_scenario(started_together(40, 200, "pack"), {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->placement.size(), 200U);
  const auto per_host = vms_per_host(*r);
  EXPECT_EQ(per_host.size(), 7U);
  const auto fullest =
      std::max_element(per_host.begin(), per_host.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; });
  EXPECT_EQ(fullest->second, 32);
}

TEST(start_together, more_vms_than_room_places_every_one_that_fits) {
  // 2 hosts hold 64 such VMs; of 70 started together exactly 64 run.
  const auto r = run_scenario(started_together(2, 70, "spread"), {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->placement.size(), 64U);
}

} // namespace
