#include <qx/actors/domain/placement.hpp>

#include <gtest/gtest.h>

using namespace qx;
using namespace qx::domain::placement;

namespace {

node_view node(std::string id, std::uint64_t cpu_used, std::uint64_t mem_used,
               std::string state = "connected") {
  return {std::move(id), std::move(state), 16.0, cpu_used, 16384.0, mem_used, {"pool-a"}};
}

request vm(std::uint32_t vcpus, std::uint64_t mem, std::set<std::string> pools = {"pool-a"}) {
  return {"vm-1", vcpus, mem, std::move(pools)};
}

TEST(placement, picks_the_least_allocated_node_that_fits) {
  auto c = choose(vm(2, 1024), {node("n1", 8, 8192), node("n2", 2, 2048), node("n3", 4, 1024)});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->node_id, "n2");
  EXPECT_DOUBLE_EQ(c->load_after, 0.25);
}

TEST(placement, ties_go_to_the_smaller_id) {
  auto c = choose(vm(1, 512), {node("n2", 0, 0), node("n1", 0, 0)});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->node_id, "n1");
}

TEST(placement, every_filter_rejects_with_its_reason) {
  auto full_cpu = node("cpu", 15, 0);
  auto full_mem = node("mem", 0, 16000);
  auto down = node("down", 0, 0, "disconnected");
  auto maint = node("maint", 0, 0, "maintenance");
  auto no_pool = node("nopool", 0, 0);
  no_pool.pool_ids.clear();
  auto r = choose(vm(2, 1024), {full_cpu, full_mem, down, maint, no_pool});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::resource_exhausted);
  EXPECT_EQ(r.error().details.at("reason"), "NO_SUITABLE_NODE");
  EXPECT_EQ(r.error().details.at("node.cpu"), "INSUFFICIENT_CPU");
  EXPECT_EQ(r.error().details.at("node.mem"), "INSUFFICIENT_MEMORY");
  EXPECT_EQ(r.error().details.at("node.down"), "NODE_NOT_CONNECTED");
  EXPECT_EQ(r.error().details.at("node.maint"), "NODE_IN_MAINTENANCE");
  EXPECT_EQ(r.error().details.at("node.nopool"), "POOL_NOT_ASSIGNED");
}

TEST(placement, capacity_is_inclusive_at_the_boundary) {
  EXPECT_EQ(reject_reason(node("n", 14, 0), vm(2, 0)), "");
  EXPECT_EQ(reject_reason(node("n", 15, 0), vm(2, 0)), "INSUFFICIENT_CPU");
  EXPECT_EQ(reject_reason(node("n", 0, 16383), vm(1, 1)), "");
  EXPECT_EQ(reject_reason(node("n", 0, 16384), vm(1, 1)), "INSUFFICIENT_MEMORY");
}

TEST(placement, no_nodes_is_no_suitable_node) {
  auto r = choose(vm(1, 1), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().details.at("reason"), "NO_SUITABLE_NODE");
}

} // namespace
