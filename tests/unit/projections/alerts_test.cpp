#include "projection_fixture.hpp"

#include <qx/events/text_fields.hpp>
#include <qx/events/v1/drs.pb.h>
#include <qx/events/v1/ha.pb.h>

#include <google/protobuf/text_format.h>

namespace qx::test {
namespace {

using actors::alert_aggregate;
using actors::node_aggregate;
using actors::storage_pool_aggregate;
using actors::vm_aggregate;
namespace node = domain::node;
namespace pool = domain::storage_pool;

class alerts_test : public projection_fixture {
 protected:
  void SetUp() override {
    run<node_aggregate>("n1", node::register_node{"h1", "10.0.0.1", hardware(8, 16384), ""});
  }
  std::vector<projections::alert> all(const projections::host& h) {
    return h.alert_model().list("", 100, "", "");
  }
  void create_vm(const std::string& id) {
    domain::vm::create c;
    c.spec.set_name(id);
    c.spec.set_vcpus(1);
    c.spec.set_memory_mib(512);
    run<vm_aggregate>(id, c);
  }
  /// Appends one decision of a reactor (its fields in protobuf text) as the DRS and HA actors
  /// write it.
  template<class Message>
  void decide(const std::string& stream, const std::string& text) {
    Message m;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
    events::append_request req;
    req.stream = stream;
    req.expected = events::expected_version::any();
    req.events.push_back(
        {std::string{Message::descriptor()->full_name()}, events::serialize_deterministic(m)});
    req.metadata.actor = stream.starts_with("ha-") ? "system:ha" : "system:drs";
    auto r = store->append(std::move(req));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
  }
  /// The open alerts of `rule`.
  std::vector<projections::alert> open_of(const projections::host& h, const std::string& rule) {
    auto out = h.alert_model().list("", 100, "open", "");
    std::erase_if(out, [&](const projections::alert& a) { return a.rule != rule; });
    return out;
  }
};

TEST_F(alerts_test, a_disconnected_node_raises_a_critical_alert_that_clears_on_reconnect) {
  projections::host h{*store};
  h.start();
  run<node_aggregate>("n1", node::disconnect{"link down"});
  settle(h);
  auto alerts = all(h);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].rule, "node_disconnected");
  EXPECT_EQ(alerts[0].severity, "critical");
  EXPECT_EQ(alerts[0].state, "open");
  EXPECT_EQ(alerts[0].target, "node-n1");
  EXPECT_NE(alerts[0].message.find("link down"), std::string::npos);
  run<node_aggregate>("n1", node::connect{});
  settle(h);
  alerts = all(h);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].state, "resolved");
  EXPECT_EQ(alerts[0].resolved_by, "system:condition-cleared");
  // A second disconnect is a new alert.
  run<node_aggregate>("n1", node::disconnect{""});
  settle(h);
  EXPECT_EQ(h.alert_model().list("", 100, "open", "").size(), 1U);
}

TEST_F(alerts_test, a_vm_in_error_raises_an_alert) {
  projections::host h{*store};
  h.start();
  create_vm("v");
  run<vm_aggregate>("v", domain::vm::mark_error{"disk gone"});
  settle(h);
  const auto open = h.alert_model().list("", 100, "open", "critical");
  ASSERT_EQ(open.size(), 1U);
  EXPECT_EQ(open[0].rule, "vm_error");
}

TEST_F(alerts_test, a_pool_over_85_percent_raises_a_warning_and_clears_below) {
  projections::host h{*store};
  h.start();
  run<storage_pool_aggregate>("p", pool::create{"p", "dir", {{"path", "/srv"}}, 1000ULL << 20U});
  run<storage_pool_aggregate>("p", pool::add_volume{"v1", 800ULL << 20U});
  settle(h);
  EXPECT_TRUE(all(h).empty()); // 80 %
  run<storage_pool_aggregate>("p", pool::add_volume{"v2", 100ULL << 20U});
  settle(h);
  auto alerts = all(h);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].rule, "pool_usage");
  EXPECT_EQ(alerts[0].severity, "warning");
  run<storage_pool_aggregate>("p", pool::remove_volume{"v2"});
  settle(h);
  EXPECT_EQ(all(h)[0].state, "resolved");
}

TEST_F(alerts_test, acknowledge_and_resolve_are_events_applied_with_their_principal) {
  projections::host h{*store};
  h.start();
  run<node_aggregate>("n1", node::disconnect{""});
  settle(h);
  const auto id = all(h)[0].id;
  run<alert_aggregate>(id, domain::alert::acknowledge{"looking"}, "user:alice");
  settle(h);
  EXPECT_EQ(h.alert_model().get(id)->state, "acknowledged");
  EXPECT_EQ(h.alert_model().get(id)->acknowledged_by, "user:alice");
  run<alert_aggregate>(id, domain::alert::resolve{"fixed"}, "user:bob");
  settle(h);
  EXPECT_EQ(h.alert_model().get(id)->state, "resolved");
  EXPECT_EQ(h.alert_model().get(id)->resolved_by, "user:bob");
  // Resolved by hand: the condition is no longer tracked, so a reconnect changes nothing.
  run<node_aggregate>("n1", node::connect{});
  settle(h);
  EXPECT_EQ(h.alert_model().get(id)->resolved_by, "user:bob");
}

