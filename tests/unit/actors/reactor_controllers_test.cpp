// The DRS and HA controllers without actors: a small log is folded in, time is passed in, and
// what they decide (records, commands) is checked directly.
#include <qx/actors/domain/node.hpp>
#include <qx/actors/domain/vm.hpp>
#include <qx/actors/drs/controller.hpp>
#include <qx/actors/ha/controller.hpp>
#include <qx/events/v1/cluster.pb.h>
#include <qx/events/v1/drs.pb.h>
#include <qx/events/v1/ha.pb.h>
#include <qx/events/v1/node.pb.h>
#include <qx/events/v1/vm.pb.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace v1 = qx::events::v1;
using qx::events::recorded_event;

/// A datacenter's log, as the reactors see it: one cluster, its hosts, running VMs.
class log_builder {
 public:
  template<class M>
  recorded_event event(const std::string& type, const M& m) {
    recorded_event e;
    e.position = ++position_;
    e.type = "qx.events.v1." + type;
    e.payload = m.SerializeAsString();
    return e;
  }
  std::vector<recorded_event> cluster(const std::string& automation, bool ha) {
    v1::ClusterCreated c;
    c.set_id("c1");
    c.mutable_drs()->set_enabled(true);
    c.mutable_drs()->set_automation(automation);
    c.mutable_drs()->set_migration_threshold(4);
    c.mutable_ha()->set_enabled(ha);
    c.mutable_ha()->set_admission_policy("host_failures");
    c.mutable_ha()->set_host_failures_to_tolerate(1);
    return {event("ClusterCreated", c)};
  }
  std::vector<recorded_event> host(const std::string& id) {
    v1::NodeRegistered r;
    r.set_id(id);
    r.mutable_hardware()->set_cpu_threads(16);
    r.mutable_hardware()->set_memory_mib(65536);
    v1::ClusterNodeAdded a;
    a.set_cluster_id("c1");
    a.set_node_id(id);
    return {event("NodeRegistered", r), event("ClusterNodeAdded", a)};
  }
  std::vector<recorded_event> vm(const std::string& id, const std::string& host,
                                 std::int32_t priority = 3, const std::string& power = "running") {
    v1::VmCreated c;
    c.set_id(id);
    c.mutable_spec()->set_vcpus(4);
    c.mutable_spec()->set_memory_mib(4096);
    c.mutable_spec()->set_ha_restart_priority(priority);
    return {event("VmCreated", c), state(id, host, power)};
  }
  /// A placement rule of cluster c1, as the cluster aggregate records it.
  recorded_event rule(const std::string& name, const std::string& kind,
                      const std::vector<std::string>& vms,
                      const std::vector<std::string>& nodes = {},
                      const std::map<std::string, std::int32_t>& priorities = {}) {
    v1::ClusterRuleSet r;
    r.set_cluster_id("c1");
    r.mutable_rule()->set_name(name);
    r.mutable_rule()->set_kind(kind);
    for (const auto& vm : vms)
      r.mutable_rule()->add_vm_ids(vm);
    for (const auto& n : nodes)
      r.mutable_rule()->add_node_ids(n);
    r.mutable_rule()->mutable_priorities()->insert(priorities.begin(), priorities.end());
    return event("ClusterRuleSet", r);
  }
  recorded_event rule_removed(const std::string& name) {
    v1::ClusterRuleRemoved r;
    r.set_cluster_id("c1");
    r.set_name(name);
    return event("ClusterRuleRemoved", r);
  }
  /// Cluster c1 (manual DRS, HA on) with shutdown policy `policy`.
  recorded_event shutdown_policy(const std::string& policy) {
    v1::ClusterUpdated u;
    u.set_id("c1");
    u.mutable_drs()->set_enabled(true);
    u.mutable_drs()->set_automation("manual");
    u.mutable_drs()->set_migration_threshold(4);
    u.mutable_ha()->set_enabled(true);
    u.mutable_ha()->set_admission_policy("host_failures");
    u.mutable_ha()->set_host_failures_to_tolerate(1);
    u.mutable_ha()->set_shutdown_policy(policy);
    return event("ClusterUpdated", u);
  }
  recorded_event state(const std::string& id, const std::string& host, const std::string& to) {
    v1::VmPowerStateChanged p;
    p.set_id(id);
    p.set_to(to);
    p.set_node_id(host);
    return event("VmPowerStateChanged", p);
  }

 private:
  std::uint64_t position_ = 0;
};

template<class C>
void feed(C& c, const std::vector<recorded_event>& events) {
  for (const auto& e : events)
    c.on_event(e);
}

std::vector<std::string> types(const std::vector<qx::events::append_request>& records) {
  std::vector<std::string> out;
  for (const auto& r : records)
    for (const auto& e : r.events)
      out.push_back(e.type.substr(std::string{"qx.events.v1."}.size()));
  return out;
}

/// Four busy VMs on h1, an idle h2: DRS has something to balance.
template<class C>
void hot_cluster(C& c, log_builder& log, const std::string& automation) {
  feed(c, log.cluster(automation, false));
  feed(c, log.host("h1"));
  feed(c, log.host("h2"));
  for (const auto* id : {"a1", "a2", "a3", "a4"}) {
    feed(c, log.vm(id, "h1"));
    c.on_demand(id, 3.5, 2048);
  }
}

