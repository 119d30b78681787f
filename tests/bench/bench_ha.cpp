// bench_ha: the time from a host's death to its last HA VM running elsewhere, in the live
// control plane, against its floor. `qvdc serve` (HA lease 2 s, fence bound 1 s) and three
// qx-node agents on libvirt test-driver hosts in one HA cluster. Each round starts two
// protected VMs on one host (timing each start: the floor's start term), SIGKILLs that host's
// agent, and times until both run on another host; the agent is then started again and
// rejoins, and the next round kills the next host.
//
// floor = lease + fence bound + the round's VM start time (HA may not restart before the
// lease and the fence bound have passed from the last heartbeat it heard, and a restart takes
// a start). Goal: within 2 s of the floor.
//
// Last line: RESULT ha_ms=<median> floor_ms=<median> over_floor_ms=<median difference>
//
// usage: bench_ha [--quick] [--rounds N]   (--quick: one round; default three)
#include "ha_fixture.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using qx::test::json;

constexpr auto lease = 2000ms;
constexpr auto fence_bound = 1000ms;
int rounds = 3; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables): set by main

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

class bench_ha : public qx::test::ha_datacenter {
 public:
  bench_ha() { serve_with_ha(lease, fence_bound); }
};

TEST_F(bench_ha, host_death_to_last_ha_vm_running_elsewhere) {
  three_hosts_in_an_ha_cluster();
  const std::vector<std::string> hosts{"a", "b", "c"};
  std::vector<double> took;
  std::vector<double> floors;
  for (int round = 0; round < rounds; ++round) {
    const auto& victim = hosts[static_cast<std::size_t>(round) % hosts.size()];
    const auto node = "node-" + victim;
    std::vector<double> starts;
    std::vector<std::string> vms;
    for (const int priority : {5, 1}) {
      const auto vm = "vm-r" + std::to_string(round) + "-p" + std::to_string(priority);
      const auto began = std::chrono::steady_clock::now();
      ASSERT_NO_FATAL_FAILURE(run_vm(vm, priority, node));
      starts.push_back(ms_since(began));
      vms.push_back(vm);
    }
    const auto epoch = get("/api/v1/nodes/" + node + "/agent").value("epoch", 0ULL);
    const auto killed_at = std::chrono::steady_clock::now();
    agents_[victim].proc->stop(SIGKILL);
    const auto elsewhere = [&](const std::string& vm) {
      const auto v = get("/api/v1/vms/" + vm);
      return v.value("powerState", "") == "running" && v.value("nodeId", "") != node;
    };
    ASSERT_TRUE(eventually([&] { return elsewhere(vms[0]) && elsewhere(vms[1]); }, 60s))
        << diagnostics();
    took.push_back(ms_since(killed_at));
    floors.push_back(static_cast<double>((lease + fence_bound).count()) + median(starts));
    std::printf("round %d: host %s died; its last HA VM ran elsewhere after %.0f ms; floor %.0f "
                "ms (lease %lld + fence bound %lld + start %.0f)\n",
                round + 1, node.c_str(), took.back(), floors.back(),
                static_cast<long long>(lease.count()), static_cast<long long>(fence_bound.count()),
                median(starts));
    // The host comes back and rejoins before the next round.
    start_agent(victim);
    ASSERT_TRUE(eventually([&] {
      const auto a = get("/api/v1/nodes/" + node + "/agent");
      return a.value("connected", false) && a.value("epoch", 0ULL) > epoch;
    })) << diagnostics();
    ASSERT_TRUE(eventually([&] {
      for (const auto& n : get("/api/v1/clusters/c1/ha").value("nodes", json::array()))
        if (n.value("state", "") != "alive")
          return false;
      return true;
    })) << get("/api/v1/clusters/c1/ha").dump();
  }
  std::vector<double> over;
  for (std::size_t i = 0; i < took.size(); ++i)
    over.push_back(took[i] - floors[i]);
  std::printf("host death to the last HA VM running elsewhere: median %.0f ms over %zu rounds; "
              "same-run floor %.0f ms; %.0f ms over the floor (goal < 2000 ms)\n",
              median(took), took.size(), median(floors), median(over));
  std::printf("RESULT ha_ms=%.0f floor_ms=%.0f over_floor_ms=%.0f\n", median(took), median(floors),
              median(over));
  EXPECT_EQ(took.size(), static_cast<std::size_t>(rounds));
}

} // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      rounds = 1;
    else if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      rounds = std::max(1, std::atoi(argv[++i]));
    else
      rest.push_back(argv[i]);
  }
  int n = static_cast<int>(rest.size());
  ::testing::InitGoogleTest(&n, rest.data());
  return RUN_ALL_TESTS();
}
