#include <qx/actors/domain/placement.hpp>

#include <gtest/gtest.h>

#include <map>

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

TEST(placement, pack_picks_the_most_allocated_node_that_fits) {
  const std::vector<node_view> nodes{node("n1", 8, 8192), node("n2", 2, 2048),
                                     node("n3", 15, 1024)};
  auto c = choose(vm(2, 1024), nodes, strategy::pack);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->node_id, "n1"); // n3 is fuller but has 1 vCPU left: it does not fit
  EXPECT_EQ(strategy_named("pack"), strategy::pack);
  EXPECT_EQ(strategy_named("spread"), strategy::spread);
  EXPECT_FALSE(strategy_named("Pack"));
  EXPECT_EQ(name_of(strategy::pack), "pack");
}

/// The view of `id` after adding what `f` holds in flight to what was read.
node_view with_in_flight(const in_flight& f, const node_view& read, std::uint64_t version) {
  std::vector<node_view> views{read};
  f.add_to(views, {{read.id, version}});
  return views[0];
}

TEST(in_flight, a_choice_counts_for_later_choices_until_the_node_state_shows_it) {
  in_flight f;
  const auto first = f.begin_read();
  const auto t = f.hold("n1", "vm-1", 4, 1024);
  f.end_read(first);
  // Read before the reservation was answered (version 7, the reservation will make 8).
  const auto second = f.begin_read();
  EXPECT_EQ(with_in_flight(f, node("n1", 2, 512), 7).cpu_allocated, 6U);
  f.settled(t, 8);
  // Same read, now known older than the reservation: still counted.
  EXPECT_EQ(with_in_flight(f, node("n1", 2, 512), 7).memory_allocated_mib, 1536U);
  // A read that saw version 8 shows it already: not counted twice.
  EXPECT_EQ(with_in_flight(f, node("n1", 6, 1536), 8).cpu_allocated, 6U);
  EXPECT_EQ(f.size(), 1U); // the second read began before it settled
  f.end_read(second);
  EXPECT_EQ(f.size(), 0U); // every later read shows it
}

TEST(in_flight, a_refused_reservation_is_forgotten_at_once_and_other_nodes_are_untouched) {
  in_flight f;
  const auto read = f.begin_read();
  const auto t = f.hold("n1", "vm-1", 4, 1024);
  EXPECT_EQ(with_in_flight(f, node("n2", 0, 0), 3).cpu_allocated, 0U);
  f.settled(t, std::nullopt);
  EXPECT_EQ(f.size(), 0U);
  EXPECT_EQ(with_in_flight(f, node("n1", 0, 0), 3).cpu_allocated, 0U);
  f.end_read(read);
}

TEST(in_flight, choices_made_together_spread_like_one_by_one) {
  // 12 VMs chosen from the same stale read of three empty nodes.
  in_flight f;
  const std::vector<node_view> read{node("a", 0, 0), node("b", 0, 0), node("c", 0, 0)};
  std::map<std::string, int> count;
  for (int i = 0; i < 12; ++i) {
    const auto r = f.begin_read();
    auto views = read;
    f.add_to(views, {{"a", 1}, {"b", 1}, {"c", 1}});
    const auto c = choose(vm(1, 256), views);
    ASSERT_TRUE(c);
    ++count[c->node_id];
    (void)f.hold(c->node_id, "vm-" + std::to_string(i), 1, 256);
    f.end_read(r);
  }
  EXPECT_EQ(count, (std::map<std::string, int>{{"a", 4}, {"b", 4}, {"c", 4}}));
}
} // namespace

namespace {

node_view holding(std::string id, std::set<std::string> vms) {
  auto n = node(std::move(id), 0, 0);
  n.vm_ids = std::move(vms);
  return n;
}

TEST(placement, a_keep_apart_peer_on_a_node_rules_it_out_with_the_rules_name) {
  auto req = vm(1, 512);
  req.rules.apart = {{"db-2", "db-apart"}};
  // n1 is the least allocated but holds the peer (perhaps only as a reservation in flight).
  auto n1 = holding("n1", {"db-2"});
  auto n2 = node("n2", 4, 4096);
  const auto c = choose(req, {n1, n2});
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->node_id, "n2");
  // Named alone: refused as a rule violation, not as a lack of room.
  const auto alone = choose(req, {n1});
  ASSERT_FALSE(alone);
  EXPECT_EQ(alone.error().code, errc::failed_precondition);
  EXPECT_EQ(alone.error().details.at("reason"), "RULE_VIOLATION");
  EXPECT_EQ(alone.error().details.at("rule"), "db-apart");
  // Rules and room both refuse: no room is the answer (a rule alone did not stop it).
  const auto mixed = choose(req, {n1, node("full", 16, 0)});
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error().details.at("reason"), "NO_SUITABLE_NODE");
  EXPECT_EQ(mixed.error().details.at("node.n1"), "RULE_VIOLATION");
}

TEST(placement, keep_together_follows_the_peer_wherever_it_is_held) {
  auto req = vm(1, 512);
  req.rules.together = {{"web-2", "web-pair"}};
  const auto c = choose(req, {node("n1", 0, 0), holding("n2", {"web-2"}), node("n3", 0, 0)});
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->node_id, "n2") << "although n1 is as empty and has the smaller id";
  // The peer nowhere yet: any node will do.
  const auto free = choose(req, {node("n1", 0, 0), node("n3", 0, 0)});
  ASSERT_TRUE(free);
  EXPECT_EQ(free->node_id, "n1");
}

TEST(placement, the_highest_should_run_rank_that_fits_wins_before_the_strategy) {
  auto req = vm(2, 1024);
  req.rank = {{"n3", 2}, {"n2", 1}};
  const std::vector<node_view> nodes{node("n1", 0, 0), node("n2", 8, 8192), node("n3", 15, 0)};
  const auto c = choose(req, nodes);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->node_id, "n2") << "n3 ranks higher but is full; n1 is emptier but ranks 0";
  req.rank["n3"] = 0;
  req.rank["n1"] = 1;
  EXPECT_EQ(choose(req, nodes, strategy::pack)->node_id, "n2") << "equal ranks: the strategy";
}

TEST(placement, reservations_in_flight_carry_their_vm_for_the_rules) {
  in_flight f;
  const auto read = f.begin_read();
  std::vector<node_view> views{node("n1", 0, 0)};
  const auto t = f.hold("n1", "db-2", 1, 256);
  f.add_to(views, {{"n1", 1}});
  EXPECT_TRUE(views[0].vm_ids.contains("db-2"));
  f.end_read(read);
  f.settled(t, std::nullopt);
}

} // namespace