TEST(drs_controller, fully_automated_waits_for_the_hold_period_then_moves_with_its_reason) {
  qx::actors::drs::controller drs{{10min, {}}};
  log_builder log;
  hot_cluster(drs, log, "fully_automated");
  const auto first = drs.run_pass(0ms);
  EXPECT_TRUE(first.migrations.empty()) << "above target for 0 of the 10 minutes";
  EXPECT_TRUE(drs.run_pass(5min).migrations.empty());
  const auto held = drs.run_pass(10min);
  ASSERT_FALSE(held.migrations.empty());
  EXPECT_EQ(held.migrations.front().target_node_id, "h2");
  EXPECT_EQ(held.migrations.front().meta.principal, "system:drs");
  const auto t = types(held.records);
  ASSERT_GE(t.size(), 2U);
  EXPECT_EQ(t[0], "DrsRecommended");
  EXPECT_EQ(t[1], "DrsRecommendationApplied");
  v1::DrsRecommended rec;
  ASSERT_TRUE(rec.ParseFromString(held.records.front().events.front().payload));
  EXPECT_EQ(rec.reason(), "BALANCE");
  EXPECT_TRUE(rec.automatic());
  EXPECT_GT(rec.imbalance_before(), rec.imbalance_after());
  EXPECT_EQ(held.records.front().stream, "drs-c1");
}

TEST(drs_controller, manual_mode_only_recommends_until_approved_or_rejected) {
  qx::actors::drs::controller drs{{0ms, {}}};
  log_builder log;
  hot_cluster(drs, log, "manual");
  const auto pass = drs.run_pass(0ms);
  EXPECT_TRUE(pass.migrations.empty());
  const auto pending = drs.pending("c1");
  ASSERT_GE(pending.size(), 2U);
  // A second pass proposes the same moves: nothing recorded twice.
  EXPECT_TRUE(types(drs.run_pass(1min).records).empty());

  const auto approved = drs.approve("c1", pending[0].id, "user:alice");
  ASSERT_TRUE(approved) << approved.error().to_string();
  ASSERT_EQ(approved->migrations.size(), 1U);
  EXPECT_EQ(approved->migrations.front().meta.principal, "user:alice");
  EXPECT_EQ(approved->records.front().metadata.actor, "user:alice");
  EXPECT_EQ(drs.approve("c1", pending[0].id, "user:alice").error().code, qx::errc::not_found);

  const auto rejected = drs.reject("c1", pending[1].id, "user:bob");
  ASSERT_TRUE(rejected) << rejected.error().to_string();
  EXPECT_EQ(types(rejected->records), std::vector<std::string>{"DrsRecommendationRejected"});
  EXPECT_TRUE(rejected->migrations.empty());
}

TEST(drs_controller, a_recommendation_whose_vm_stopped_is_rejected_as_stale) {
  qx::actors::drs::controller drs{{0ms, {}}};
  log_builder log;
  hot_cluster(drs, log, "manual");
  static_cast<void>(drs.run_pass(0ms));
  const auto pending = drs.pending("c1");
  ASSERT_FALSE(pending.empty());
  drs.on_event(log.state(pending[0].move.vm_id, "h1", "stopped"));
  const auto next = drs.run_pass(1min);
  v1::DrsRecommendationRejected stale;
  bool found = false;
  for (const auto& r : next.records)
    if (r.events.front().type == "qx.events.v1.DrsRecommendationRejected" &&
        stale.ParseFromString(r.events.front().payload) &&
        stale.recommendation_id() == pending[0].id)
      found = stale.reason() == "STALE";
  EXPECT_TRUE(found);
}

recorded_event node_state(log_builder& log, const std::string& id, const std::string& to) {
  v1::NodeStateChanged c;
  c.set_id(id);
  c.set_to(to);
  return log.event("NodeStateChanged", c);
}

recorded_event migrated(log_builder& log, const std::string& vm, const std::string& to) {
  v1::VmMigrated m;
  m.set_id(vm);
  m.set_target_node_id(to);
  return log.event("VmMigrated", m);
}

/// Cluster c1 (`automation`, no HA) of hosts h1 and h2, VM a1 running on h1.
void two_hosts_one_vm(qx::actors::drs::controller& drs, log_builder& log,
                      const std::string& automation) {
  feed(drs, log.cluster(automation, false));
  feed(drs, log.host("h1"));
  feed(drs, log.host("h2"));
  feed(drs, log.vm("a1", "h1"));
}

TEST(drs_controller, maintenance_moves_vms_at_once_whatever_the_automation_then_enters_it) {
  // Manual automation: balancing would only recommend, but the operator asked for the host to
  // be emptied, so maintenance moves at once, without waiting for a pass.
  qx::actors::drs::controller drs{{1h, {}}};
  log_builder log;
  two_hosts_one_vm(drs, log, "manual");
  const auto asked = drs.request_maintenance("h1", true, "user:alice");
  ASSERT_TRUE(asked) << asked.error().to_string();
  ASSERT_EQ(asked->migrations.size(), 1U);
  EXPECT_EQ(asked->migrations.front().vm_id, "a1");
  EXPECT_EQ(asked->migrations.front().target_node_id, "h2");
  EXPECT_EQ(asked->migrations.front().meta.principal, "user:alice");
  EXPECT_EQ(types(asked->records),
            (std::vector<std::string>{"DrsMaintenanceRequested", "DrsRecommended",
                                      "DrsRecommendationApplied"}));
  EXPECT_TRUE(asked->node_commands.empty()) << "a1 still holds capacity on h1";
  EXPECT_TRUE(drs.after_events().node_commands.empty());
  drs.on_event(migrated(log, "a1", "h2"));
  const auto after = drs.after_events();
  ASSERT_EQ(after.node_commands.size(), 1U);
  EXPECT_EQ(after.node_commands.front().id, "h1");
  EXPECT_TRUE(
      std::holds_alternative<qx::domain::node::enter_maintenance>(after.node_commands[0].command));
}

