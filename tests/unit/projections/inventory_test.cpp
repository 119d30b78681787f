#include "projection_fixture.hpp"

#include <qx/projections/usage.hpp>

namespace qx::test {
namespace {

using actors::cluster_aggregate;
using actors::node_aggregate;
using actors::storage_pool_aggregate;
using actors::vm_aggregate;
namespace vm = domain::vm;
namespace node = domain::node;

class inventory_test : public projection_fixture {
 protected:
  vm::create vm_create(const std::string& name, std::uint32_t vcpus) {
    vm::create c;
    c.spec.set_name(name);
    c.spec.set_vcpus(vcpus);
    c.spec.set_memory_mib(1024);
    return c;
  }
  void populate() {
    run<node_aggregate>("n1", node::register_node{"h1", "10.0.0.1", hardware(16, 65536), ""});
    run<node_aggregate>("n2", node::register_node{"h2", "10.0.0.2", hardware(8, 32768), ""});
    run<cluster_aggregate>("c1", domain::cluster::create{"prod", "", {}, {}});
    run<node_aggregate>("n1", node::join_cluster{"c1"});
    run<cluster_aggregate>("c1", domain::cluster::add_node{"n1"});
    for (int i = 0; i < 5; ++i)
      run<vm_aggregate>("vm" + std::to_string(i), vm_create("vm" + std::to_string(i), 2));
    run<node_aggregate>("n1", node::reserve{"vm1", 2, 1024});
    run<vm_aggregate>("vm1", vm::start{"n1"});
    run<vm_aggregate>("vm1", vm::confirm_running{});
    run<vm_aggregate>("vm4", vm::remove{});
  }
};

TEST_F(inventory_test, shows_each_resource_at_its_stream_version) {
  projections::host h{*store};
  h.start();
  populate();
  settle(h);
  const auto vm1 = h.inv().get<vm_aggregate>("vm1");
  ASSERT_TRUE(vm1.has_value());
  EXPECT_EQ(vm1->state.power_state(), "running");
  EXPECT_EQ(vm1->state.node_id(), "n1");
  EXPECT_EQ(vm1->version, 3U);
  EXPECT_EQ(h.inv().get<node_aggregate>("n1")->state.cluster_id(), "c1");
  EXPECT_FALSE(h.inv().get<vm_aggregate>("nope").has_value());
}

TEST_F(inventory_test, deleted_resources_are_gone_for_readers_but_kept_for_the_last_answer) {
  projections::host h{*store};
  h.start();
  populate();
  settle(h);
  EXPECT_FALSE(h.inv().get<vm_aggregate>("vm4").has_value());
  const auto gone = h.inv().get<vm_aggregate>("vm4", true);
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->state.power_state(), "deleted");
  const auto all = h.inv().list<vm_aggregate>("", 100);
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(all.front().state.id(), "vm0");
}

TEST_F(inventory_test, lists_page_by_id_and_filter) {
  projections::host h{*store};
  h.start();
  populate();
  settle(h);
  const auto first = h.inv().list<vm_aggregate>("", 2);
  ASSERT_EQ(first.size(), 2U);
  const auto second = h.inv().list<vm_aggregate>(first.back().state.id(), 2);
  ASSERT_EQ(second.size(), 2U);
  EXPECT_EQ(second.front().state.id(), "vm2");
  const auto running = h.inv().list<vm_aggregate>(
      "", 100, [](const auto& r) { return r.state.power_state() == "running"; });
  ASSERT_EQ(running.size(), 1U);
  EXPECT_EQ(running.front().state.id(), "vm1");
}

TEST_F(inventory_test, a_rebuild_from_the_log_gives_the_same_models) {
  projections::host live{*store};
  live.start();
  populate();
  settle(live);
  projections::host rebuilt{*store};
  rebuilt.start();
  settle(rebuilt);
  ASSERT_TRUE(rebuilt.caught_up());
  actors::for_each_aggregate([&](auto t) {
    using A = typename decltype(t)::type;
    const auto a = live.inv().list<A>("", 1000);
    const auto b = rebuilt.inv().list<A>("", 1000);
    ASSERT_EQ(a.size(), b.size()) << A::kind;
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].state.SerializeAsString(), b[i].state.SerializeAsString()) << A::kind;
      EXPECT_EQ(a[i].version, b[i].version);
      EXPECT_EQ(a[i].position, b[i].position);
    }
  });
  EXPECT_EQ(live.index().size(), rebuilt.index().size());
}

TEST_F(inventory_test, cluster_usage_sums_member_nodes_only) {
  projections::host h{*store};
  h.start();
  populate();
  settle(h);
  const auto u = projections::usage_of(h.inv(), "c1");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->nodes, 1U);
  EXPECT_EQ(u->cpu_threads, 16U);
  EXPECT_EQ(u->cpu_capacity, 64U); // 16 threads x default overcommit 4
  EXPECT_EQ(u->cpu_allocated, 2U);
  EXPECT_EQ(u->memory_allocated_mib, 1024U);
  EXPECT_FALSE(projections::usage_of(h.inv(), "c2").has_value());
}

TEST_F(inventory_test, events_of_unknown_streams_and_types_are_ignored_not_fatal) {
  projections::host h{*store};
  h.start();
  auto r = store->append(make_append("other-1", events::expected_version::any(), {"x"}));
  ASSERT_TRUE(r.has_value());
  events::append_request bad;
  bad.stream = "vm-x";
  bad.events.push_back({"qx.events.v1.FutureEvent", "zzz"});
  ASSERT_TRUE(store->append(std::move(bad)).has_value());
  run<vm_aggregate>("ok", vm_create("ok", 1));
  settle(h);
  EXPECT_EQ(h.inv().skipped(), 1U);
  EXPECT_TRUE(h.inv().get<vm_aggregate>("ok").has_value());
}

TEST_F(inventory_test, when_applied_runs_once_the_position_is_applied) {
  projections::host h{*store};
  h.start();
  std::atomic<int> ran{0};
  h.when_applied(2, [&] { ++ran; });
  run<vm_aggregate>("a", vm_create("a", 1));
  settle(h);
  EXPECT_EQ(ran.load(), 0);
  run<vm_aggregate>("b", vm_create("b", 1));
  settle(h);
  EXPECT_EQ(ran.load(), 1);
  h.when_applied(1, [&] { ++ran; }); // already applied: at once
  EXPECT_EQ(ran.load(), 2);
}

} // namespace
} // namespace qx::test
