// Property runs: random scenarios (hosts, clusters with random HA and DRS settings, VMs, keep-
// apart, must-not and should-run rules, and a random timeline of failures, partitions, agent
// restarts, maintenance, shutdowns and VM commands), each played on the real actors. Whatever
// happens, no VM ever runs twice, no host is ever beyond its overcommit ratios, every
// acknowledged command is in the log, no VM lands where a strict rule forbids, no VM the
// operator stopped runs again, and no balancing move sends a VM back within the hold period.
// QX_PROPERTY_RUNS sets the number of runs (default 200).
#include "qx/sim/run.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

namespace {

using namespace qx::sim;
using namespace std::chrono_literals;

scenario random_scenario(std::uint64_t seed) {
  std::mt19937_64 rng{seed};
  auto pick = [&](int lo, int hi) {
    return std::uniform_int_distribution<int>{lo, hi}(rng);
  };
  scenario s;
  s.name = "random " + std::to_string(seed);
  s.duration = 40min;
  s.drs_interval = 5min;
  cluster_spec c;
  c.id = "c1";
  const char* automation[] = {"manual", "partially_automated", "fully_automated"};
  c.drs.automation = automation[pick(0, 2)];
  c.drs.threshold = static_cast<std::uint32_t>(pick(1, 5));
  const char* admission[] = {"host_failures", "percentage", "none"};
  c.ha.admission = admission[pick(0, 2)];
  const char* policy[] = {"freeze", "failover", "migrate"};
  c.ha.shutdown_policy = policy[pick(0, 2)];
  s.clusters.push_back(c);
  const int hosts = pick(2, 5);
  for (int i = 0; i < hosts; ++i)
    s.hosts.push_back({"h" + std::to_string(i),
                       "c1",
                       static_cast<std::uint32_t>(pick(4, 16)),
                       static_cast<std::uint64_t>(pick(8, 64)) * 1024,
                       {}});
  const int vms = pick(2, 12);
  for (int i = 0; i < vms; ++i) {
    vm_spec v;
    v.id = "v" + std::to_string(i);
    v.cluster = "c1";
    if (pick(0, 1) == 1)
      v.host = "h" + std::to_string(pick(0, hosts - 1));
    v.vcpus = static_cast<std::uint32_t>(pick(1, 8));
    v.memory_mib = static_cast<std::uint64_t>(pick(1, 16)) * 1024;
    v.priority = pick(-2, 2);
    v.ha_protected = pick(0, 3) != 0;
    v.workload.type = pick(0, 1) == 0 ? "random_walk" : "spikes";
    s.vms.push_back(v);
  }
  if (vms >= 2 && pick(0, 1) == 1)
    s.rules.push_back({"apart", "keep_apart", {"v0", "v1"}, {}, {}});
  // Host rules: v2 never on h0; v3 prefers h1 over h0 (fail-back brings it home).
  if (vms >= 3 && pick(0, 1) == 1)
    s.rules.push_back({"never-h0", "must_not_run_on", {"v2"}, {"h0"}, {}});
  if (vms >= 4 && pick(0, 1) == 1)
    s.rules.push_back({"home", "should_run_on", {"v3"}, {"h0", "h1"}, {{"h1", pick(0, 5)}}});
  const char* host_actions[] = {"host_power_off",      "host_power_on", "network_off",
                                "network_on",          "agent_restart", "maintenance_enable",
                                "maintenance_disable", "host_shutdown"};
  const char* vm_actions[] = {"vm_stop", "vm_start", "vm_migrate", "vm_relocate"};
  const int steps = pick(0, 10);
  for (int i = 0; i < steps; ++i) {
    step_spec st;
    st.at = std::chrono::seconds{pick(0, 35 * 60)};
    if (pick(0, 2) != 0) {
      st.action = host_actions[pick(0, 7)];
      st.target = "h" + std::to_string(pick(0, hosts - 1));
    } else {
      st.action = vm_actions[pick(0, 3)];
      st.target = "v" + std::to_string(pick(0, vms - 1));
      if (st.action != "vm_stop" && pick(0, 1) == 1)
        st.to = "h" + std::to_string(pick(0, hosts - 1));
    }
    s.timeline.push_back(st);
  }
  std::stable_sort(s.timeline.begin(), s.timeline.end(),
                   [](const step_spec& a, const step_spec& b) { return a.at < b.at; });
  return s;
}

TEST(sim_properties, random_scenarios_never_break_an_invariant) {
  int runs = 200;
  if (const char* env = std::getenv("QX_PROPERTY_RUNS"); env != nullptr)
    runs = std::max(1, std::atoi(env));
  std::uint64_t events = 0;
  for (int seed = 1; seed <= runs; ++seed) {
    const auto s = random_scenario(static_cast<std::uint64_t>(seed));
    run_options opts;
    opts.seed = static_cast<std::uint64_t>(seed);
    const auto r = run_scenario(s, opts);
    ASSERT_TRUE(r) << "seed " << seed << ": " << r.error().to_string();
    events += r->summary.events;
    for (const auto& v : r->summary.violations)
      ADD_FAILURE() << "seed " << seed << ": " << v;
  }
  // The runs did something: commands were accepted and recorded.
  EXPECT_GT(events, static_cast<std::uint64_t>(runs) * 20U);
}

} // namespace