TEST(drs_controller, leaving_maintenance_brings_back_the_vms_it_sent_away) {
  qx::actors::drs::controller drs{{1h, {}}};
  log_builder log;
  feed(drs, log.cluster("fully_automated", false));
  for (const auto* h : {"h1", "h2", "h3"})
    feed(drs, log.host(h));
  feed(drs, log.vm("a1", "h1"));
  feed(drs, log.vm("a2", "h1"));
  feed(drs, log.vm("b1", "h2"));
  ASSERT_TRUE(drs.request_maintenance("h1", true, "user:alice"));
  drs.on_event(migrated(log, "a1", "h3"));
  drs.on_event(migrated(log, "a2", "h2"));
  drs.on_event(node_state(log, "h1", "maintenance"));
  // While the node is in maintenance nothing comes back; ending it asks the node to leave.
  const auto ended = drs.request_maintenance("h1", false, "user:alice");
  ASSERT_TRUE(ended) << ended.error().to_string();
  EXPECT_TRUE(ended->migrations.empty()) << "h1 is still in maintenance in the log";
  ASSERT_EQ(ended->node_commands.size(), 1U);
  EXPECT_TRUE(
      std::holds_alternative<qx::domain::node::exit_maintenance>(ended->node_commands[0].command));
  drs.on_event(node_state(log, "h1", "connected"));
  const auto back = drs.after_events();
  std::set<std::string> returned;
  for (const auto& m : back.migrations) {
    EXPECT_EQ(m.target_node_id, "h1");
    returned.insert(m.vm_id);
  }
  EXPECT_EQ(returned, (std::set<std::string>{"a1", "a2"})) << "b1 never left h2: it stays";
  EXPECT_TRUE(drs.after_events().migrations.empty()) << "brought back once";
}

TEST(drs_controller, maintenance_of_a_node_that_is_down_is_refused_not_held) {
  qx::actors::drs::controller drs{{1h, {}}};
  log_builder log;
  two_hosts_one_vm(drs, log, "fully_automated");
  drs.on_event(node_state(log, "h1", "disconnected"));
  const auto asked = drs.request_maintenance("h1", true, "user:alice");
  ASSERT_FALSE(asked);
  EXPECT_EQ(asked.error().code, qx::errc::failed_precondition);
  EXPECT_EQ(asked.error().details.at("reason"), "NODE_DOWN");
  // Back up later: nothing was held, nothing moves.
  drs.on_event(node_state(log, "h1", "connected"));
  EXPECT_TRUE(drs.after_events().migrations.empty());
  EXPECT_TRUE(drs.run_pass(2h).migrations.empty());
  EXPECT_EQ(drs.request_maintenance("nope", true, "user:alice").error().code, qx::errc::not_found);
}

TEST(drs_controller, placement_scope_keeps_the_rules_also_on_a_named_node) {
  qx::actors::drs::controller drs;
  log_builder log;
  feed(drs, log.cluster("fully_automated", false));
  feed(drs, log.host("h1"));
  feed(drs, log.host("h2"));
  feed(drs, log.host("h3"));
  feed(drs, log.vm("a1", "h2"));
  feed(drs, log.vm("a2", "", 3, "defined"));
  drs.on_event(log.rule("apart", "keep_apart", {"a1", "a2"}));
  drs.on_event(log.rule("prefer-h3", "should_run_on", {"a2"}, {"h1", "h3"}, {{"h3", 5}}));
  const auto scope = drs.scope("c1", "a2");
  ASSERT_TRUE(scope) << scope.error().to_string();
  EXPECT_EQ(scope->candidates, (std::vector<std::string>{"h1", "h3"}));
  EXPECT_EQ(scope->how, qx::domain::placement::strategy::spread);
  EXPECT_EQ(scope->peers.apart, (std::map<std::string, std::string>{{"a1", "apart"}}));
  EXPECT_EQ(scope->rank, (std::map<std::string, std::int32_t>{{"h1", 1}, {"h3", 6}}));
  EXPECT_EQ(drs.scope("c1", "nope").error().code, qx::errc::not_found);
  // A node the caller names: refused with the rule's name, never replaced by another.
  const auto named = drs.scope("c1", "a2", "h2");
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().code, qx::errc::failed_precondition);
  EXPECT_EQ(named.error().details.at("reason"), "RULE_VIOLATION");
  EXPECT_EQ(named.error().details.at("rule"), "apart");
  const auto allowed = drs.scope("c1", "a2", "h1");
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->candidates, std::vector<std::string>{"h1"});
  // A rule that leaves no node: refused here, not widened to every node by an empty scope.
  drs.on_event(log.rule_removed("prefer-h3"));
  drs.on_event(log.rule("on-h2", "must_run_on", {"a2"}, {"h2"}));
  const auto none = drs.scope("c1", "a2");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().details.at("reason"), "RULE_VIOLATION");
}

