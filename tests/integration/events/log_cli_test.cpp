// `qvdc log verify|dump|stats|demo` as an auditor runs them: real process, real exit codes.
#include "shell_command.hpp"
#include "tamper.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace {

qx::test::shell_result qvdc(const std::string& args) {
  return qx::test::run_shell(std::string{QX_QVDC} + " " + args + " 2>/dev/null");
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(nlohmann::json::parse(line));
  return out;
}

class log_cli : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = qvdc("log demo --data-dir " + db_);
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  qx::test::temp_dir dir_;
  std::string db_ = dir_.sub("db");
};

TEST_F(log_cli, verify_of_a_whole_log_exits_zero_and_names_the_head) {
  auto r = qvdc("log verify --data-dir " + db_);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["records"].get<int>(), 16);
  EXPECT_EQ(j["head_hash"].get<std::string>().size(), 64U);
}

TEST_F(log_cli, demo_is_idempotent) {
  auto again = qvdc("log demo --data-dir " + db_);
  ASSERT_EQ(again.exit_code, 0);
  auto r = qvdc("log verify --data-dir " + db_);
  EXPECT_EQ(nlohmann::json::parse(r.out)["records"].get<int>(), 16);
}

TEST_F(log_cli, verify_of_a_tampered_log_exits_one_and_names_the_position) {
  qx::test::flip_byte(db_, 7, 12);
  auto r = qvdc("log verify --data-dir " + db_);
  ASSERT_EQ(r.exit_code, 1) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["ok"].get<bool>());
  EXPECT_EQ(j["break_position"].get<int>(), 7);
  EXPECT_FALSE(j["problem"].get<std::string>().empty());
}

TEST_F(log_cli, dump_prints_json_lines_with_decoded_payloads_and_filters) {
  auto all = qvdc("log dump --data-dir " + db_);
  ASSERT_EQ(all.exit_code, 0);
  auto lines = json_lines(all.out);
  ASSERT_EQ(lines.size(), 16U);
  EXPECT_EQ(lines[0]["position"].get<int>(), 1);
  EXPECT_EQ(lines[0]["type"].get<std::string>(), "qx.events.v1.ClusterCreated");
  EXPECT_EQ(lines[0]["payload"]["name"].get<std::string>(), "prod");
  EXPECT_EQ(lines[0]["actor"].get<std::string>(), "user:admin");

  auto range = json_lines(qvdc("log dump --from 3 --to 5 --data-dir " + db_).out);
  ASSERT_EQ(range.size(), 3U);
  EXPECT_EQ(range.front()["position"].get<int>(), 3);
  EXPECT_EQ(range.back()["position"].get<int>(), 5);

  auto stream = json_lines(qvdc("log dump --stream vm-3 --data-dir " + db_).out);
  ASSERT_EQ(stream.size(), 2U);
  for (const auto& ev : stream) {
    EXPECT_EQ(ev["stream"].get<std::string>(), "vm-3");
  }
  EXPECT_EQ(stream[1]["payload"]["to"].get<std::string>(), "running");
}

TEST_F(log_cli, stats_counts_records_streams_and_types) {
  auto r = qvdc("log stats --data-dir " + db_);
  ASSERT_EQ(r.exit_code, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["records"].get<int>(), 16);
  EXPECT_EQ(j["streams"].get<int>(), 9);
  EXPECT_EQ(j["by_type"]["qx.events.v1.VmCreated"].get<int>(), 4);
  EXPECT_GT(j["disk_bytes"].get<long>(), 0);
}

TEST_F(log_cli, bad_arguments_and_missing_logs_exit_two_and_change_nothing) {
  EXPECT_EQ(qvdc("log verify --data-dir " + dir_.sub("missing")).exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("missing")));
  EXPECT_EQ(qvdc("log dump --from 0 --data-dir " + db_).exit_code, 2);
  EXPECT_EQ(qvdc("log dump --from notanumber --data-dir " + db_).exit_code, 2);
  EXPECT_EQ(qvdc("log frobnicate").exit_code, 2);
  EXPECT_EQ(qvdc("log").exit_code, 2);
  EXPECT_EQ(qvdc("log dump --stream 'vm;1' --data-dir " + db_).exit_code, 2);
  // A path-like stream id is only a key: it names no file and matches nothing here.
  auto pathlike = qvdc("log dump --stream '../../etc' --data-dir " + db_);
  EXPECT_EQ(pathlike.exit_code, 0);
  EXPECT_TRUE(pathlike.out.empty());
  EXPECT_EQ(qvdc("log verify --data-dir " + db_).exit_code, 0);
}

} // namespace
