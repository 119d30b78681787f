// The structured logger's lines are one valid JSON object each, whatever the text carries.
#include <qx/base/log.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace qx {
namespace {

using nlohmann::json;

TEST(log_line, carries_level_component_message_and_typed_fields) {
  const auto line = log::format(log::level::warn, "agent-registry", "agent command failed",
                                {{"node", std::string{"n1"}},
                                 {"epoch", std::uint64_t{1796592813588}},
                                 {"delta", std::int64_t{-3}},
                                 {"ratio", 0.5},
                                 {"connected", true}});
  const auto j = json::parse(line);
  EXPECT_EQ(j.at("level"), "warn");
  EXPECT_EQ(j.at("component"), "agent-registry");
  EXPECT_EQ(j.at("msg"), "agent command failed");
  EXPECT_EQ(j.at("node"), "n1");
  EXPECT_EQ(j.at("epoch").get<std::uint64_t>(), 1796592813588ULL);
  EXPECT_EQ(j.at("delta").get<std::int64_t>(), -3);
  EXPECT_DOUBLE_EQ(j.at("ratio").get<double>(), 0.5);
  EXPECT_EQ(j.at("connected"), true);
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
}

TEST(log_line, hostile_text_stays_one_valid_json_line) {
  const std::string hostile = std::string{"x\xff\"\\\n\r\t"} + '\x01' + "end";
  const auto line = log::format(log::level::error, "c\"1", hostile, {{"k\n", hostile}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto j = json::parse(line); // throws (fails the test) on invalid JSON or UTF-8
  EXPECT_EQ(j.at("component"), "c\"1");
  EXPECT_EQ(j.at("msg"), "x\\xFF\"\\\n\r\t\x01"
                         "end");
  EXPECT_EQ(j.at("k\n"), j.at("msg"));
}

} // namespace
} // namespace qx