TEST(drs_controller, no_vm_moves_again_within_the_hold_period_whatever_the_loads) {
  // Random demand at every pass is the worst case for ping-pong: DRS may chase it, but a VM it
  // moved stays put for the hold period, so no A→B→A within it.
  for (unsigned seed = 1; seed <= 10; ++seed) {
    qx::actors::drs::controller drs{{10min, {}}};
    log_builder log;
    feed(drs, log.cluster("fully_automated", false));
    for (int h = 1; h <= 5; ++h)
      feed(drs, log.host("h" + std::to_string(h)));
    std::mt19937 rng{seed};
    std::map<std::string, std::string> host_of;
    for (int v = 0; v < 20; ++v) {
      const auto id = "v" + std::to_string(v);
      host_of[id] = "h" + std::to_string(1 + (rng() % 2)); // crowded on h1 and h2
      feed(drs, log.vm(id, host_of[id]));
    }
    std::map<std::string, std::chrono::milliseconds> moved_at;
    std::size_t moves = 0;
    std::uniform_real_distribution<double> cpu{0.0, 4.0};
    for (auto now = 0min; now <= 12h; now += 5min) {
      for (const auto& [id, host] : host_of)
        drs.on_demand(id, cpu(rng), 2048);
      for (const auto& m : drs.run_pass(now).migrations) {
        if (const auto last = moved_at.find(m.vm_id); last != moved_at.end()) {
          EXPECT_GE(now - last->second, 10min)
              << "seed " << seed << ": " << m.vm_id << " moved again "
              << std::chrono::duration_cast<std::chrono::minutes>(now - last->second).count()
              << " min after its last move";
        }
        moved_at[m.vm_id] = now;
        v1::VmMigrated done;
        done.set_id(m.vm_id);
        done.set_source_node_id(host_of[m.vm_id]);
        done.set_target_node_id(m.target_node_id);
        drs.on_event(log.event("VmMigrated", done));
        host_of[m.vm_id] = m.target_node_id;
        ++moves;
      }
    }
    EXPECT_GT(moves, 0U) << "seed " << seed << ": the loads never made DRS move anything";
  }
}

class ha_controller : public ::testing::Test {
 protected:
  void SetUp() override {
    feed(ha_, log_.cluster("manual", true));
    for (const auto* h : {"h1", "h2", "h3"})
      feed(ha_, log_.host(h));
    feed(ha_, log_.vm("high", "h1", 5));
    feed(ha_, log_.vm("low", "h1", 1));
    feed(ha_, log_.vm("unprotected", "h1", 0));
  }
  void beat(std::chrono::milliseconds at, std::initializer_list<const char*> nodes) {
    for (const auto* n : nodes)
      ha_.on_heartbeat(n, at);
  }
  /// The log records what HA asked: the forced stops land.
  void stopped(const std::string& vm) { ha_.on_event(log_.state(vm, "h1", "stopped")); }

  qx::actors::ha::controller ha_{{{15s, 10s}, {2}, 2min, 5min}};
  log_builder log_;
};

TEST_F(ha_controller, a_silent_node_is_suspect_after_the_lease_and_failed_after_the_bound) {
  beat(0s, {"h1", "h2", "h3"});
  EXPECT_TRUE(ha_.tick(10s).empty());
  beat(14s, {"h2", "h3"});
  const auto suspect = ha_.tick(16s);
  EXPECT_EQ(types(suspect.records), std::vector<std::string>{"HaNodeSuspected"});
  ASSERT_EQ(suspect.node_commands.size(), 1U);
  EXPECT_EQ(suspect.node_commands[0].id, "h1");
  EXPECT_TRUE(suspect.vm_commands.empty()) << "nothing is stopped before the fencing bound";
  beat(24s, {"h2", "h3"});
  const auto failed = ha_.tick(26s);
  EXPECT_EQ(types(failed.records), std::vector<std::string>{"HaNodeFailed"});
  EXPECT_EQ(failed.vm_commands.size(), 3U) << "every VM the log had on h1 is recorded stopped";
  EXPECT_TRUE(failed.starts.empty()) << "restarts wait until the stops are in the log";
}

TEST_F(ha_controller, restarts_go_by_priority_tier_and_skip_unprotected_vms) {
  beat(0s, {"h1", "h2", "h3"});
  beat(30s, {"h2", "h3"});
  static_cast<void>(ha_.tick(30s));
  for (const auto* vm : {"high", "low", "unprotected"})
    stopped(vm);
  beat(35s, {"h2", "h3"});
  const auto first = ha_.tick(35s);
  ASSERT_EQ(first.starts.size(), 1U);
  EXPECT_EQ(first.starts[0].vm_id, "high");
  EXPECT_EQ(first.starts[0].meta.principal, "system:ha");
  beat(40s, {"h2", "h3"});
  EXPECT_TRUE(ha_.tick(40s).starts.empty()) << "low waits for high's tier";
  ha_.on_event(log_.state("high", first.starts[0].node_id, "running"));
  beat(45s, {"h2", "h3"});
  const auto second = ha_.tick(45s);
  ASSERT_EQ(second.starts.size(), 1U);
  EXPECT_EQ(second.starts[0].vm_id, "low");
}

