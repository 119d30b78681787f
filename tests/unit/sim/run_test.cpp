// What a run tells about itself: VMs that start stopped, and the actions the control plane
// refused, each with its time, action, target and error code.
#include "qx/sim/run.hpp"
#include "qx/sim/scenario.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace qx::sim;
using namespace std::chrono_literals;

vm_spec small_vm(const std::string& id) {
  vm_spec v;
  v.id = id;
  v.cluster = "c1";
  v.vcpus = 2;
  v.memory_mib = 2048;
  return v;
}

/// One cluster of two hosts (16 CPUs, 64 GiB), DRS and HA off, and `vms` in it.
scenario two_hosts(std::vector<vm_spec> vms, sim_duration duration = 10min) {
  scenario s;
  s.name = "run test";
  s.duration = duration;
  cluster_spec c;
  c.id = "c1";
  c.drs.enabled = false;
  c.ha.enabled = false;
  s.clusters.push_back(c);
  s.hosts.push_back({"h1", "c1", 16, 65536, {}});
  s.hosts.push_back({"h2", "c1", 16, 65536, {}});
  s.vms = std::move(vms);
  return s;
}

step_spec step(sim_duration at, std::string action, std::string target, std::string to = {}) {
  step_spec st;
  st.at = at;
  st.action = std::move(action);
  st.target = std::move(target);
  st.to = std::move(to);
  return st;
}

TEST(vm_state, a_stopped_vm_is_created_not_started_and_not_meant_to_run) {
  auto idle = small_vm("idle");
  idle.state = "stopped";
  auto later = small_vm("later");
  later.state = "stopped";
  auto s = two_hosts({small_vm("web"), idle, later});
  s.timeline.push_back(step(2min, "vm_start", "later"));
  const auto r = run_scenario(s, {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->placement.count("web"), 1U);
  EXPECT_EQ(r->placement.count("idle"), 0U) << "started although stopped";
  EXPECT_EQ(r->placement.count("later"), 1U) << "a stopped VM can be started later";
  EXPECT_EQ(r->power.at("idle"), "defined") << "created in the log, never started";
  EXPECT_EQ(r->meant_to_run, (std::set<std::string>{"later", "web"}));
  EXPECT_TRUE(unmet_expectations(s, *r).empty());
  EXPECT_EQ(r->summary.downtime.count("idle"), 0U);
}

} // namespace
