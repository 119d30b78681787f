#include "json_codec.hpp"

#include <qx/events/v1/network.pb.h>
#include <qx/events/v1/vm.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <gtest/gtest.h>

namespace qx::api {
namespace {

std::string field_of(const status& s) {
  return s ? std::string{} : s.error().details.at("field");
}

TEST(json_codec, renders_camel_case_with_64_bit_integers_as_numbers) {
  snapshots::v1::VmState s;
  s.set_id("a");
  s.mutable_spec()->set_memory_mib(std::uint64_t{1} << 40U);
  (*s.mutable_spec()->mutable_labels())["tier"] = "web";
  const auto j = to_json(s);
  EXPECT_EQ(j["spec"]["memoryMib"].get<std::uint64_t>(), std::uint64_t{1} << 40U);
  EXPECT_TRUE(j["spec"]["memoryMib"].is_number());
  EXPECT_EQ(j["spec"]["labels"]["tier"], "web");
  EXPECT_EQ(j["powerState"], ""); // every field is present
  EXPECT_TRUE(j["snapshots"].is_array());
}

TEST(json_codec, skips_named_fields) {
  snapshots::v1::ClusterState s;
  constexpr std::string_view skip[] = {"created", "deleted"};
  const auto j = to_json(s, skip);
  EXPECT_FALSE(j.contains("created"));
  EXPECT_FALSE(j.contains("deleted"));
  EXPECT_TRUE(j.contains("nodeIds"));
}

TEST(json_codec, reads_camel_and_snake_names) {
  events::v1::VmSpec spec;
  ASSERT_TRUE(
      from_json(json{{"memoryMib", 4}, {"vcpus", 2}, {"network_ids", {"n"}}}, spec, "spec"));
  EXPECT_EQ(spec.memory_mib(), 4U);
  EXPECT_EQ(spec.network_ids(0), "n");
}

TEST(json_codec, refuses_wrong_types_naming_the_field_path) {
  events::v1::VmSpec spec;
  EXPECT_EQ(field_of(from_json(json{{"vcpus", "2"}}, spec, "spec")), "spec.vcpus");
  EXPECT_EQ(field_of(from_json(json{{"vcpus", -1}}, spec, "spec")), "spec.vcpus");
  EXPECT_EQ(field_of(from_json(json{{"vcpus", 1.5}}, spec, "spec")), "spec.vcpus");
  EXPECT_EQ(field_of(from_json(json{{"vcpus", 4294967296ULL}}, spec, "spec")), "spec.vcpus");
  EXPECT_EQ(field_of(from_json(json{{"memoryMib", -5}}, spec, "spec")), "spec.memoryMib");
  EXPECT_EQ(field_of(from_json(json{{"haRestartPriority", 3000000000ULL}}, spec, "spec")),
            "spec.haRestartPriority");
  EXPECT_EQ(field_of(from_json(json{{"volumeIds", "a"}}, spec, "spec")), "spec.volumeIds");
  EXPECT_EQ(field_of(from_json(json{{"volumeIds", {"a", 1}}}, spec, "spec")), "spec.volumeIds[1]");
  EXPECT_EQ(field_of(from_json(json{{"labels", {{"k", 1}}}}, spec, "spec")), "spec.labels.k");
  EXPECT_EQ(field_of(from_json(json{{"bogus", 1}}, spec, "spec")), "spec.bogus");
  EXPECT_EQ(field_of(from_json(json::array(), spec, "spec")), "spec");
  EXPECT_EQ(field_of(from_json(json::array(), spec, "")), "body");
}

TEST(json_codec, null_means_absent) {
  events::v1::VmSpec spec;
  ASSERT_TRUE(from_json(json{{"name", nullptr}}, spec, ""));
  EXPECT_EQ(spec.name(), "");
}

TEST(json_codec, parse_body_refuses_what_is_not_one_json_object) {
  EXPECT_FALSE(parse_body("{").has_value());
  EXPECT_FALSE(parse_body("[1]").has_value());
  EXPECT_FALSE(parse_body("\"x\"").has_value());
  EXPECT_FALSE(parse_body("{} {}").has_value());
  EXPECT_FALSE(parse_body(std::string(100, '[') + std::string(100, ']')).has_value());
  const auto deep = parse_body(std::string(40, '[') + std::string(40, ']'));
  ASSERT_FALSE(deep.has_value());
  EXPECT_EQ(deep.error().details.at("reason"), "MALFORMED_JSON");
  // Brackets inside strings do not count as nesting.
  EXPECT_TRUE(
      parse_body(R"({"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})").has_value());
  EXPECT_FALSE(parse_body("{\"a\":\"\xff\xfe\"}").has_value()); // not UTF-8
}

TEST(json_codec, typed_reads_name_the_field) {
  const json j{{"s", 1}, {"n", "x"}, {"b", "true"}, {"d", "1"}, {"long", std::string(10, 'x')}};
  std::string s;
  std::uint64_t n = 0;
  std::uint32_t n32 = 0;
  bool b = false;
  double d = 0;
  EXPECT_EQ(field_of(read_string(j, "s", s)), "s");
  EXPECT_EQ(field_of(read_string(j, "missing", s, true)), "missing");
  EXPECT_EQ(field_of(read_string(j, "long", s, false, 5)), "long");
  EXPECT_EQ(field_of(read_u64(j, "n", n)), "n");
  EXPECT_EQ(field_of(read_u32(j, "n", n32)), "n");
  EXPECT_EQ(field_of(read_bool(j, "b", b)), "b");
  EXPECT_EQ(field_of(read_double(j, "d", d)), "d");
  EXPECT_TRUE(read_u64(j, "absent", n));
  EXPECT_EQ(field_of(only_fields(j, {"s", "n"})), "b");
}

} // namespace
} // namespace qx::api
