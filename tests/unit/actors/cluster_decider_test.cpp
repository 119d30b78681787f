#include <qx/actors/domain/cluster.hpp>

#include <gtest/gtest.h>

#include <optional>

using namespace qx;
using namespace qx::domain;
namespace v1 = qx::events::v1;

namespace {

enum class phase { absent, empty, with_node, deleted };

cluster::state in_phase(phase p) {
  auto s = cluster::initial("c1");
  if (p == phase::absent)
    return s;
  s.set_created(true);
  s.set_name("prod");
  if (p == phase::with_node)
    s.add_node_ids("n1");
  if (p == phase::deleted)
    s.set_deleted(true);
  return s;
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

TEST(cluster_decider, every_command_in_every_phase) {
  struct row {
    cluster::command cmd;
    std::set<phase> legal;
    std::string reason_when_refused; // for created, not deleted phases
  };
  const std::vector<row> table = {
      {cluster::create{"prod", "", {}, {}}, {phase::absent}, ""},
      {cluster::update{std::string{"new"}, {}, {}, {}}, {phase::empty, phase::with_node}, ""},
      {cluster::add_node{"n2"}, {phase::empty, phase::with_node}, ""},
      {cluster::remove_node{"n1"}, {phase::with_node}, "NODE_NOT_IN_CLUSTER"},
      {cluster::remove{}, {phase::empty}, "CLUSTER_NOT_EMPTY"},
  };
  for (const auto& r : table)
    for (auto p : {phase::absent, phase::empty, phase::with_node, phase::deleted}) {
      SCOPED_TRACE(std::string{cluster::name_of(r.cmd)} + " in phase " +
                   std::to_string(static_cast<int>(p)));
      error err;
      auto after = run(in_phase(p), r.cmd, &err);
      if (r.legal.count(p)) {
        EXPECT_TRUE(after) << err.to_string();
        continue;
      }
      ASSERT_FALSE(after);
      if (std::holds_alternative<cluster::create>(r.cmd)) {
        EXPECT_EQ(err.code, errc::already_exists);
      } else if (p == phase::absent) {
        EXPECT_EQ(err.code, errc::not_found);
      } else if (p == phase::deleted) {
        EXPECT_EQ(err.details["reason"], "DELETED");
      } else {
        EXPECT_EQ(err.details["reason"], r.reason_when_refused);
      }
    }
}

TEST(cluster_decider, create_fills_defaults_and_validates_settings) {
  auto s = *run(in_phase(phase::absent), cluster::create{"prod", "main", {}, {}});
  EXPECT_EQ(s.drs().automation(), "manual");
  EXPECT_EQ(s.drs().migration_threshold(), 3U);
  struct bad {
    std::function<void(cluster::create&)> spoil;
    std::string field;
  };
  const std::vector<bad> cases = {
      {[](auto& c) { c.name = ""; }, "name"},
      {[](auto& c) { c.name = std::string(81, 'n'); }, "name"},
      {[](auto& c) { c.description = std::string(2000, 'd'); }, "description"},
      {[](auto& c) { c.ha.set_admission_policy("magic"); }, "ha.admission_policy"},
      {[](auto& c) { c.ha.set_host_failures_to_tolerate(40); }, "ha.host_failures_to_tolerate"},
      {[](auto& c) { c.ha.set_reserved_cpu_percent(101); }, "ha.reserved_cpu_percent"},
      {[](auto& c) { c.ha.set_reserved_memory_percent(150); }, "ha.reserved_memory_percent"},
      {[](auto& c) { c.ha.set_default_restart_priority(7); }, "ha.default_restart_priority"},
      {[](auto& c) { c.drs.set_automation("auto"); }, "drs.automation"},
      {[](auto& c) { c.drs.set_migration_threshold(6); }, "drs.migration_threshold"},
  };
  for (const auto& b : cases) {
    cluster::create c{"prod", "", {}, {}};
    b.spoil(c);
    error err;
    EXPECT_FALSE(run(in_phase(phase::absent), c, &err)) << b.field;
    EXPECT_EQ(err.code, errc::invalid_argument);
    EXPECT_EQ(err.details["field"], b.field);
  }
}

TEST(cluster_decider, update_changes_only_what_is_given) {
  auto s = *run(in_phase(phase::absent), cluster::create{"prod", "main", {}, {}});
  v1::DrsSettings drs;
  drs.set_enabled(true);
  drs.set_automation("fully_automated");
  drs.set_migration_threshold(5);
  s = *run(s, cluster::update{{}, {}, {}, drs});
  EXPECT_EQ(s.name(), "prod");
  EXPECT_EQ(s.description(), "main");
  EXPECT_EQ(s.drs().automation(), "fully_automated");
  auto same = cluster::decide(s, cluster::update{std::string{"prod"}, {}, {}, {}});
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->empty());
}

TEST(cluster_decider, membership_is_a_set) {
  auto s = *run(in_phase(phase::empty), cluster::add_node{"n1"});
  EXPECT_TRUE(cluster::decide(s, cluster::add_node{"n1"})->empty());
  s = *run(s, cluster::add_node{"n2"});
  EXPECT_EQ(s.node_ids_size(), 2);
  s = *run(s, cluster::remove_node{"n1"});
  ASSERT_EQ(s.node_ids_size(), 1);
  EXPECT_EQ(s.node_ids(0), "n2");
  error err;
  EXPECT_FALSE(run(s, cluster::add_node{""}, &err));
  EXPECT_EQ(err.details["field"], "node_id");
}

} // namespace