TEST_F(ha_controller, a_protected_vm_its_agent_found_stopped_restarts_whatever_the_detail) {
  // The node proxy records "FOUND_STOPPED: the host reported it missing when its agent
  // reconnected" (domain/agent_logic): the code decides, not the whole text.
  beat(0s, {"h1", "h2", "h3"});
  auto found = log_.state("high", "h1", "stopped");
  found.payload = [&] {
    v1::VmPowerStateChanged p;
    p.set_id("high");
    p.set_to("stopped");
    p.set_node_id("h1");
    p.set_reason("FOUND_STOPPED: the host reported it missing when its agent reconnected");
    return p.SerializeAsString();
  }();
  ha_.on_event(found);
  beat(5s, {"h1", "h2", "h3"});
  const auto restarted = ha_.tick(5s);
  ASSERT_EQ(restarted.starts.size(), 1U);
  EXPECT_EQ(restarted.starts[0].vm_id, "high");
  // Another code is not a reason to restart.
  auto stopped_by_user = log_.state("low", "h1", "stopped");
  ha_.on_event(stopped_by_user);
  beat(10s, {"h1", "h2", "h3"});
  for (const auto& st : ha_.tick(10s).starts)
    EXPECT_NE(st.vm_id, "low");
}

TEST_F(ha_controller, a_vm_an_operator_stops_while_its_recovery_waits_is_never_restarted) {
  beat(0s, {"h1", "h2", "h3"});
  beat(30s, {"h2", "h3"});
  static_cast<void>(ha_.tick(30s));
  for (const auto* vm : {"high", "low"})
    stopped(vm);
  // The operator stops "low" (queued behind "high") and "high" (its restart under way).
  beat(35s, {"h2", "h3"});
  const auto first = ha_.tick(35s);
  ASSERT_EQ(first.starts.size(), 1U);
  auto by_user = [&](const std::string& vm, const std::string& to) {
    auto e = log_.state(vm, "", to);
    e.metadata.actor = "user:alice";
    return e;
  };
  ha_.on_event(by_user("low", "stopped"));
  ha_.on_event(log_.state("high", first.starts[0].node_id, "starting"));
  ha_.on_event(by_user("high", "stopping"));
  ha_.on_event(by_user("high", "stopped"));
  for (auto at = 40s; at <= 600s; at += 5s) {
    beat(at, {"h2", "h3"});
    for (const auto& st : ha_.tick(at).starts)
      ADD_FAILURE() << st.vm_id << " restarted at " << at.count()
                    << " s after the operator stopped it";
  }
}

TEST_F(ha_controller, refused_restarts_are_retried_then_the_vm_is_left_down_in_error) {
  beat(0s, {"h1", "h2", "h3"});
  beat(30s, {"h2", "h3"});
  static_cast<void>(ha_.tick(30s));
  stopped("high");
  stopped("low");
  stopped("unprotected");
  auto now = 35s;
  for (int attempt = 0; attempt < 2; ++attempt) {
    beat(now, {"h2", "h3"});
    const auto a = ha_.tick(now);
    ASSERT_EQ(a.starts.size(), 1U) << "attempt " << attempt;
    ha_.on_start_refused("high", a.starts[0].node_id);
    now += 5s;
  }
  beat(now, {"h2", "h3"});
  const auto gave_up = ha_.tick(now);
  const auto t = types(gave_up.records);
  EXPECT_NE(std::find(t.begin(), t.end(), "HaVmLeftDown"), t.end());
  bool in_error = false;
  for (const auto& c : gave_up.vm_commands)
    in_error = in_error ||
               (c.id == "high" && std::holds_alternative<qx::domain::vm::mark_error>(c.command));
  EXPECT_TRUE(in_error);
}

TEST_F(ha_controller, a_host_shut_down_under_failover_fails_over_at_once) {
  beat(0s, {"h1", "h2", "h3"});
  ha_.on_event(log_.shutdown_policy("failover"));
  const auto a = ha_.host_shutdown("h1", 1s);
  EXPECT_EQ(types(a.records), std::vector<std::string>{"HaNodeFailed"});
  EXPECT_EQ(a.vm_commands.size(), 3U);
  ha_.on_event(log_.shutdown_policy("migrate"));
  EXPECT_TRUE(ha_.host_shutdown("h2", 1s).empty()) << "migrate: DRS evacuates, HA does nothing";
}

TEST_F(ha_controller, a_host_frozen_by_its_shutdown_stays_failed_until_it_is_heard_again) {
  // Policy freeze: the VMs stay down until their host returns, and start again there. The
  // host's silence is expected: it is never recorded recovered while off.
  beat(0s, {"h1", "h2", "h3"});
  ha_.on_event(log_.shutdown_policy("freeze"));
  const auto off = ha_.host_shutdown("h1", 1s);
  EXPECT_EQ(types(off.records), std::vector<std::string>{"HaNodeFailed"});
  ASSERT_EQ(off.node_commands.size(), 1U) << "the node is marked disconnected";
  EXPECT_TRUE(std::holds_alternative<qx::domain::node::disconnect>(off.node_commands[0].command));
  for (const auto* vm : {"high", "low", "unprotected"})
    stopped(vm);
  for (auto at = 5s; at <= 600s; at += 5s) {
    beat(at, {"h2", "h3"});
    const auto a = ha_.tick(at);
    for (const auto& st : a.starts)
      ADD_FAILURE() << st.vm_id << " restarted on " << st.node_id << " at " << at.count() << " s";
    for (const auto& t : types(a.records))
      EXPECT_NE(t, "HaNodeRecovered") << "at " << at.count() << " s, h1 still off";
  }
  beat(605s, {"h1", "h2", "h3"});
  const auto back = ha_.tick(605s);
  ASSERT_FALSE(back.records.empty());
  EXPECT_EQ(types(back.records).front(), "HaNodeRecovered");
  ASSERT_EQ(back.starts.size(), 1U) << "the highest tier first";
  EXPECT_EQ(back.starts[0].vm_id, "high");
  EXPECT_EQ(back.starts[0].node_id, "h1") << "frozen VMs start again on their own host";
}

