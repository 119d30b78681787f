// HA's pure rules: when a node is suspect or failed, when its agent fences itself (always
// before anyone restarts its VMs), admission control, and where protected VMs restart.
#include <qx/actors/domain/ha.hpp>
#include <qx/actors/domain/node.hpp>

#include <gtest/gtest.h>

#include <random>

namespace qx::domain::ha {
namespace {

using std::chrono::milliseconds;

placement::node_view make_node(const std::string& id, double cpu = 64, double memory = 65536,
                               std::uint64_t cpu_used = 0, std::uint64_t memory_used = 0) {
  placement::node_view n;
  n.id = id;
  n.state = node::states::connected;
  n.cpu_capacity = cpu;
  n.memory_capacity_mib = memory;
  n.cpu_allocated = cpu_used;
  n.memory_allocated_mib = memory_used;
  n.pool_ids = {"shared"};
  return n;
}

protected_vm make_vm(const std::string& id, std::int32_t priority = 0, std::uint32_t vcpus = 2,
                     std::uint64_t memory_mib = 2048) {
  protected_vm v;
  v.id = id;
  v.priority = priority;
  v.vcpus = vcpus;
  v.memory_mib = memory_mib;
  v.pool_ids = {"shared"};
  return v;
}

std::string node_of(const restart_plan& p, const std::string& vm) {
  for (const auto& tier : p.tiers)
    for (const auto& r : tier)
      if (r.vm_id == vm)
        return r.node_id;
  return {};
}

TEST(ha, lease_then_fence_bound_then_failed) {
  const lease_settings s{milliseconds{15'000}, milliseconds{10'000}};
  const time_point hb{100'000};
  EXPECT_EQ(health_of(hb, hb + milliseconds{15'000}, s), health::healthy);
  EXPECT_EQ(health_of(hb, hb + milliseconds{15'001}, s), health::suspect);
  EXPECT_EQ(health_of(hb, hb + milliseconds{25'000}, s), health::suspect);
  EXPECT_EQ(health_of(hb, hb + milliseconds{25'001}, s), health::failed);
  EXPECT_FALSE(must_self_fence(hb, hb + milliseconds{15'000}, s));
  EXPECT_TRUE(must_self_fence(hb, hb + milliseconds{15'001}, s));
}

// The invariant behind "never two running copies": whenever the control plane sees a node as
// failed, that node's agent has been fenced for at least the fence bound.
TEST(ha, a_failed_node_has_been_fenced_for_the_whole_bound) {
  std::mt19937_64 rng{3};
  std::uniform_int_distribution<std::int64_t> ms{0, 120'000};
  for (int i = 0; i < 20'000; ++i) {
    const lease_settings s{milliseconds{1 + ms(rng) % 30'000}, milliseconds{ms(rng) % 20'000}};
    const time_point last{ms(rng)};
    const time_point now = last + milliseconds{ms(rng)};
    if (health_of(last, now, s) == health::failed) {
      EXPECT_TRUE(must_self_fence(last, now - s.fence_bound, s))
          << "lease " << s.lease.count() << " bound " << s.fence_bound.count();
    }
  }
}

TEST(ha, admission_keeps_room_for_the_largest_failures) {
  // Three nodes of 100 vCPUs, 150 allocated: losing the largest leaves 200.
  std::vector<placement::node_view> nodes = {
      make_node("a", 100, 1e6, 50), make_node("b", 100, 1e6, 50), make_node("c", 100, 1e6, 50)};
  admission a;
  a.policy = "host_failures";
  a.host_failures_to_tolerate = 1;
  EXPECT_TRUE(admits(nodes, 50, 0, a));
  EXPECT_FALSE(admits(nodes, 51, 0, a));
  a.host_failures_to_tolerate = 2;
  EXPECT_FALSE(admits(nodes, 0, 0, a)) << "150 allocated > 100 left after two failures";
  a.host_failures_to_tolerate = 0;
  EXPECT_TRUE(admits(nodes, 150, 0, a));
  // A disconnected node's capacity does not count.
  nodes[2].state = node::states::disconnected;
  a.host_failures_to_tolerate = 1;
  EXPECT_FALSE(admits(nodes, 1, 0, a));
  nodes[2].state = node::states::connected;
  // Percentage: 25 % of 300 stays free.
  a.policy = "percentage";
  a.reserved_cpu_percent = 25;
  EXPECT_TRUE(admits(nodes, 75, 0, a));
  EXPECT_FALSE(admits(nodes, 76, 0, a));
  // Memory is checked the same way.
  a.reserved_cpu_percent = 0;
  a.reserved_memory_percent = 50;
  EXPECT_FALSE(admits(nodes, 0, 1'500'001, a));
  a.policy = "";
  EXPECT_TRUE(admits(nodes, 10'000, 10'000'000, a)) << "admission control off";
}

TEST(ha, restarts_go_by_priority_to_the_least_allocated_node) {
  const std::vector<protected_vm> vms = {make_vm("low", -1), make_vm("high-b", 2),
                                         make_vm("mid", 0), make_vm("high-a", 2)};
  const auto p = plan_restarts(vms, {make_node("n1", 64, 65536, 10), make_node("n2")}, {}, {},
                               restart_settings{});
  ASSERT_EQ(p.tiers.size(), 3u);
  ASSERT_EQ(p.tiers[0].size(), 2u);
  EXPECT_EQ(p.tiers[0][0].vm_id, "high-a");
  EXPECT_EQ(p.tiers[0][1].vm_id, "high-b");
  EXPECT_EQ(p.tiers[1][0].vm_id, "mid");
  EXPECT_EQ(p.tiers[2][0].vm_id, "low");
  EXPECT_EQ(node_of(p, "high-a"), "n2") << "n1 is more allocated";
  EXPECT_TRUE(p.left_down.empty());
}

TEST(ha, what_cannot_restart_is_left_down_with_its_reason) {
  std::vector<protected_vm> vms = {make_vm("huge", 0, 2, 1'000'000), make_vm("tried", 0)};
  vms[1].restarts = 3;
  const auto p = plan_restarts(vms, {make_node("n1")}, {}, {}, restart_settings{3});
  EXPECT_TRUE(p.tiers.empty());
  EXPECT_EQ(p.left_down.at("huge"), "NO_SUITABLE_NODE");
  EXPECT_EQ(p.left_down.at("tried"), "MAX_RESTARTS");
  // Capacity is used up as the plan goes: the second VM no longer fits.
  const auto full = plan_restarts({make_vm("a", 1, 40), make_vm("b", 0, 40)}, {make_node("n1")}, {},
                                  {}, restart_settings{});
  EXPECT_EQ(node_of(full, "a"), "n1");
  EXPECT_EQ(full.left_down.at("b"), "NO_SUITABLE_NODE");
}

TEST(ha, restarts_keep_the_rules) {
  const std::vector<drs::rule> rules = {
      {"apart", drs::rule_kind::keep_apart, {"db1", "db2", "db3"}, {}},
      {"pin", drs::rule_kind::must_run_on, {"lic"}, {"n3"}},
      {"not-n1", drs::rule_kind::must_not_run_on, {"web"}, {"n1"}},
      {"prefer-n1", drs::rule_kind::should_run_on, {"cache"}, {"n1"}},
  };
  const std::map<std::string, std::string> running = {{"db3", "n2"}};
  const std::vector<protected_vm> vms = {make_vm("db1"), make_vm("db2"), make_vm("lic"),
                                         make_vm("web"), make_vm("cache")};
  const auto nodes = std::vector{make_node("n1"), make_node("n2"), make_node("n3"),
                                 make_node("n4", 64, 65536, 60)};
  const auto p = plan_restarts(vms, nodes, rules, running, restart_settings{});
  EXPECT_TRUE(p.left_down.empty());
  EXPECT_NE(node_of(p, "db1"), "n2");
  EXPECT_NE(node_of(p, "db2"), "n2");
  EXPECT_NE(node_of(p, "db1"), node_of(p, "db2"));
  EXPECT_EQ(node_of(p, "lic"), "n3");
  EXPECT_NE(node_of(p, "web"), "n1");
  EXPECT_EQ(node_of(p, "cache"), "n1");
  // The preferred node full: the VM goes elsewhere rather than stay down.
  auto busy = nodes;
  busy[0].cpu_allocated = 64;
  EXPECT_NE(
      node_of(plan_restarts({make_vm("cache")}, busy, rules, {}, restart_settings{}), "cache"), "");
  // Only the pinned node, and it is full: down, and the rule is named.
  auto pinned_full = nodes;
  pinned_full[2].cpu_allocated = 64;
  const auto down = plan_restarts({make_vm("lic")}, pinned_full, rules, {}, restart_settings{});
  EXPECT_EQ(down.left_down.at("lic"), "RULE:pin");
}

} // namespace
} // namespace qx::domain::ha
