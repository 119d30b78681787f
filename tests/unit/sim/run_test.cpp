// What a run tells about itself: VMs that start stopped, and the actions the control plane
// refused, each with its time, action, target and error code.
#include "qx/sim/run.hpp"
#include "qx/sim/scenario.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
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

std::string file_text(const std::filesystem::path& p) {
  std::ifstream in{p};
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

/// The refusal of `action` on `target`, or a failure listing what was refused.
const refusal* find_refusal(const run_result& r, const std::string& action,
                            const std::string& target) {
  const auto& all = r.summary.refusals;
  const auto it = std::find_if(all.begin(), all.end(), [&](const refusal& x) {
    return x.action == action && x.target == target;
  });
  return it == all.end() ? nullptr : &*it;
}

TEST(refusals, are_recorded_with_time_action_target_and_code_in_the_result_notes_and_report) {
  auto idle = small_vm("idle");
  idle.state = "stopped";
  auto huge = small_vm("huge");
  huge.state = "stopped";
  huge.memory_mib = 131072; // twice a host's memory
  auto s = two_hosts({small_vm("web"), idle, huge});
  s.clusters[0].ha.enabled = true;
  s.clusters[0].ha.admission = "none";
  s.timeline.push_back(step(1min, "vm_migrate", "idle", "h2"));
  s.timeline.push_back(step(2min, "vm_start", "huge"));
  s.timeline.push_back(step(3min, "host_power_off", "h2"));
  s.timeline.push_back(step(5min, "maintenance_enable", "h2"));
  qx::test::temp_dir dir;
  run_options opts;
  opts.out_dir = dir.path();
  const auto r = run_scenario(s, opts);
  ASSERT_TRUE(r) << r.error().to_string();

  const auto* migrate = find_refusal(*r, "vm_migrate", "idle");
  ASSERT_NE(migrate, nullptr) << "the migration of a stopped VM is not recorded as refused";
  EXPECT_EQ(migrate->at, 1min);
  EXPECT_EQ(migrate->code, "FAILED_PRECONDITION");
  EXPECT_FALSE(migrate->message.empty());
  const auto* start = find_refusal(*r, "vm_start", "huge");
  ASSERT_NE(start, nullptr) << "the start of a VM no host can hold is not recorded as refused";
  EXPECT_EQ(start->at, 2min);
  EXPECT_EQ(start->code, "RESOURCE_EXHAUSTED");
  const auto* maintenance = find_refusal(*r, "maintenance_enable", "h2");
  ASSERT_NE(maintenance, nullptr) << "maintenance of a host that is down is not recorded";
  EXPECT_EQ(maintenance->at, 5min);
  EXPECT_EQ(maintenance->reason, "NODE_DOWN");
  EXPECT_EQ(find_refusal(*r, "start", "web"), nullptr) << "a start that worked is no refusal";

  const auto notes = file_text(dir.path() / "notes.txt");
  EXPECT_NE(notes.find("t=60s: vm_migrate idle refused: FAILED_PRECONDITION"), std::string::npos)
      << notes;
  EXPECT_NE(notes.find("t=120s: vm_start huge refused: RESOURCE_EXHAUSTED"), std::string::npos)
      << notes;
  const auto html = file_text(dir.path() / "report.html");
  const auto section = html.find("<h2>Refused actions</h2>");
  ASSERT_NE(section, std::string::npos);
  EXPECT_NE(html.find("<td>vm_migrate</td><td>idle</td><td>FAILED_PRECONDITION</td>", section),
            std::string::npos);
  EXPECT_NE(html.find("<h2>Notes (notes.txt)</h2>"), std::string::npos);
  EXPECT_NE(html.find("t=120s: vm_start huge refused"), std::string::npos);
}

// A VM down the whole run is down exactly as long as the run, not a step more.
TEST(downtime, of_a_vm_down_all_run_is_the_run_duration) {
  auto huge = small_vm("huge");
  huge.memory_mib = 131072; // no host holds it: its start is refused, it never runs
  for (const auto duration : {sim_duration{10min}, sim_duration{62s}}) {
    const auto r = run_scenario(two_hosts({small_vm("web"), huge}, duration), {});
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->placement.count("huge"), 0U);
    EXPECT_EQ(r->summary.downtime.at("huge"), duration);
  }
}

TEST(wall_time, of_the_run_is_measured_and_reported) {
  qx::test::temp_dir dir;
  run_options opts;
  opts.out_dir = dir.path();
  const auto r = run_scenario(two_hosts({small_vm("web")}), opts);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_GT(r->summary.wall_seconds, 0.0);
  const auto html = file_text(dir.path() / "report.html");
  ASSERT_NE(html.find("<th>Wall seconds</th>"), std::string::npos);
  EXPECT_EQ(html.find("<th>Wall seconds</th><td>0.000</td>"), std::string::npos);
}

// The hosts' series: a host off is not active; a host whose VMs want more CPU than it has is
// overloaded, and what they want beyond its CPUs is unmet demand.
TEST(host_series, count_active_and_overloaded_hosts_and_unmet_cpu_demand) {
  auto busy = small_vm("busy");
  busy.host = "h1";
  busy.vcpus = 32; // on 16 CPUs (4x overcommit allows it), all of it wanted
  busy.memory_mib = 4096;
  busy.workload.cpu = 1.0;
  auto s = two_hosts({busy});
  s.timeline.push_back(step(5min, "host_power_off", "h2"));
  const auto r = run_scenario(s, {});
  ASSERT_TRUE(r) << r.error().to_string();
  const auto& first = r->samples.at(2); // at 2m: both on, busy running on h1
  EXPECT_EQ(first.hosts_active, 2U);
  EXPECT_EQ(first.hosts_overloaded, 1U);
  EXPECT_DOUBLE_EQ(first.unmet_cpu, 16.0);
  const auto& last = r->samples.back();
  EXPECT_EQ(last.hosts_active, 1U) << "h2 is off";
  EXPECT_EQ(last.host_load.count("h2"), 0U);
}

} // namespace
