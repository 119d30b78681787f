// The scenario library (sim/scenarios): each scenario is played twice with the same seed on the
// real actors. Both runs must write the same log byte for byte (same chain hash), break no
// invariant, and end as the scenario's `expect` section promises.
#include "qx/sim/run.hpp"
#include "qx/sim/scenario.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace qx::sim;

fs::path library_dir() {
  return fs::path{QX_SOURCE_DIR} / "sim" / "scenarios";
}

std::vector<std::string> library() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(library_dir()))
    if (e.path().extension() == ".yaml")
      names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class scenario_library : public ::testing::TestWithParam<std::string> {};

TEST_P(scenario_library, replays_byte_for_byte_breaks_no_invariant_and_ends_as_promised) {
  const auto s = load_scenario(library_dir() / GetParam());
  ASSERT_TRUE(s) << s.error().to_string();
  const auto first = run_scenario(*s, {});
  const auto second = run_scenario(*s, {});
  ASSERT_TRUE(first) << first.error().to_string();
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(first->summary.log_hash, second->summary.log_hash);
  EXPECT_EQ(first->summary.events, second->summary.events);
  for (const auto& v : first->summary.violations)
    ADD_FAILURE() << "invariant violated: " << v;

  for (const auto& u : unmet_expectations(*s, *first))
    ADD_FAILURE() << "unmet: " << u;
}

std::string test_name(const ::testing::TestParamInfo<std::string>& param) {
  auto name = param.param.substr(0, param.param.size() - 5);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(sim, scenario_library, ::testing::ValuesIn(library()), test_name);

TEST(scenario_library, holds_the_scenarios_the_issue_names) {
  const auto names = library();
  for (const auto* wanted :
       {"host-failure-restart-by-priority.yaml", "two-failures-beyond-admission.yaml",
        "partition-shorter-than-lease.yaml", "partition-longer-than-lease.yaml",
        "flapping-host.yaml", "maintenance-evacuation.yaml", "anti-affinity-no-colocation.yaml",
        "drs-load-spike.yaml", "drs-manual-recommendations.yaml",
        // Placement, DRS and HA behaving right (one scenario per behaviour).
        "maintenance-whatever-the-automation.yaml", "maintenance-of-a-down-host-is-refused.yaml",
        "maintenance-survives-a-power-cycle.yaml", "shutdown-freeze-keeps-vms-down.yaml",
        "shutdown-migrate-enters-maintenance-first.yaml",
        "strict-rules-refuse-operator-actions.yaml", "should-run-fail-back.yaml"})
    EXPECT_TRUE(std::find(names.begin(), names.end(), wanted) != names.end()) << wanted;
}

TEST(sim_run, writes_the_log_metrics_and_report_it_summarises) {
  const auto s = load_scenario(library_dir() / "host-failure-restart-by-priority.yaml");
  ASSERT_TRUE(s) << s.error().to_string();
  qx::test::temp_dir dir;
  run_options opts;
  opts.out_dir = dir.path() / "out";
  const auto r = run_scenario(*s, opts);
  ASSERT_TRUE(r) << r.error().to_string();
  std::ifstream log{opts.out_dir / "events.jsonl"};
  std::string line;
  std::uint64_t lines = 0;
  while (std::getline(log, line)) {
    ++lines;
    EXPECT_EQ(line.rfind("{\"position\":" + std::to_string(lines) + ",", 0), 0U) << line;
  }
  EXPECT_EQ(lines, r->summary.events);
  // One metrics row per minute of the hour, plus the header and the start.
  std::ifstream csv{opts.out_dir / "metrics.csv"};
  std::uint64_t rows = 0;
  while (std::getline(csv, line))
    ++rows;
  EXPECT_EQ(rows, 1U + 61U);
  EXPECT_GT(fs::file_size(opts.out_dir / "report.html"), 1000U);
}

// HA's decisions reach the result and the report with their reasons: h1 failed, and db1 (the
// highest priority) was restarted on h3 before web1.
TEST(sim_run, lists_the_drs_and_ha_decisions_with_their_reasons) {
  const auto s = load_scenario(library_dir() / "host-failure-restart-by-priority.yaml");
  ASSERT_TRUE(s) << s.error().to_string();
  qx::test::temp_dir dir;
  run_options opts;
  opts.out_dir = dir.path();
  const auto r = run_scenario(*s, opts);
  ASSERT_TRUE(r) << r.error().to_string();
  std::vector<std::string> restarts;
  bool failed = false;
  for (const auto& d : r->summary.decisions) {
    if (d.kind == "HaNodeFailed" && d.vm == "h1" && d.reason == "HEARTBEAT_LOST")
      failed = true;
    if (d.kind == "HaRestartPlanned") {
      EXPECT_EQ(d.reason, "NODE_FAILED");
      EXPECT_GT(d.at, std::chrono::minutes{10}) << "h1 fails at 10m";
      restarts.push_back(d.vm + " " + d.detail);
    }
  }
  EXPECT_TRUE(failed);
  ASSERT_EQ(restarts.size(), 2U);
  EXPECT_EQ(restarts[0].rfind("db1 h1 -> h3", 0), 0U) << restarts[0];
  EXPECT_EQ(restarts[1].rfind("web1 h1 -> ", 0), 0U) << restarts[1];
  std::ifstream in{opts.out_dir / "report.html"};
  const std::string html{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  const auto section = html.find("<h2>DRS and HA decisions</h2>");
  ASSERT_NE(section, std::string::npos);
  EXPECT_NE(html.find("<td>HaRestartPlanned</td><td>db1</td><td>h1 -&gt; h3", section),
            std::string::npos);
}

TEST(sim_run, without_self_fencing_a_partition_runs_a_vm_twice_and_the_check_says_so) {
  const auto s = load_scenario(library_dir() / "partition-longer-than-lease.yaml");
  ASSERT_TRUE(s) << s.error().to_string();
  run_options opts;
  opts.self_fencing = false;
  const auto r = run_scenario(*s, opts);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_FALSE(r->summary.violations.empty());
  EXPECT_NE(r->summary.violations.front().find("VM v1 runs twice: on h1, h2"), std::string::npos)
      << r->summary.violations.front();
}

TEST(sim_run, an_output_folder_that_cannot_be_created_is_an_error) {
  const auto s = load_scenario(library_dir() / "partition-shorter-than-lease.yaml");
  ASSERT_TRUE(s) << s.error().to_string();
  qx::test::temp_dir dir;
  { std::ofstream blocker{dir.path() / "file"}; }
  run_options opts;
  opts.out_dir = dir.path() / "file" / "out";
  const auto r = run_scenario(*s, opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().details.at("field"), "out");
}

} // namespace