TEST_F(ha_controller, restarts_carry_the_vms_peers_for_the_coordinators_check) {
  ha_.on_event(log_.rule("apart", "keep_apart", {"high", "low"}));
  beat(0s, {"h1", "h2", "h3"});
  beat(30s, {"h2", "h3"});
  static_cast<void>(ha_.tick(30s));
  stopped("high");
  beat(35s, {"h2", "h3"});
  const auto a = ha_.tick(35s);
  ASSERT_EQ(a.starts.size(), 1U);
  EXPECT_EQ(a.starts[0].scope.peers.apart, (std::map<std::string, std::string>{{"low", "apart"}}));
}

TEST_F(ha_controller, admission_control_keeps_room_for_a_host_failure) {
  // Three hosts of 16 threads x4 and 64 GiB; 12 GiB used. One host's worth must stay free.
  EXPECT_TRUE(ha_.admits("c1", 4, 4096));
  EXPECT_FALSE(ha_.admits("c1", 4, 120 * 1024));
}

} // namespace

namespace {

TEST(reactors_catching_up, fold_the_replay_and_act_only_once_live) {
  // A server replays its whole log at start: a protected VM the log once found stopped was
  // dealt with back then; HA must not restart it again, nor DRS balance on a half-read log.
  qx::actors::ha::config cfg{{15s, 10s}, {2}, 2min, 5min};
  cfg.catch_up_first = true;
  qx::actors::ha::controller ha{cfg};
  log_builder log;
  feed(ha, log.cluster("manual", true));
  feed(ha, log.host("h1"));
  feed(ha, log.host("h2"));
  feed(ha, log.vm("high", "h1", 5));
  v1::VmPowerStateChanged found;
  found.set_id("high");
  found.set_to("stopped");
  found.set_node_id("h1");
  found.set_reason("FOUND_STOPPED: the host restarted");
  ha.on_event(log.event("VmPowerStateChanged", found));
  EXPECT_FALSE(ha.live());
  EXPECT_TRUE(ha.tick(100s).empty()) << "nothing acted on while replaying";
  EXPECT_EQ(ha.queued(), 0U);
  ha.go_live();
  ha.on_heartbeat("h1", 100s);
  ha.on_heartbeat("h2", 100s);
  EXPECT_TRUE(ha.tick(101s).starts.empty()) << "the replayed stop is not restarted";
  // Live, the same report queues a restart.
  ha.on_event(log.state("high", "h1", "running"));
  ha.on_event(log.event("VmPowerStateChanged", found));
  EXPECT_EQ(ha.queued(), 1U);

  qx::actors::drs::config dcfg;
  dcfg.catch_up_first = true;
  qx::actors::drs::controller drs{dcfg};
  log_builder dlog;
  hot_cluster(drs, dlog, "fully_automated");
  EXPECT_TRUE(drs.run_pass(20min).records.empty()) << "no pass while replaying";
  drs.go_live();
  static_cast<void>(drs.run_pass(20min));
  EXPECT_FALSE(drs.run_pass(40min).migrations.empty()) << "live: the hot host is balanced";
}

} // namespace

