// The security group decider, table-driven: every command in every state, rule validation on
// its boundaries naming the field, deterministic rule ids, and the events through the log codec.
#include <qx/actors/domain/security_group.hpp>

#include "decider_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>

using namespace qx;
using namespace qx::domain;
namespace sg = qx::domain::security_group;
namespace v1 = qx::events::v1;

namespace {

using namespace qx::test::decider_table;

v1::SecurityRule rule(std::string proto, unsigned from, unsigned to, std::string cidr,
                      std::string direction = "inbound") {
  v1::SecurityRule r;
  r.set_direction(std::move(direction));
  r.set_protocol(std::move(proto));
  r.set_port_from(from);
  r.set_port_to(to);
  r.set_cidr(std::move(cidr));
  return r;
}
v1::SecurityRule https() {
  return rule("tcp", 443, 443, "0.0.0.0/0");
}

std::optional<sg::state> run(sg::state s, const sg::command& c, error* err = nullptr) {
  auto d = sg::decide(s, c);
  if (!d) {
    if (err != nullptr)
      *err = d.error();
    return std::nullopt;
  }
  for (const auto& ev : *d)
    sg::evolve(s, ev);
  return s;
}

sg::state must(std::optional<sg::state> s) {
  EXPECT_TRUE(s.has_value());
  return s ? *s : sg::initial("sg1");
}

// "" not created; "empty" created without rules; "ruled" with rule-1, inbound https from
// anywhere; "deleted".
sg::state in_state(const std::string& name) {
  auto s = sg::initial("sg1");
  if (name.empty())
    return s;
  s = must(run(s, sg::create{"web", "front ends"}));
  if (name == "deleted")
    return must(run(s, sg::remove{}));
  if (name == "ruled")
    s = must(run(s, sg::add_rule{https()}));
  return s;
}

const char* all_states[] = {"", "empty", "ruled", "deleted"};

std::string describe(const sg::state& s) {
  if (!s.created())
    return "";
  if (s.deleted())
    return "deleted";
  std::string out = "rules=";
  for (const auto& r : s.rules())
    out += r.rule_id() + ":" + r.direction() + "/" + r.protocol() + "/" +
           std::to_string(r.port_from()) + "-" + std::to_string(r.port_to()) + "/" + r.cidr() + ",";
  return out;
}

void check(const sg::state& before, const sg::command& c, const expect& want) {
  qx::test::decider_table::check<actors::security_group_aggregate>(before, c, want, describe);
}

struct row {
  sg::command cmd;
  std::map<std::string, expect> by_state; // every state of all_states
};

std::vector<row> table() {
  const auto https_1 = std::string{"rule-1:inbound/tcp/443-443/0.0.0.0/0,"};
  const auto bad_port = refusal(errc::invalid_argument, "", "rule.port_from");
  return {
      {sg::create{"web", ""},
       {{"", ok("rules=")}, {"empty", exists}, {"ruled", exists}, {"deleted", exists}}},
      {sg::add_rule{https()},
       {{"", missing},
        {"empty", ok("rules=" + https_1)},
        {"ruled", refused_for("RULE_EXISTS")},
        {"deleted", gone}}},
      // The same rule but outbound is a different rule.
      {sg::add_rule{rule("tcp", 443, 443, "0.0.0.0/0", "outbound")},
       {{"", missing},
        {"empty", ok("rules=rule-1:outbound/tcp/443-443/0.0.0.0/0,")},
        {"ruled", ok("rules=" + https_1 + "rule-2:outbound/tcp/443-443/0.0.0.0/0,")},
        {"deleted", gone}}},
      {sg::add_rule{rule("icmp", 0, 0, "10.0.0.0/8")},
       {{"", missing},
        {"empty", ok("rules=rule-1:inbound/icmp/0-0/10.0.0.0/8,")},
        {"ruled", ok("rules=" + https_1 + "rule-2:inbound/icmp/0-0/10.0.0.0/8,")},
        {"deleted", gone}}},
      {sg::add_rule{rule("tcp", 0, 443, "0.0.0.0/0")},
       {{"", missing}, {"empty", bad_port}, {"ruled", bad_port}, {"deleted", gone}}},
      {sg::remove_rule{"rule-1"},
       {{"", missing},
        {"empty", refusal(errc::not_found, "", "rule_id")},
        {"ruled", ok("rules=")},
        {"deleted", gone}}},
      {sg::remove_rule{"rule-2"},
       {{"", missing},
        {"empty", refusal(errc::not_found, "", "rule_id")},
        {"ruled", refusal(errc::not_found, "", "rule_id")},
        {"deleted", gone}}},
      {sg::remove{},
       {{"", missing}, {"empty", ok("deleted")}, {"ruled", ok("deleted")}, {"deleted", gone}}},
  };
}

TEST(security_group_decider, every_command_in_every_state) {
  for (const auto& r : table()) {
    ASSERT_EQ(r.by_state.size(), std::size(all_states)) << sg::name_of(r.cmd);
    for (const char* from : all_states) {
      SCOPED_TRACE(std::string{sg::name_of(r.cmd)} + " from '" + from + "'");
      ASSERT_EQ(r.by_state.count(from), 1U);
      check(in_state(from), r.cmd, r.by_state.at(from));
    }
  }
}

TEST(security_group_decider, create_is_validated_naming_the_field) {
  struct bad {
    sg::create cmd;
    std::string field;
  };
  const std::vector<bad> cases = {
      {{"", ""}, "name"},
      {{std::string(81, 'n'), ""}, "name"},
      {{"a\tb", ""}, "name"},
      {{"web", std::string(1025, 'd')}, "description"},
  };
  for (const auto& b : cases) {
    error err;
    EXPECT_FALSE(run(sg::initial("sg1"), b.cmd, &err)) << b.field;
    EXPECT_EQ(err.code, errc::invalid_argument) << err.to_string();
    EXPECT_EQ(detail_of(err, "field"), b.field) << err.to_string();
  }
  EXPECT_TRUE(run(sg::initial("sg1"), sg::create{std::string(80, 'n'), std::string(1024, 'd')}));
}

TEST(security_group_decider, rules_are_validated_on_their_boundaries_naming_the_field) {
  const auto s = in_state("empty");
  const std::vector<v1::SecurityRule> good = {
      rule("tcp", 1, 1, "0.0.0.0/0"),
      rule("tcp", 65535, 65535, "10.0.0.0/8"),
      rule("udp", 1, 65535, "192.168.1.7/32", "outbound"),
      rule("icmp", 0, 0, "0.0.0.0/0", "outbound"),
      rule("any", 0, 0, "172.16.0.0/12"),
      rule("any", 0, 0, "128.0.0.0/1"),
  };
  for (const auto& r : good) {
    error err;
    EXPECT_TRUE(run(s, sg::add_rule{r}, &err)) << r.ShortDebugString() << err.to_string();
  }
  struct bad {
    v1::SecurityRule r;
    std::string field;
  };
  const std::vector<bad> cases = {
      {rule("tcp", 1, 2, "0.0.0.0/0", "sideways"), "rule.direction"},
      {rule("tcp", 1, 2, "0.0.0.0/0", ""), "rule.direction"},
      {rule("tcp", 1, 2, "0.0.0.0/0", "Inbound"), "rule.direction"},
      {rule("sctp", 1, 2, "0.0.0.0/0"), "rule.protocol"},
      {rule("", 1, 2, "0.0.0.0/0"), "rule.protocol"},
      {rule("TCP", 1, 2, "0.0.0.0/0"), "rule.protocol"},
      {rule("tcp", 0, 2, "0.0.0.0/0"), "rule.port_from"},
      {rule("tcp", 0, 0, "0.0.0.0/0"), "rule.port_from"},
      {rule("udp", 65536, 65536, "0.0.0.0/0"), "rule.port_from"},
      {rule("udp", 10, 9, "0.0.0.0/0"), "rule.port_to"},
      {rule("tcp", 1, 65536, "0.0.0.0/0"), "rule.port_to"},
      {rule("tcp", 1, 0, "0.0.0.0/0"), "rule.port_to"},
      {rule("icmp", 1, 1, "0.0.0.0/0"), "rule.port_from"},
      {rule("icmp", 0, 8, "0.0.0.0/0"), "rule.port_to"},
      {rule("any", 22, 0, "0.0.0.0/0"), "rule.port_from"},
      {rule("any", 0, 65535, "0.0.0.0/0"), "rule.port_to"},
      {rule("any", 0, 0, ""), "rule.cidr"},
      {rule("any", 0, 0, "10.0.0.0/33"), "rule.cidr"},
      {rule("any", 0, 0, "010.0.0.0/8"), "rule.cidr"},
      {rule("any", 0, 0, "10.0.0.1/24"), "rule.cidr"},
      {rule("any", 0, 0, "1.2.3/24"), "rule.cidr"},
      {rule("any", 0, 0, "a.b.c.d/8"), "rule.cidr"},
      {rule("any", 0, 0, "10.0.0.1"), "rule.cidr"},
      {rule("any", 0, 0, "0.0.0.1/0"), "rule.cidr"},
      {rule("tcp", 22, 22, "256.0.0.0/8"), "rule.cidr"},
  };
  for (const auto& b : cases) {
    error err;
    EXPECT_FALSE(run(s, sg::add_rule{b.r}, &err)) << b.r.ShortDebugString();
    EXPECT_EQ(err.code, errc::invalid_argument) << err.to_string();
    EXPECT_EQ(detail_of(err, "field"), b.field) << b.r.ShortDebugString() << " " << err.to_string();
  }
}

TEST(security_group_decider, rule_ids_follow_the_highest_present) {
  auto s = in_state("empty");
  s = must(run(s, sg::add_rule{rule("tcp", 22, 22, "10.0.0.0/8")}));
  s = must(run(s, sg::add_rule{rule("tcp", 80, 80, "0.0.0.0/0")}));
  s = must(run(s, sg::add_rule{rule("tcp", 443, 443, "0.0.0.0/0")}));
  EXPECT_EQ(s.rules(2).rule_id(), "rule-3");
  s = must(run(s, sg::remove_rule{"rule-1"}));
  s = must(run(s, sg::add_rule{rule("udp", 53, 53, "10.0.0.0/8")}));
  EXPECT_EQ(s.rules(2).rule_id(), "rule-4"); // a removed lower id is not reused
  // A rule_id given with the command is not the caller's to choose.
  auto given = rule("udp", 123, 123, "10.0.0.0/8");
  given.set_rule_id("rule-99");
  s = must(run(s, sg::add_rule{given}));
  EXPECT_EQ(s.rules(3).rule_id(), "rule-5");
  // The same decision twice gives the same id: the aggregate is deterministic.
  auto a = sg::decide(s, sg::add_rule{rule("tcp", 8080, 8080, "10.0.0.0/8")});
  auto b = sg::decide(s, sg::add_rule{rule("tcp", 8080, 8080, "10.0.0.0/8")});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(std::get<v1::SecurityRuleAdded>(a->front()).rule().rule_id(), "rule-6");
  EXPECT_EQ(std::get<v1::SecurityRuleAdded>(b->front()).rule().rule_id(), "rule-6");

  error err;
  EXPECT_FALSE(run(s, sg::add_rule{rule("tcp", 80, 80, "0.0.0.0/0")}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "RULE_EXISTS");
  EXPECT_EQ(detail_of(err, "rule_id"), "rule-2");
  EXPECT_FALSE(run(s, sg::remove_rule{"rule-1"}, &err));
  EXPECT_EQ(err.code, errc::not_found);
  EXPECT_EQ(detail_of(err, "field"), "rule_id");
}

TEST(security_group_decider, a_group_holds_at_most_max_rules) {
  auto s = in_state("empty");
  for (int i = 0; i < sg::max_rules; ++i)
    sg::evolve(s, std::get<v1::SecurityRuleAdded>(
                      sg::decide(s, sg::add_rule{rule("tcp", static_cast<unsigned>(i + 1),
                                                      static_cast<unsigned>(i + 1), "0.0.0.0/0")})
                          ->front()));
  ASSERT_EQ(s.rules_size(), sg::max_rules);
  EXPECT_EQ(s.rules(sg::max_rules - 1).rule_id(), "rule-" + std::to_string(sg::max_rules));
  error err;
  EXPECT_FALSE(run(s, sg::add_rule{rule("udp", 1, 1, "0.0.0.0/0")}, &err));
  EXPECT_EQ(err.code, errc::resource_exhausted);
  EXPECT_EQ(detail_of(err, "reason"), "TOO_MANY_RULES");
  s = must(run(s, sg::remove_rule{"rule-7"}));
  EXPECT_TRUE(run(s, sg::add_rule{rule("udp", 1, 1, "0.0.0.0/0")}));
}

TEST(security_group_decider, events_round_trip_through_the_log_codec) {
  auto d = sg::decide(in_state("ruled"), sg::add_rule{rule("udp", 53, 53, "10.0.0.0/8")});
  ASSERT_TRUE(d);
  auto encoded = encode_event(d->front());
  EXPECT_EQ(encoded.type, "qx.events.v1.SecurityRuleAdded");
  auto decoded = decode_event<sg::event>(encoded.type, encoded.payload);
  ASSERT_TRUE(decoded);
  const auto& added = std::get<v1::SecurityRuleAdded>(*decoded);
  EXPECT_EQ(added.id(), "sg1");
  EXPECT_EQ(added.rule().rule_id(), "rule-2");
  EXPECT_EQ(added.rule().protocol(), "udp");
  EXPECT_EQ(added.rule().cidr(), "10.0.0.0/8");

  auto removed = sg::decide(in_state("ruled"), sg::remove_rule{"rule-1"});
  ASSERT_TRUE(removed);
  auto rec = encode_event(removed->front());
  EXPECT_EQ(rec.type, "qx.events.v1.SecurityRuleRemoved");
  auto back = decode_event<sg::event>(rec.type, rec.payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<v1::SecurityRuleRemoved>(*back).rule_id(), "rule-1");

  EXPECT_FALSE(decode_event<sg::event>("qx.events.v1.NetworkCreated", ""));
  EXPECT_FALSE(decode_event<sg::event>("qx.events.v1.SecurityRuleAdded", "\xff\xff\xff"));
}

TEST(security_group_decider, command_names) {
  EXPECT_EQ(sg::name_of(sg::create{}), "create");
  EXPECT_EQ(sg::name_of(sg::add_rule{}), "add_rule");
  EXPECT_EQ(sg::name_of(sg::remove_rule{}), "remove_rule");
  EXPECT_EQ(sg::name_of(sg::remove{}), "remove");
  EXPECT_EQ(std::string{sg::stream_prefix}, "sg-");
}

} // namespace