TEST_F(alerts_test, the_alert_decider_refuses_anything_after_resolve) {
  auto s = domain::alert::initial("a");
  auto ack = domain::alert::decide(s, domain::alert::acknowledge{""});
  ASSERT_TRUE(ack.has_value());
  ASSERT_EQ(ack->size(), 1U);
  domain::alert::evolve(s, ack->front());
  EXPECT_TRUE(domain::alert::decide(s, domain::alert::acknowledge{""})->empty());
  auto res = domain::alert::decide(s, domain::alert::resolve{""});
  ASSERT_TRUE(res.has_value());
  domain::alert::evolve(s, res->front());
  const auto again = domain::alert::decide(s, domain::alert::resolve{""});
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().details.at("reason"), "ALERT_RESOLVED");
  const auto long_comment = domain::alert::decide(
      domain::alert::initial("b"), domain::alert::acknowledge{std::string(2000, 'x')});
  ASSERT_FALSE(long_comment.has_value());
  EXPECT_EQ(long_comment.error().details.at("field"), "comment");
}

// The reactors' decisions raise alerts on the node, VM or cluster they concern, and the
// decision that ends the condition clears them.
TEST_F(alerts_test, ha_and_drs_decisions_raise_alerts_that_clear_with_the_condition) {
  projections::host h{*store};
  h.start();
  create_vm("v");
  decide<events::v1::HaNodeFailed>("ha-c1", R"(cluster_id: "c1" node_id: "n1" vm_ids: "v")");
  decide<events::v1::HaVmLeftDown>("ha-c1",
                                   R"(cluster_id: "c1" vm_id: "v" reason: "NO_SUITABLE_NODE")");
  decide<events::v1::HaAdmissionChanged>(
      "ha-c1", R"(cluster_id: "c1" breached: true detail: "one more failure leaves VMs down")");
  decide<events::v1::DrsRuleCompliance>(
      "drs-c1", R"(cluster_id: "c1" vm_id: "v" rule: "pinned" reason: "NO_SUITABLE_HOST")");
  settle(h);
  ASSERT_EQ(open_of(h, "ha_node_failed").size(), 1U);
  EXPECT_EQ(open_of(h, "ha_node_failed")[0].target, "node-n1");
  EXPECT_EQ(open_of(h, "ha_node_failed")[0].severity, "critical");
  ASSERT_EQ(open_of(h, "ha_vm_left_down").size(), 1U);
  EXPECT_EQ(open_of(h, "ha_vm_left_down")[0].target, "vm-v");
  EXPECT_NE(open_of(h, "ha_vm_left_down")[0].message.find("NO_SUITABLE_NODE"), std::string::npos);
  ASSERT_EQ(open_of(h, "ha_admission_breached").size(), 1U);
  EXPECT_EQ(open_of(h, "ha_admission_breached")[0].target, "cluster-c1");
  ASSERT_EQ(open_of(h, "drs_rule_unmet:pinned").size(), 1U);
  EXPECT_EQ(open_of(h, "drs_rule_unmet:pinned")[0].target, "vm-v");

  decide<events::v1::HaNodeRecovered>("ha-c1", R"(cluster_id: "c1" node_id: "n1")");
  decide<events::v1::HaAdmissionChanged>("ha-c1", R"(cluster_id: "c1" breached: false)");
  decide<events::v1::DrsRuleCompliance>("drs-c1",
                                        R"(cluster_id: "c1" vm_id: "v" rule: "pinned" met: true)");
  run<vm_aggregate>("v", domain::vm::start{"n2"});
  settle(h);
  EXPECT_EQ(open_of(h, "ha_vm_left_down").size(), 1U); // starting is not running yet
  run<vm_aggregate>("v", domain::vm::confirm_running{});
  settle(h);
  EXPECT_TRUE(open_of(h, "ha_node_failed").empty());
  EXPECT_TRUE(open_of(h, "ha_admission_breached").empty());
  EXPECT_TRUE(open_of(h, "drs_rule_unmet:pinned").empty());
  EXPECT_TRUE(open_of(h, "ha_vm_left_down").empty());
}

TEST_F(alerts_test, a_rebuild_raises_the_same_alerts_with_the_same_ids) {
  projections::host live{*store};
  live.start();
  run<node_aggregate>("n1", node::disconnect{""});
  run<node_aggregate>("n1", node::connect{});
  run<node_aggregate>("n1", node::disconnect{""});
  settle(live);
  projections::host rebuilt{*store};
  rebuilt.start();
  settle(rebuilt);
  const auto a = all(live);
  const auto b = all(rebuilt);
  ASSERT_EQ(a.size(), 2U);
  ASSERT_EQ(b.size(), 2U);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].state, b[i].state);
  }
}

} // namespace
} // namespace qx::test