namespace {

/// What the store would hand a reactor replaying `records`.
std::vector<recorded_event> as_recorded(const std::vector<qx::events::append_request>& records,
                                        std::uint64_t from) {
  std::vector<recorded_event> out;
  for (const auto& r : records)
    for (const auto& e : r.events) {
      recorded_event x;
      x.position = from++;
      x.stream = r.stream;
      x.type = e.type;
      x.payload = e.payload;
      x.metadata = r.metadata;
      out.push_back(std::move(x));
    }
  return out;
}

/// A log fed to controller `c` as it is written, kept to replay into another (a restart).
template<class C>
struct kept_log {
  C& c;
  log_builder log;
  std::vector<recorded_event> history;
  void keep(std::vector<recorded_event> events) {
    for (auto& e : events) {
      c.on_event(e);
      history.push_back(std::move(e));
    }
  }
  /// Cluster c1 (manual DRS; HA on when `ha`) of hosts h1, h2, h3.
  void three_hosts(bool ha) {
    keep(log.cluster("manual", ha));
    for (const auto* h : {"h1", "h2", "h3"})
      keep(log.host(h));
  }
};

/// A DRS that folds the log before acting (a restarted server's), with hold period `hold`.
qx::actors::drs::config replaying(std::chrono::milliseconds hold) {
  qx::actors::drs::config cfg{hold, {}};
  cfg.catch_up_first = true;
  return cfg;
}

/// Replays into `drs` hot_cluster's log (manual), then DRS's own `records`, and goes live.
void replay_hot_cluster(qx::actors::drs::controller& drs,
                        const std::vector<std::vector<recorded_event>>& records) {
  log_builder log;
  hot_cluster(drs, log, "manual");
  for (const auto& r : records)
    feed(drs, r);
  drs.go_live();
}

TEST(drs_controller, pending_recommendations_come_back_from_the_log_after_a_restart) {
  qx::actors::drs::controller before{{0ms, {}}};
  log_builder log;
  hot_cluster(before, log, "manual");
  const auto pass = before.run_pass(0ms);
  const auto pending = before.pending("c1");
  ASSERT_GE(pending.size(), 2U);
  const auto rejected = before.reject("c1", pending[0].id, "user:alice");
  ASSERT_TRUE(rejected);

  // A restarted server's reactor replays the same log: the datacenter, then DRS's records.
  qx::actors::drs::controller after{replaying(0ms)};
  replay_hot_cluster(after,
                     {as_recorded(pass.records, 1000), as_recorded(rejected->records, 2000)});
  std::vector<std::string> want;
  for (std::size_t i = 1; i < pending.size(); ++i)
    want.push_back(pending[i].id);
  std::vector<std::string> got;
  for (const auto& r : after.pending("c1"))
    got.push_back(r.id);
  EXPECT_EQ(got, want) << "the rejected one stays rejected; the others wait as before";
  // The moves are the recorded ones, and one can still be applied.
  EXPECT_EQ(after.pending("c1").front().move.vm_id, pending[1].move.vm_id);
  const auto applied = after.approve("c1", pending[1].id, "user:bob");
  ASSERT_TRUE(applied) << applied.error().to_string();
  ASSERT_EQ(applied->migrations.size(), 1U);
  EXPECT_EQ(applied->migrations[0].target_node_id, pending[1].move.to);

  // With a hold period, the restarted DRS's hold timer starts again: its first pass does not
  // balance, and does not reject what is pending either.
  qx::actors::drs::controller held{replaying(1h)};
  replay_hot_cluster(held, {as_recorded(pass.records, 1000)});
  const auto first = held.run_pass(5h);
  for (const auto& t : types(first.records))
    EXPECT_NE(t, "DrsRecommendationRejected") << "a pending recommendation was dropped as stale";
  EXPECT_EQ(held.pending("c1").size(), pending.size());
}

TEST(drs_controller, a_maintenance_under_way_resumes_from_the_log_after_a_restart) {
  // Before the restart: h1's maintenance sent a1 to h3; a2's move had not landed.
  qx::actors::drs::controller before{{1h, {}}};
  kept_log<decltype(before)> kept{before, {}, {}};
  kept.three_hosts(false);
  auto& log = kept.log;
  auto& history = kept.history;
  const auto keep = [&](std::vector<recorded_event> events) {
    kept.keep(std::move(events));
  };
  keep(log.vm("a1", "h1"));
  keep(log.vm("a2", "h1"));
  keep(log.vm("b1", "h2"));
  const auto asked = before.request_maintenance("h1", true, "user:alice");
  ASSERT_TRUE(asked) << asked.error().to_string();
  ASSERT_EQ(asked->migrations.size(), 2U);
  for (auto& e : as_recorded(asked->records, 1000))
    history.push_back(std::move(e));
  history.push_back(migrated(log, "a1", "h3"));

  qx::actors::drs::config cfg{1h, {}};
  cfg.catch_up_first = true;
  qx::actors::drs::controller after{cfg};
  feed(after, history);
  after.go_live();
  // The evacuation goes on: a2 is sent away again; once it has left, h1 enters maintenance.
  const auto pass = after.run_pass(2h);
  ASSERT_EQ(pass.migrations.size(), 1U) << "only a2 is still on h1";
  EXPECT_EQ(pass.migrations[0].vm_id, "a2");
  EXPECT_TRUE(pass.node_commands.empty());
  after.on_event(migrated(log, "a2", pass.migrations[0].target_node_id));
  const auto emptied = after.after_events();
  ASSERT_EQ(emptied.node_commands.size(), 1U);
  EXPECT_TRUE(std::holds_alternative<qx::domain::node::enter_maintenance>(
      emptied.node_commands[0].command));
  after.on_event(node_state(log, "h1", "maintenance"));
  // Its end brings back both VMs the maintenance sent away, also the one sent before the
  // restart.
  ASSERT_TRUE(after.request_maintenance("h1", false, "user:alice"));
  after.on_event(node_state(log, "h1", "connected"));
  std::set<std::string> returned;
  for (const auto& m : after.after_events().migrations)
    returned.insert(m.vm_id);
  EXPECT_EQ(returned, (std::set<std::string>{"a1", "a2"}));
}

TEST(drs_controller, a_strict_rule_no_node_can_meet_is_recorded_unmet_then_met) {
  qx::actors::drs::controller drs{{1h, {}}};
  log_builder log;
  two_hosts_one_vm(drs, log, "fully_automated");
  drs.on_event(log.rule("pinned", "must_run_on", {"a1"}, {"h2"}));
  drs.on_event(node_state(log, "h2", "disconnected"));
  const auto stuck = drs.run_pass(1h);
  EXPECT_TRUE(stuck.migrations.empty());
  ASSERT_EQ(types(stuck.records), std::vector<std::string>{"DrsRuleCompliance"});
  v1::DrsRuleCompliance unmet;
  ASSERT_TRUE(unmet.ParseFromString(stuck.records[0].events[0].payload));
  EXPECT_EQ(unmet.vm_id(), "a1");
  EXPECT_EQ(unmet.rule(), "pinned");
  EXPECT_FALSE(unmet.met());
  EXPECT_FALSE(unmet.reason().empty());
  EXPECT_TRUE(drs.run_pass(2h).records.empty()) << "recorded once, not every pass";
  // h2 back: the pass moves a1; met once it stands on h2.
  drs.on_event(node_state(log, "h2", "connected"));
  const auto moving = drs.run_pass(3h);
  ASSERT_EQ(moving.migrations.size(), 1U);
  EXPECT_EQ(moving.migrations[0].target_node_id, "h2");
  const auto moving_types = types(moving.records);
  EXPECT_EQ(std::count(moving_types.begin(), moving_types.end(), "DrsRuleCompliance"), 0)
      << "still unmet while it moves";
  drs.on_event(migrated(log, "a1", "h2"));
  const auto met = drs.run_pass(4h);
  ASSERT_EQ(types(met.records), std::vector<std::string>{"DrsRuleCompliance"});
  v1::DrsRuleCompliance ok;
  ASSERT_TRUE(ok.ParseFromString(met.records[0].events[0].payload));
  EXPECT_TRUE(ok.met());
}

TEST(ha_controller_admission, a_breach_is_recorded_when_it_begins_and_when_it_ends) {
  // Three hosts of 64 vCPUs (16 threads x4); tolerating one failure leaves 128 vCPUs.
  qx::actors::ha::controller ha{{{15s, 10s}, {2}, 2min, 5min}};
  log_builder log;
  feed(ha, log.cluster("manual", true));
  for (const auto* h : {"h1", "h2", "h3"})
    feed(ha, log.host(h));
  const auto beat = [&](std::chrono::milliseconds at) {
    for (const auto* h : {"h1", "h2", "h3"})
      ha.on_heartbeat(h, at);
  };
  beat(0s);
  EXPECT_TRUE(ha.tick(1s).records.empty()) << "an empty cluster breaches nothing";
  for (int i = 0; i < 33; ++i) // 33 x 4 vCPUs = 132 > 128
    feed(ha, log.vm("v" + std::to_string(i), i % 2 == 0 ? "h1" : "h2", 1));
  beat(2s);
  const auto breached = ha.tick(2s);
  ASSERT_EQ(types(breached.records), std::vector<std::string>{"HaAdmissionChanged"});
  v1::HaAdmissionChanged ev;
  ASSERT_TRUE(ev.ParseFromString(breached.records[0].events[0].payload));
  EXPECT_TRUE(ev.breached());
  EXPECT_EQ(ev.cluster_id(), "c1");
  EXPECT_TRUE(ha.status_of("c1", 2s)->admission_breached);
  beat(3s);
  EXPECT_TRUE(ha.tick(3s).records.empty()) << "recorded once";
  ha.on_event(log.state("v0", "h1", "stopped"));
  ha.on_event(log.state("v1", "h2", "stopped"));
  beat(4s);
  const auto ended = ha.tick(4s);
  ASSERT_EQ(types(ended.records), std::vector<std::string>{"HaAdmissionChanged"});
  ASSERT_TRUE(ev.ParseFromString(ended.records[0].events[0].payload));
  EXPECT_FALSE(ev.breached());
  EXPECT_FALSE(ha.status_of("c1", 4s)->admission_breached);
}

} // namespace

