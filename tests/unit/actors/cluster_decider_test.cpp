// The cluster decider, table-driven: every command in every state, HA and DRS validation
// naming the field at its boundaries, the defaults, and the events through the log codec.
#include <qx/actors/domain/cluster.hpp>

#include "decider_table.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

using namespace qx;
using namespace qx::domain;
namespace v1 = qx::events::v1;

namespace {

using namespace qx::test::decider_table;

v1::HaSettings tolerate_one() {
  v1::HaSettings ha;
  ha.set_enabled(true);
  ha.set_admission_policy("host_failures");
  ha.set_host_failures_to_tolerate(1);
  ha.set_default_restart_priority(3);
  return ha;
}

v1::DrsSettings fully_automated() {
  v1::DrsSettings drs;
  drs.set_enabled(true);
  drs.set_automation("fully_automated");
  drs.set_migration_threshold(3);
  return drs;
}

cluster::create prod() {
  return {"prod", "main site", tolerate_one(), fully_automated()};
}

std::optional<cluster::state> run(cluster::state s, const cluster::command& c,
                                  error* err = nullptr) {
  auto d = cluster::decide(s, c);
  if (!d) {
    if (err != nullptr)
      *err = d.error();
    return std::nullopt;
  }
  for (const auto& ev : *d)
    cluster::evolve(s, ev);
  return s;
}

cluster::state must(std::optional<cluster::state> s) {
  EXPECT_TRUE(s.has_value());
  return s ? *s : cluster::initial("c1");
}

// "" not created; "empty" created from prod(), no members; "member" holds n1; "deleted".
cluster::state in_state(const std::string& name) {
  auto s = cluster::initial("c1");
  if (name.empty())
    return s;
  s = must(run(s, prod()));
  if (name == "member")
    s = must(run(s, cluster::add_node{"n1"}));
  if (name == "deleted")
    s = must(run(s, cluster::remove{}));
  return s;
}

const char* all_states[] = {"", "empty", "member", "deleted"};

// "<name> ha=<policy>/<failures> drs=<automation>/<threshold> nodes=<id>,..."
std::string describe(const cluster::state& s) {
  if (!s.created())
    return "";
  if (s.deleted())
    return "deleted";
  std::string out = s.name() + " ha=" + s.ha().admission_policy() + "/" +
                    std::to_string(s.ha().host_failures_to_tolerate()) +
                    " drs=" + s.drs().automation() + "/" +
                    std::to_string(s.drs().migration_threshold()) + " nodes=";
  for (const auto& n : s.node_ids())
    out += n + ",";
  if (s.rules_size() > 0) {
    out += " rules=";
    for (const auto& r : s.rules())
      out += r.name() + ",";
  }
  return out;
}

v1::PlacementRule rule(const std::string& name, const std::string& kind,
                       std::vector<std::string> vms, std::vector<std::string> nodes = {}) {
  v1::PlacementRule r;
  r.set_name(name);
  r.set_kind(kind);
  for (const auto& vm : vms)
    r.add_vm_ids(vm);
  for (const auto& n : nodes)
    r.add_node_ids(n);
  return r;
}

void check(const cluster::state& before, const cluster::command& c, const expect& want) {
  qx::test::decider_table::check<actors::cluster_aggregate>(before, c, want, describe);
}

cluster::update rename(std::string name) {
  cluster::update u;
  u.name = std::move(name);
  return u;
}

cluster::update with_ha(v1::HaSettings ha) {
  cluster::update u;
  u.ha = std::move(ha);
  return u;
}

cluster::update with_drs(v1::DrsSettings drs) {
  cluster::update u;
  u.drs = std::move(drs);
  return u;
}

struct row {
  cluster::command cmd;
  std::map<std::string, expect> by_state; // every state of all_states
};

std::vector<row> table() {
  const auto malformed = [](const char* field) {
    return refusal(errc::invalid_argument, "", field);
  };
  const auto not_member = refused_for("NODE_NOT_IN_CLUSTER", "node_id");
  v1::HaSettings percentage;
  percentage.set_enabled(true);
  percentage.set_admission_policy("percentage");
  percentage.set_reserved_cpu_percent(25);
  percentage.set_reserved_memory_percent(30);
  v1::DrsSettings bad_drs;
  bad_drs.set_automation("auto");
  return {
      {prod(),
       {{"", ok("prod ha=host_failures/1 drs=fully_automated/3 nodes=")},
        {"empty", exists},
        {"member", exists},
        {"deleted", exists}}}, // ids are never reused
      {rename("staging"),
       {{"", missing},
        {"empty", ok("staging ha=host_failures/1 drs=fully_automated/3 nodes=")},
        {"member", ok("staging ha=host_failures/1 drs=fully_automated/3 nodes=n1,")},
        {"deleted", gone}}},
      {rename("prod"),
       {{"", missing}, {"empty", unchanged()}, {"member", unchanged()}, {"deleted", gone}}},
      {cluster::update{},
       {{"", missing}, {"empty", unchanged()}, {"member", unchanged()}, {"deleted", gone}}},
      {with_ha(percentage),
       {{"", missing},
        {"empty", ok("prod ha=percentage/0 drs=fully_automated/3 nodes=")},
        {"member", ok("prod ha=percentage/0 drs=fully_automated/3 nodes=n1,")},
        {"deleted", gone}}},
      {with_drs(v1::DrsSettings{}), // the defaults: manual, threshold 3
       {{"", missing},
        {"empty", ok("prod ha=host_failures/1 drs=manual/3 nodes=")},
        {"member", ok("prod ha=host_failures/1 drs=manual/3 nodes=n1,")},
        {"deleted", gone}}},
      {rename(""),
       {{"", missing},
        {"empty", malformed("name")},
        {"member", malformed("name")},
        {"deleted", gone}}},
      {with_drs(bad_drs),
       {{"", missing},
        {"empty", malformed("drs.automation")},
        {"member", malformed("drs.automation")},
        {"deleted", gone}}},
      {cluster::add_node{"n2"},
       {{"", missing},
        {"empty", ok("prod ha=host_failures/1 drs=fully_automated/3 nodes=n2,")},
        {"member", ok("prod ha=host_failures/1 drs=fully_automated/3 nodes=n1,n2,")},
        {"deleted", gone}}},
      {cluster::add_node{"n1"},
       {{"", missing},
        {"empty", ok("prod ha=host_failures/1 drs=fully_automated/3 nodes=n1,")},
        {"member", unchanged()},
        {"deleted", gone}}},
      {cluster::add_node{""},
       {{"", missing},
        {"empty", malformed("node_id")},
        {"member", malformed("node_id")},
        {"deleted", gone}}},
      {cluster::remove_node{"n1"},
       {{"", missing},
        {"empty", not_member},
        {"member", ok("prod ha=host_failures/1 drs=fully_automated/3 nodes=")},
        {"deleted", gone}}},
      {cluster::remove_node{"n2"},
       {{"", missing}, {"empty", not_member}, {"member", not_member}, {"deleted", gone}}},
      {cluster::remove_node{""},
       {{"", missing},
        {"empty", malformed("node_id")},
        {"member", malformed("node_id")},
        {"deleted", gone}}},
      {cluster::remove{},
       {{"", missing},
        {"empty", ok("deleted")},
        {"member", refused_for("CLUSTER_NOT_EMPTY")},
        {"deleted", gone}}},
      {cluster::set_rule{rule("apart", "keep_apart", {"a", "b"})},
       {{"", missing},
        {"empty", ok("prod ha=host_failures/1 drs=fully_automated/3 nodes= rules=apart,")},
        {"member", ok("prod ha=host_failures/1 drs=fully_automated/3 nodes=n1, rules=apart,")},
        {"deleted", gone}}},
      {cluster::set_rule{rule("on-n1", "must_run_on", {"a"}, {"n1"})},
       {{"", missing},
        {"empty", malformed("rule.node_ids[0]")}, // n1 is no member yet
        {"member", ok("prod ha=host_failures/1 drs=fully_automated/3 nodes=n1, rules=on-n1,")},
        {"deleted", gone}}},
      {cluster::remove_rule{"apart"},
       {{"", missing},
        {"empty", refusal(errc::not_found, "", "name")},
        {"member", refusal(errc::not_found, "", "name")},
        {"deleted", gone}}},
  };
}

TEST(cluster_decider, rules_are_checked_alone_and_against_each_other) {
  auto s = in_state("member");
  s = must(run(s, cluster::add_node{"n2"}));
  const auto field_of = [&](const v1::PlacementRule& r) {
    error err;
    if (run(s, cluster::set_rule{r}, &err))
      return std::string{"accepted"};
    return err.details.count("field") != 0 ? err.details.at("field") : err.message;
  };
  EXPECT_EQ(field_of(rule("", "keep_apart", {"a", "b"})), "rule.name");
  EXPECT_EQ(field_of(rule("r", "keep_near", {"a", "b"})), "rule.kind");
  EXPECT_EQ(field_of(rule("r", "keep_apart", {"a"})), "rule.vm_ids");
  EXPECT_EQ(field_of(rule("r", "keep_apart", {"a", "a"})), "rule.vm_ids[1]");
  EXPECT_EQ(field_of(rule("r", "keep_apart", {"a", "b"}, {"n1"})), "rule.node_ids");
  EXPECT_EQ(field_of(rule("r", "must_run_on", {"a"})), "rule.node_ids");
  EXPECT_EQ(field_of(rule("r", "must_run_on", {"a"}, {"n9"})), "rule.node_ids[0]");
  EXPECT_EQ(field_of(rule("r", "must_run_on", {"a"}, {"n1", "n1"})), "rule.node_ids[1]");
  auto ranked = rule("r", "should_run_on", {"a"}, {"n1"});
  (*ranked.mutable_priorities())["n1"] = 101;
  EXPECT_EQ(field_of(ranked), "rule.priorities");
  (*ranked.mutable_priorities())["n1"] = 100;
  EXPECT_EQ(field_of(ranked), "accepted");
  (*ranked.mutable_priorities())["n2"] = 5; // a node the rule does not name
  EXPECT_EQ(field_of(ranked), "rule.priorities");
  auto must_ranked = rule("r", "must_run_on", {"a"}, {"n1"});
  (*must_ranked.mutable_priorities())["n1"] = 5;
  EXPECT_EQ(field_of(must_ranked), "rule.priorities");
  EXPECT_EQ(field_of(rule("r", "must_not_run_on", {"a"}, {"n1", "n2"})), "rule.node_ids")
      << "a VM left no node of the cluster";

  // Contradictions name the other rule.
  s = must(run(s, cluster::set_rule{rule("together", "keep_together", {"a", "b", "c"})}));
  s = must(run(s, cluster::set_rule{rule("on-n1", "must_run_on", {"d"}, {"n1"})}));
  error err;
  EXPECT_FALSE(run(s, cluster::set_rule{rule("apart", "keep_apart", {"b", "c"})}, &err));
  EXPECT_EQ(err.details.at("reason"), "RULE_CONFLICT");
  EXPECT_EQ(err.details.at("conflicts_with"), "together");
  EXPECT_EQ(err.details.at("field"), "rule.vm_ids");
  EXPECT_TRUE(run(s, cluster::set_rule{rule("apart", "keep_apart", {"c", "x"})}))
      << "one VM in common is no contradiction";
  EXPECT_FALSE(run(s, cluster::set_rule{rule("not-n1", "must_not_run_on", {"d"}, {"n1"})}, &err));
  EXPECT_EQ(err.details.at("conflicts_with"), "on-n1");
  // Replacing a rule by its own name is checked without the old one; the same rule again
  // records nothing.
  EXPECT_TRUE(run(s, cluster::set_rule{rule("on-n1", "must_run_on", {"d"}, {"n2"})}));
  const auto again =
      cluster::decide(s, cluster::set_rule{rule("on-n1", "must_run_on", {"d"}, {"n1"})});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  s = must(run(s, cluster::remove_rule{"on-n1"}));
  EXPECT_EQ(describe(s),
            "prod ha=host_failures/1 drs=fully_automated/3 nodes=n1,n2, rules=together,");
}

TEST(cluster_decider, the_shutdown_policy_is_checked_and_defaults_to_failover) {
  auto s = in_state("empty");
  EXPECT_EQ(s.ha().shutdown_policy(), "failover");
  auto ha = tolerate_one();
  ha.set_shutdown_policy("freeze");
  EXPECT_EQ(must(run(s, with_ha(ha))).ha().shutdown_policy(), "freeze");
  ha.set_shutdown_policy("reboot");
  error err;
  EXPECT_FALSE(run(s, with_ha(ha), &err));
  EXPECT_EQ(err.details.at("field"), "ha.shutdown_policy");
}

TEST(cluster_decider, every_command_in_every_state) {
  std::set<std::size_t> covered;
  for (const auto& r : table()) {
    covered.insert(r.cmd.index());
    ASSERT_EQ(r.by_state.size(), std::size(all_states)) << cluster::name_of(r.cmd);
    for (const char* from : all_states) {
      SCOPED_TRACE(std::string{cluster::name_of(r.cmd)} + " from '" + from + "'");
      ASSERT_EQ(r.by_state.count(from), 1U);
      check(in_state(from), r.cmd, r.by_state.at(from));
    }
  }
  EXPECT_EQ(covered.size(), std::variant_size_v<cluster::command>);
}

TEST(cluster_decider, create_fills_the_defaults) {
  auto s = must(run(cluster::initial("c1"), cluster::create{"prod", "", {}, {}}));
  EXPECT_EQ(s.name(), "prod");
  EXPECT_FALSE(s.ha().enabled());
  EXPECT_EQ(s.ha().admission_policy(), ""); // admission control disabled
  EXPECT_FALSE(s.drs().enabled());
  EXPECT_EQ(s.drs().automation(), "manual");
  EXPECT_EQ(s.drs().migration_threshold(), 3U);
  EXPECT_EQ(s.node_ids_size(), 0);
  // Tolerating 0 host failures under host_failures admission means 1.
  v1::HaSettings ha;
  ha.set_enabled(true);
  ha.set_admission_policy("host_failures");
  s = must(run(cluster::initial("c1"), cluster::create{"prod", "", ha, {}}));
  EXPECT_EQ(s.ha().host_failures_to_tolerate(), 1U);
  // Everything given is kept.
  s = in_state("empty");
  EXPECT_EQ(s.description(), "main site");
  EXPECT_TRUE(s.ha().enabled());
  EXPECT_EQ(s.ha().default_restart_priority(), 3);
  EXPECT_TRUE(s.drs().enabled());
  EXPECT_EQ(s.drs().automation(), "fully_automated");
}

struct spoiler {
  std::function<void(cluster::create&)> spoil;
  std::string field; // "" when the value is at the boundary and accepted
};

std::vector<spoiler> settings_cases() {
  return {
      {[](auto& c) { c.name = ""; }, "name"},
      {[](auto& c) { c.name = std::string(81, 'n'); }, "name"},
      {[](auto& c) { c.name = std::string(80, 'n'); }, ""},
      {[](auto& c) { c.name = "pr\tod"; }, "name"},
      {[](auto& c) { c.name = "pr\x7fod"; }, "name"},
      {[](auto& c) { c.description = std::string(1025, 'd'); }, "description"},
      {[](auto& c) { c.description = std::string(1024, 'd'); }, ""},
      {[](auto& c) { c.description = ""; }, ""},
      {[](auto& c) { c.ha.set_admission_policy("magic"); }, "ha.admission_policy"},
      {[](auto& c) { c.ha.set_admission_policy("Percentage"); }, "ha.admission_policy"},
      {[](auto& c) { c.ha.set_admission_policy("percentage"); }, ""},
      {[](auto& c) { c.ha.set_admission_policy(""); }, ""},
      {[](auto& c) { c.ha.set_host_failures_to_tolerate(32); }, "ha.host_failures_to_tolerate"},
      {[](auto& c) { c.ha.set_host_failures_to_tolerate(31); }, ""},
      {[](auto& c) { c.ha.set_reserved_cpu_percent(101); }, "ha.reserved_cpu_percent"},
      {[](auto& c) { c.ha.set_reserved_cpu_percent(100); }, ""},
      {[](auto& c) { c.ha.set_reserved_memory_percent(101); }, "ha.reserved_memory_percent"},
      {[](auto& c) { c.ha.set_reserved_memory_percent(100); }, ""},
      {[](auto& c) { c.ha.set_default_restart_priority(6); }, "ha.default_restart_priority"},
      {[](auto& c) { c.ha.set_default_restart_priority(-1); }, "ha.default_restart_priority"},
      {[](auto& c) { c.ha.set_default_restart_priority(5); }, ""},
      {[](auto& c) { c.ha.set_default_restart_priority(0); }, ""},
      {[](auto& c) { c.drs.set_automation("auto"); }, "drs.automation"},
      {[](auto& c) { c.drs.set_automation("manual"); }, ""},
      {[](auto& c) { c.drs.set_automation("partially_automated"); }, ""},
      {[](auto& c) { c.drs.set_migration_threshold(6); }, "drs.migration_threshold"},
      {[](auto& c) { c.drs.set_migration_threshold(5); }, ""},
      {[](auto& c) { c.drs.set_migration_threshold(1); }, ""},
      {[](auto& c) { c.drs.set_placement_strategy("pack"); }, ""},
      {[](auto& c) { c.drs.set_placement_strategy("Pack"); }, "drs.placement_strategy"},
      {[](auto& c) { c.drs.set_max_moves_per_pass(1000); }, ""},
      {[](auto& c) { c.drs.set_max_moves_per_pass(1001); }, "drs.max_moves_per_pass"},
      {[](auto& c) { c.drs.set_max_concurrent_per_host(64); }, ""},
      {[](auto& c) { c.drs.set_max_concurrent_per_host(65); }, "drs.max_concurrent_per_host"},
      {[](auto& c) { c.drs.set_max_concurrent_per_cluster(1001); },
       "drs.max_concurrent_per_cluster"},
      {[](auto& c) { c.drs.set_hold_seconds(86400); }, ""},
      {[](auto& c) { c.drs.set_hold_seconds(86401); }, "drs.hold_seconds"},
      {[](auto& c) { c.drs.set_min_gain(1.0); }, ""},
      {[](auto& c) { c.drs.set_min_gain(-0.1); }, "drs.min_gain"},
      {[](auto& c) { c.drs.set_min_gain(1.5); }, "drs.min_gain"},
      {[](auto& c) { c.drs.set_min_gain(std::numeric_limits<double>::quiet_NaN()); },
       "drs.min_gain"},
      {[](auto& c) { c.drs.set_migration_gib_per_s(0.1); }, ""},
      {[](auto& c) { c.drs.set_migration_gib_per_s(0.05); }, "drs.migration_gib_per_s"},
      {[](auto& c) { c.drs.set_migration_gib_per_s(100.5); }, "drs.migration_gib_per_s"},
      {[](auto& c) { c.drs.set_fail_back(false); }, ""},
      {[](auto& c) { c.drs.set_cpu_overcommit(16); }, ""},
      {[](auto& c) { c.drs.set_cpu_overcommit(0.5); }, "drs.cpu_overcommit"},
      {[](auto& c) { c.drs.set_cpu_overcommit(16.5); }, "drs.cpu_overcommit"},
  };
}

TEST(cluster_decider, create_validation_names_the_field_at_the_boundaries) {
  for (const auto& b : settings_cases()) {
    auto c = prod();
    b.spoil(c);
    SCOPED_TRACE("field '" + b.field + "'");
    if (b.field.empty()) {
      auto s = run(cluster::initial("c1"), c);
      ASSERT_TRUE(s);
      EXPECT_EQ(s->name(), c.name);
      EXPECT_EQ(s->ha().admission_policy(), c.ha.admission_policy());
      EXPECT_EQ(s->drs().automation(), c.drs.automation());
    } else {
      check(cluster::initial("c1"), c, refusal(errc::invalid_argument, "", b.field));
    }
  }
}

TEST(cluster_decider, update_validates_the_same_way) {
  const auto s = in_state("member");
  for (const auto& b : settings_cases()) {
    auto c = prod();
    b.spoil(c);
    SCOPED_TRACE("field '" + b.field + "'");
    cluster::update u;
    u.name = c.name;
    u.description = c.description;
    u.ha = c.ha;
    u.drs = c.drs;
    if (b.field.empty()) {
      auto after = run(s, u);
      ASSERT_TRUE(after);
      EXPECT_EQ(after->name(), c.name);
      EXPECT_EQ(after->description(), c.description);
      EXPECT_EQ(after->ha().reserved_cpu_percent(), c.ha.reserved_cpu_percent());
      EXPECT_EQ(after->drs().migration_threshold(), c.drs.migration_threshold());
      EXPECT_EQ(after->node_ids_size(), 1); // members are kept
    } else {
      check(s, u, refusal(errc::invalid_argument, "", b.field));
    }
  }
}

TEST(cluster_decider, update_changes_only_what_is_given) {
  auto s = in_state("member");
  cluster::update u;
  u.description = "";
  s = must(run(s, u));
  EXPECT_EQ(s.name(), "prod");
  EXPECT_EQ(s.description(), "");
  EXPECT_EQ(s.ha().admission_policy(), "host_failures");
  EXPECT_EQ(s.drs().automation(), "fully_automated");
  v1::DrsSettings drs;
  drs.set_enabled(true);
  drs.set_automation("partially_automated");
  s = must(run(s, with_drs(drs)));
  EXPECT_EQ(s.drs().automation(), "partially_automated");
  EXPECT_EQ(s.drs().migration_threshold(), 3U); // 0 means the default
  // So for every other DRS setting: the defaults are written, so the log says what applies.
  EXPECT_EQ(s.drs().placement_strategy(), "spread");
  EXPECT_EQ(s.drs().max_moves_per_pass(), 8U);
  EXPECT_EQ(s.drs().max_concurrent_per_host(), 2U);
  EXPECT_EQ(s.drs().max_concurrent_per_cluster(), 8U);
  EXPECT_EQ(s.drs().hold_seconds(), 600U);
  EXPECT_DOUBLE_EQ(s.drs().min_gain(), 0.01);
  EXPECT_TRUE(s.drs().has_fail_back());
  EXPECT_TRUE(s.drs().fail_back());
  EXPECT_DOUBLE_EQ(s.drs().migration_gib_per_s(), 1.25);
  EXPECT_EQ(s.description(), "");
  EXPECT_EQ(s.ha().host_failures_to_tolerate(), 1U);
  // The same settings again, once normalized, change nothing.
  auto same = cluster::decide(s, with_drs(drs));
  ASSERT_TRUE(same) << same.error().to_string();
  EXPECT_TRUE(same->empty());
}

TEST(cluster_decider, membership_is_a_set_and_delete_needs_it_empty) {
  auto s = must(run(in_state("member"), cluster::add_node{"n2"}));
  s = must(run(s, cluster::add_node{"n3"}));
  s = must(run(s, cluster::remove_node{"n2"}));
  ASSERT_EQ(s.node_ids_size(), 2);
  EXPECT_EQ(s.node_ids(0), "n1");
  EXPECT_EQ(s.node_ids(1), "n3");
  error err;
  EXPECT_FALSE(run(s, cluster::remove{}, &err));
  EXPECT_EQ(err.code, errc::failed_precondition);
  EXPECT_EQ(detail_of(err, "reason"), "CLUSTER_NOT_EMPTY");
  EXPECT_EQ(detail_of(err, "nodes"), "2");
  EXPECT_FALSE(run(s, cluster::remove_node{"n2"}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "NODE_NOT_IN_CLUSTER");
  EXPECT_FALSE(run(s, cluster::add_node{std::string(65, 'n')}, &err));
  EXPECT_EQ(detail_of(err, "field"), "node_id");
  s = must(run(s, cluster::remove_node{"n1"}));
  s = must(run(s, cluster::remove_node{"n3"}));
  s = must(run(s, cluster::remove{}));
  EXPECT_TRUE(s.deleted());
  EXPECT_FALSE(run(s, cluster::add_node{"n1"}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "DELETED");
  EXPECT_FALSE(run(cluster::initial("c9"), cluster::add_node{"n1"}, &err));
  EXPECT_EQ(err.code, errc::not_found);
  EXPECT_EQ(detail_of(err, "id"), "c9");
}

TEST(cluster_decider, events_round_trip_through_the_log_codec) {
  std::vector<cluster::event> all;
  const auto collect = [&](const cluster::state& s, const cluster::command& c) {
    auto d = cluster::decide(s, c);
    ASSERT_TRUE(d) << d.error().to_string();
    all.insert(all.end(), d->begin(), d->end());
  };
  collect(in_state(""), prod());
  collect(in_state("empty"), rename("staging"));
  collect(in_state("empty"), cluster::add_node{"n1"});
  collect(in_state("member"), cluster::remove_node{"n1"});
  collect(in_state("empty"), cluster::remove{});
  auto with_rule =
      must(run(in_state("member"), cluster::set_rule{rule("on-n1", "must_run_on", {"a"}, {"n1"})}));
  collect(in_state("member"), cluster::set_rule{rule("on-n1", "must_run_on", {"a"}, {"n1"})});
  collect(with_rule, cluster::remove_rule{"on-n1"});
  ASSERT_EQ(all.size(), std::variant_size_v<cluster::event>);
  const char* types[] = {"qx.events.v1.ClusterCreated",    "qx.events.v1.ClusterUpdated",
                         "qx.events.v1.ClusterNodeAdded",  "qx.events.v1.ClusterNodeRemoved",
                         "qx.events.v1.ClusterDeleted",    "qx.events.v1.ClusterRuleSet",
                         "qx.events.v1.ClusterRuleRemoved"};
  for (std::size_t i = 0; i < all.size(); ++i) {
    auto rec = encode_event(all[i]);
    EXPECT_EQ(rec.type, types[i]);
    auto back = decode_event<cluster::event>(rec.type, rec.payload);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->index(), i);
    EXPECT_EQ(encode_event(*back).payload, rec.payload);
  }
  const auto rec = encode_event(all[0]);
  const auto created =
      std::get<v1::ClusterCreated>(*decode_event<cluster::event>(rec.type, rec.payload));
  EXPECT_EQ(created.id(), "c1");
  EXPECT_EQ(created.description(), "main site");
  EXPECT_EQ(created.ha().host_failures_to_tolerate(), 1U);
  EXPECT_EQ(created.drs().automation(), "fully_automated");
  EXPECT_EQ(std::get<v1::ClusterNodeAdded>(all[2]).cluster_id(), "c1");
  EXPECT_EQ(std::get<v1::ClusterNodeAdded>(all[2]).node_id(), "n1");

  EXPECT_FALSE(decode_event<cluster::event>("qx.events.v1.NodeJoinedCluster", ""));
  EXPECT_FALSE(decode_event<cluster::event>("qx.events.v1.ClusterCreated", "\xff\xff\xff"));
}

TEST(cluster_decider, command_names) {
  EXPECT_EQ(cluster::name_of(cluster::create{}), "create");
  EXPECT_EQ(cluster::name_of(cluster::update{}), "update");
  EXPECT_EQ(cluster::name_of(cluster::add_node{}), "add_node");
  EXPECT_EQ(cluster::name_of(cluster::remove_node{}), "remove_node");
  EXPECT_EQ(cluster::name_of(cluster::remove{}), "remove");
  EXPECT_EQ(std::string{cluster::kind}, "cluster");
  EXPECT_EQ(std::string{cluster::stream_prefix}, "cluster-");
}

} // namespace