namespace {

TEST(ha_controller_restart, a_restarted_server_resumes_the_restarts_of_a_failed_node_s_vms) {
  // Before the restart: h1 failed, its VMs were recorded stopped, nothing restarted yet.
  qx::actors::ha::config cfg{{15s, 10s}, {2}, 2min, 5min};
  qx::actors::ha::controller before{cfg};
  kept_log<decltype(before)> kept{before, {}, {}};
  kept.three_hosts(true);
  auto& log = kept.log;
  auto& history = kept.history;
  const auto keep = [&](std::vector<recorded_event> events) {
    kept.keep(std::move(events));
  };
  keep(log.vm("high", "h1", 5));
  keep(log.vm("none", "h1", 0));
  for (const auto* h : {"h1", "h2", "h3"})
    before.on_heartbeat(h, 0s);
  static_cast<void>(before.tick(0s));
  before.on_heartbeat("h2", 30s);
  before.on_heartbeat("h3", 30s);
  const auto failed = before.tick(30s);
  ASSERT_EQ(types(failed.records).back(), "HaNodeFailed");
  for (auto& e : as_recorded(failed.records, 1000))
    history.push_back(std::move(e));
  history.push_back(log.state("high", "h1", "stopped"));
  history.push_back(log.state("none", "h1", "stopped"));

  cfg.catch_up_first = true;
  qx::actors::ha::controller after{cfg};
  feed(after, history);
  after.go_live();
  EXPECT_EQ(after.queued(), 1U) << "the protected VM waits; the unprotected one does not";
  after.on_heartbeat("h2", 100s);
  after.on_heartbeat("h3", 100s);
  const auto resumed = after.tick(100s);
  for (const auto& t : types(resumed.records))
    EXPECT_NE(t, "HaNodeRecovered") << "h1 was never heard from again";
  ASSERT_EQ(resumed.starts.size(), 1U);
  EXPECT_EQ(resumed.starts[0].vm_id, "high");
  EXPECT_NE(resumed.starts[0].node_id, "h1") << "not on the failed node";
  const auto status = after.status_of("c1", 100s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->nodes[0].state, "failed");

  // A VM already restarted before the server stopped is not restarted again.
  qx::actors::ha::controller again{cfg};
  auto done = history;
  done.push_back(log.state("high", "h2", "starting"));
  done.push_back(log.state("high", "h2", "running"));
  feed(again, done);
  again.go_live();
  EXPECT_EQ(again.queued(), 0U);
}

} // namespace
