// Rules that span aggregates, through the datacenter coordinator, on the deterministic
// scheduler over the in-memory store.
#include "caf_fixture.hpp"

#include <qx/actors/datacenter.hpp>
#include <qx/events/memory_store.hpp>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <set>

using namespace qx;
using namespace qx::actors;
namespace vm = qx::domain::vm;
namespace node = qx::domain::node;
namespace cl = qx::domain::cluster;
namespace pool = qx::domain::storage_pool;
namespace vol = qx::domain::volume;
namespace v1 = qx::events::v1;

namespace {

const command_meta meta{"user:test", "", "corr", "", {}};

class datacenter_test : public ::testing::Test {
 protected:
  void SetUp() override { start(); }
  void TearDown() override {
    shutdown(dc_);
    ds_->sched().run();
  }

  void start() {
    ds_ = std::make_unique<test::deterministic_system>();
    auto dc = spawn_datacenter(ds_->sys(), *store_, {std::chrono::hours{1}, 64});
    ASSERT_TRUE(dc);
    dc_ = *dc;
  }

  template<class A>
  command_outcome run(std::string id, typename A::command c) {
    return ds_->ask<command_outcome>(dc_.coordinator,
                                     command_request<A>{std::move(id), std::move(c), meta});
  }
  placement_outcome start_vm_on(std::string id, std::string node_id = {}) {
    return ds_->ask<placement_outcome>(dc_.coordinator,
                                       start_vm{std::move(id), std::move(node_id), meta, {}});
  }
  node::state node_state(const std::string& id) {
    return ds_->ask<state_outcome<node_aggregate>>(dc_.nodes, get_atom::value, id)->state;
  }
  vm::state vm_state(const std::string& id) {
    return ds_->ask<state_outcome<vm_aggregate>>(dc_.vms, get_atom::value, id)->state;
  }

  void add_node(const std::string& id, std::uint32_t threads) {
    node::register_node r{id + ".lab", "10.0.0.1", {}, ""};
    r.hardware.set_cpu_cores(threads);
    r.hardware.set_cpu_threads(threads);
    r.hardware.set_memory_mib(65536);
    ASSERT_TRUE(run<node_aggregate>(id, r));
  }
  void add_vm(const std::string& id, std::uint32_t vcpus, std::vector<std::string> volumes = {}) {
    v1::VmSpec spec;
    spec.set_name(id);
    spec.set_vcpus(vcpus);
    spec.set_memory_mib(1024);
    for (auto& v : volumes)
      spec.add_volume_ids(v);
    ASSERT_TRUE(run<vm_aggregate>(id, vm::create{spec}));
  }

  std::unique_ptr<events::event_store> store_ = events::make_memory_store();
  std::unique_ptr<test::deterministic_system> ds_;
  datacenter dc_;
};

TEST_F(datacenter_test, placement_reserves_capacity_on_the_least_allocated_node) {
  add_node("small", 4); // 16 vCPUs with the default 4x overcommit
  add_node("big", 16);  // 64 vCPUs
  add_vm("vm-1", 8);
  auto placed = start_vm_on("vm-1");
  ASSERT_TRUE(placed) << placed.error().to_string();
  EXPECT_EQ(placed->node_id, "big");
  EXPECT_EQ(vm_state("vm-1").power_state(), "starting");
  EXPECT_EQ(node::allocated_vcpus(node_state("big")), 8U);
  EXPECT_EQ(node::allocated_vcpus(node_state("small")), 0U);
}

/// Sends every start at once (none waits for another's answer), then runs the scheduler:
/// each start's outcome, in the order sent.
std::vector<placement_outcome> start_together(test::deterministic_system& ds,
                                              const datacenter_actor& coordinator,
                                              const std::vector<start_vm>& starts) {
  auto out = std::make_shared<std::vector<placement_outcome>>(
      starts.size(), placement_outcome{error{errc::unavailable, "no answer"}});
  ds.sys().spawn(
      [out, coordinator, starts](caf::event_based_actor* self, int /*unused*/) {
        for (std::size_t i = 0; i < starts.size(); ++i)
          self->request(coordinator, caf::infinite, starts[i]).then([out, i](placement_outcome& r) {
            (*out)[i] = std::move(r);
          });
      },
      0);
  ds.sched().run();
  return *out;
}

TEST_F(datacenter_test, vms_started_together_spread_as_if_started_one_by_one) {
  for (const auto* n : {"n1", "n2", "n3", "n4"})
    add_node(n, 4); // 16 vCPUs each
  std::vector<start_vm> starts;
  for (int i = 0; i < 12; ++i) {
    add_vm("vm-" + std::to_string(i), 2);
    starts.push_back(start_vm{"vm-" + std::to_string(i), "", meta, {}});
  }
  std::map<std::string, int> per_node;
  for (const auto& o : start_together(*ds_, dc_.coordinator, starts)) {
    ASSERT_TRUE(o) << o.error().to_string();
    ++per_node[o->node_id];
  }
  // One by one, each start goes to the least allocated node: three each. (Reading the same
  // node states, all twelve chose n1 and the last four went wherever the retries led.)
  EXPECT_EQ(per_node, (std::map<std::string, int>{{"n1", 3}, {"n2", 3}, {"n3", 3}, {"n4", 3}}));
  for (const auto* n : {"n1", "n2", "n3", "n4"})
    EXPECT_EQ(node::allocated_vcpus(node_state(n)), 6U) << n;
}

TEST_F(datacenter_test, vms_started_together_beyond_room_fill_it_and_the_rest_are_refused) {
  add_node("n1", 4); // 16 vCPUs
  add_node("n2", 4);
  std::vector<start_vm> starts;
  for (int i = 0; i < 17; ++i) {
    add_vm("vm-" + std::to_string(i), 2);
    starts.push_back(start_vm{"vm-" + std::to_string(i), "", meta, {}});
  }
  int placed = 0;
  for (const auto& o : start_together(*ds_, dc_.coordinator, starts)) {
    if (o) {
      ++placed;
      continue;
    }
    EXPECT_EQ(o.error().details.at("reason"), "NO_SUITABLE_NODE");
  }
  EXPECT_EQ(placed, 16);
  EXPECT_EQ(node::allocated_vcpus(node_state("n1")), 16U);
  EXPECT_EQ(node::allocated_vcpus(node_state("n2")), 16U);
}

TEST_F(datacenter_test, a_node_that_filled_up_meanwhile_is_passed_over_for_the_next) {
  // Someone else takes all of "big" (placement's first choice) at every possible moment of the
  // start's placement: the start is never refused while "small" has room.
  std::set<std::string> seen;
  for (std::size_t steps = 0; steps < 60; ++steps) {
    TearDown();
    ds_.reset();
    store_ = events::make_memory_store();
    start();
    add_node("big", 16);  // 64 vCPUs
    add_node("small", 4); // 16 vCPUs
    add_vm("vm-1", 8);
    auto placed = std::make_shared<std::optional<placement_outcome>>();
    auto other = std::make_shared<std::optional<command_outcome>>();
    const auto coordinator = dc_.coordinator;
    const auto nodes = dc_.nodes;
    ds_->sys().spawn(
        [placed, coordinator](caf::event_based_actor* self, int /*unused*/) {
          self->request(coordinator, caf::infinite, start_vm{"vm-1", "", meta, {}})
              .then([placed](placement_outcome& r) { *placed = std::move(r); });
        },
        0);
    for (std::size_t i = 0; i < steps && ds_->sched().try_run_once(); ++i) {
    }
    ds_->sys().spawn(
        [other, nodes](caf::event_based_actor* self, int /*unused*/) {
          self->request(
                  nodes, caf::infinite,
                  command_request<node_aggregate>{"big", node::reserve{"other", 64, 1024}, meta})
              .then([other](command_outcome& r) { *other = std::move(r); });
        },
        0);
    ds_->sched().run();
    ASSERT_TRUE(placed->has_value() && other->has_value()) << steps;
    ASSERT_TRUE(**placed) << steps << ": " << (*placed)->error().to_string();
    // Whoever reserved on "big" first has it; the start then runs on "small".
    EXPECT_EQ((**placed)->node_id, **other ? "small" : "big") << steps;
    seen.insert((**placed)->node_id);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"big", "small"}));
}

TEST_F(datacenter_test, pack_fills_the_most_allocated_node_that_fits) {
  add_node("n1", 4); // 16 vCPUs
  add_node("n2", 4);
  std::vector<start_vm> starts;
  for (int i = 0; i < 8; ++i) {
    add_vm("vm-" + std::to_string(i), 2);
    starts.push_back(start_vm{
        "vm-" + std::to_string(i), "", meta, {{"n1", "n2"}, domain::placement::strategy::pack}});
  }
  for (const auto& o : start_together(*ds_, dc_.coordinator, starts)) {
    ASSERT_TRUE(o) << o.error().to_string();
    EXPECT_EQ(o->node_id, "n1"); // 8 × 2 vCPUs fill n1; n2 stays empty
  }
  EXPECT_EQ(node::allocated_vcpus(node_state("n2")), 0U);
}

TEST_F(datacenter_test, vms_kept_apart_and_started_together_never_share_a_node) {
  // Pack would put them all on n1; the rule's view (DRS's) shows none of them running yet, so
  // only the coordinator, which sees the reservations in flight, can keep them apart.
  for (const auto* n : {"n1", "n2", "n3", "n4"})
    add_node(n, 16);
  std::vector<start_vm> starts;
  const std::vector<std::string> group{"db-0", "db-1", "db-2", "db-3"};
  for (const auto& id : group) {
    add_vm(id, 2);
    placement_scope scope{{"n1", "n2", "n3", "n4"}, domain::placement::strategy::pack};
    for (const auto& other : group)
      if (other != id)
        scope.peers.apart[other] = "db-apart";
    starts.push_back(start_vm{id, "", meta, scope});
  }
  std::set<std::string> nodes;
  for (const auto& o : start_together(*ds_, dc_.coordinator, starts)) {
    ASSERT_TRUE(o) << o.error().to_string();
    nodes.insert(o->node_id);
  }
  EXPECT_EQ(nodes.size(), 4U) << "four VMs kept apart need four nodes";
}

TEST_F(datacenter_test, a_start_on_a_named_node_that_breaks_a_rule_is_refused_and_writes_nothing) {
  add_node("n1", 16);
  add_node("n2", 16);
  add_vm("db-0", 2);
  add_vm("db-1", 2);
  ASSERT_TRUE(start_vm_on("db-0", "n1"));
  placement_scope scope;
  scope.peers.apart["db-0"] = "db-apart";
  const auto refused =
      ds_->ask<placement_outcome>(dc_.coordinator, start_vm{"db-1", "n1", meta, scope});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::failed_precondition);
  EXPECT_EQ(refused.error().details.at("reason"), "RULE_VIOLATION");
  EXPECT_EQ(refused.error().details.at("rule"), "db-apart");
  EXPECT_EQ(vm_state("db-1").power_state(), "defined");
  EXPECT_EQ(node_state("n1").allocations().count("db-1"), 0U);
  const auto elsewhere =
      ds_->ask<placement_outcome>(dc_.coordinator, start_vm{"db-1", "n2", meta, scope});
  ASSERT_TRUE(elsewhere) << elsewhere.error().to_string();
  ASSERT_TRUE(run<vm_aggregate>("db-1", vm::confirm_running{}));
  // A migration onto the peer's node: refused the same way.
  const auto onto =
      ds_->ask<placement_outcome>(dc_.coordinator, migrate_vm{"db-1", "n1", meta, scope});
  ASSERT_FALSE(onto);
  EXPECT_EQ(onto.error().details.at("reason"), "RULE_VIOLATION");
}

TEST_F(datacenter_test, a_full_datacenter_refuses_and_writes_no_vm_event) {
  add_node("n1", 8); // 32 vCPUs
  add_vm("vm-a", 16);
  add_vm("vm-b", 16);
  add_vm("vm-c", 16);
  ASSERT_TRUE(start_vm_on("vm-a"));
  ASSERT_TRUE(start_vm_on("vm-b"));
  const auto head = store_->head().position;
  auto full = start_vm_on("vm-c");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, errc::resource_exhausted);
  EXPECT_EQ(full.error().details.at("reason"), "NO_SUITABLE_NODE");
  EXPECT_EQ(full.error().details.at("node.n1"), "INSUFFICIENT_CPU");
  EXPECT_EQ(store_->head().position, head);
  EXPECT_EQ(vm_state("vm-c").power_state(), "defined");
  // Stopping a VM gives its capacity back.
  ASSERT_TRUE(run<vm_aggregate>("vm-a", vm::confirm_running{}));
  ASSERT_TRUE(run<vm_aggregate>("vm-a", vm::stop{}));
  ASSERT_TRUE(run<vm_aggregate>("vm-a", vm::confirm_stopped{}));
  EXPECT_EQ(node::allocated_vcpus(node_state("n1")), 16U);
  ASSERT_TRUE(start_vm_on("vm-c"));
}

TEST_F(datacenter_test, a_vm_starts_only_where_all_its_pools_are_assigned) {
  add_node("n1", 16);
  add_node("n2", 16);
  ASSERT_TRUE(run<storage_pool_aggregate>(
      "p1", pool::create{"local", "dir", {{"path", "/srv"}}, 1U << 30U}));
  ASSERT_TRUE(run<storage_pool_aggregate>("p1", pool::assign{"n2"}));
  ASSERT_TRUE(run<volume_aggregate>("d1", vol::create{"disk", "p1", 1U << 20U}));
  add_vm("vm-1", 2, {"d1"});
  auto placed = start_vm_on("vm-1");
  ASSERT_TRUE(placed) << placed.error().to_string();
  EXPECT_EQ(placed->node_id, "n2");
  add_vm("vm-2", 2, {"d1"});
  auto pinned = start_vm_on("vm-2", "n1");
  ASSERT_FALSE(pinned);
  EXPECT_EQ(pinned.error().details.at("node.n1"), "POOL_NOT_ASSIGNED");
  add_vm("vm-3", 2, {"missing"});
  auto no_volume = start_vm_on("vm-3");
  ASSERT_FALSE(no_volume);
  EXPECT_EQ(no_volume.error().details.at("reason"), "VOLUME_MISSING");
}

TEST_F(datacenter_test, a_plain_start_command_also_takes_a_reservation) {
  add_node("n1", 16);
  add_vm("vm-1", 4);
  ASSERT_TRUE(run<node_aggregate>("n1", node::enter_maintenance{}));
  auto refused = run<vm_aggregate>("vm-1", vm::start{"n1"});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().details.at("node.n1"), "NODE_IN_MAINTENANCE");
  EXPECT_EQ(vm_state("vm-1").power_state(), "defined");
  ASSERT_TRUE(run<node_aggregate>("n1", node::exit_maintenance{}));
  ASSERT_TRUE(run<vm_aggregate>("vm-1", vm::start{"n1"}));
  EXPECT_EQ(node::allocated_vcpus(node_state("n1")), 4U);
  auto unknown = run<vm_aggregate>("vm-1", vm::force_stop{"x"});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(node::allocated_vcpus(node_state("n1")), 0U);
}

TEST_F(datacenter_test, migration_reserves_on_the_target_and_releases_the_source) {
  add_node("n1", 16);
  add_node("n2", 16);
  add_vm("vm-1", 4);
  ASSERT_TRUE(start_vm_on("vm-1", "n1"));
  ASSERT_TRUE(run<vm_aggregate>("vm-1", vm::confirm_running{}));
  auto moved = ds_->ask<placement_outcome>(dc_.coordinator, migrate_vm{"vm-1", "", meta, {}});
  ASSERT_TRUE(moved) << moved.error().to_string();
  EXPECT_EQ(moved->node_id, "n2");
  EXPECT_EQ(node::allocated_vcpus(node_state("n1")), 4U); // both held while migrating
  EXPECT_EQ(node::allocated_vcpus(node_state("n2")), 4U);
  ASSERT_TRUE(run<vm_aggregate>("vm-1", vm::complete_migration{}));
  EXPECT_EQ(node::allocated_vcpus(node_state("n1")), 0U);
  EXPECT_EQ(vm_state("vm-1").node_id(), "n2");
}

TEST_F(datacenter_test, a_node_belongs_to_at_most_one_cluster) {
  add_node("n1", 8);
  ASSERT_TRUE(run<cluster_aggregate>("c1", cl::create{"one", "", {}, {}}));
  ASSERT_TRUE(run<cluster_aggregate>("c2", cl::create{"two", "", {}, {}}));
  ASSERT_TRUE(run<cluster_aggregate>("c1", cl::add_node{"n1"}));
  auto twice = run<cluster_aggregate>("c2", cl::add_node{"n1"});
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().details.at("reason"), "NODE_IN_CLUSTER");
  EXPECT_EQ(
      ds_->ask<state_outcome<cluster_aggregate>>(dc_.clusters, get_atom::value, std::string{"c2"})
          ->state.node_ids_size(),
      0);
  auto nowhere = run<cluster_aggregate>("c9", cl::add_node{"n1"});
  ASSERT_FALSE(nowhere);
  EXPECT_EQ(nowhere.error().code, errc::not_found);
  ASSERT_TRUE(run<cluster_aggregate>("c1", cl::remove_node{"n1"}));
  EXPECT_TRUE(node_state("n1").cluster_id().empty());
  ASSERT_TRUE(run<cluster_aggregate>("c2", cl::add_node{"n1"}));
  EXPECT_EQ(node_state("n1").cluster_id(), "c2");
  auto busy = run<cluster_aggregate>("c2", cl::remove{});
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().details.at("reason"), "CLUSTER_NOT_EMPTY");
}

TEST_F(datacenter_test, a_clusters_cpu_overcommit_is_set_on_its_nodes) {
  add_node("n1", 8);
  add_node("n2", 8);
  v1::DrsSettings drs;
  drs.set_cpu_overcommit(2.0);
  ASSERT_TRUE(run<cluster_aggregate>("c1", cl::create{"one", "", {}, drs}));
  ASSERT_TRUE(run<cluster_aggregate>("c1", cl::add_node{"n1"}));
  ds_->sched().run();
  EXPECT_DOUBLE_EQ(node_state("n1").cpu_overcommit(), 2.0) << "set when the node joins";
  EXPECT_DOUBLE_EQ(node_state("n2").cpu_overcommit(), 4.0) << "not a member: its own";
  // 8 threads x 2: 16 vCPUs fit on n1, a 17th does not.
  add_vm("big", 17);
  const auto refused = start_vm_on("big", "n1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().details.at("node.n1"), "INSUFFICIENT_CPU");
  drs.set_cpu_overcommit(3.0);
  ASSERT_TRUE(run<cluster_aggregate>("c1", cl::update{{}, {}, {}, drs}));
  ds_->sched().run();
  EXPECT_DOUBLE_EQ(node_state("n1").cpu_overcommit(), 3.0) << "set when the cluster changes";
  ASSERT_TRUE(start_vm_on("big", "n1"));
}

TEST_F(datacenter_test, volumes_take_and_give_back_pool_space) {
  add_node("n1", 8);
  ASSERT_TRUE(run<storage_pool_aggregate>(
      "p1", pool::create{"small", "dir", {{"path", "/srv"}}, 3U << 20U}));
  ASSERT_TRUE(run<volume_aggregate>("d1", vol::create{"a", "p1", 2U << 20U}));
  auto full = run<volume_aggregate>("d2", vol::create{"b", "p1", 2U << 20U});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().details.at("reason"), "POOL_FULL");
  auto d2 =
      ds_->ask<state_outcome<volume_aggregate>>(dc_.volumes, get_atom::value, std::string{"d2"});
  EXPECT_FALSE(d2->state.created());
  auto bad = run<volume_aggregate>("d3", vol::create{"c", "p1", 1, "raw"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().details.at("field"), "size_bytes");
  ASSERT_TRUE(run<volume_aggregate>("d1", vol::remove{}));
  ASSERT_TRUE(run<volume_aggregate>("d2", vol::create{"b", "p1", 2U << 20U}));
  auto unknown_node = run<storage_pool_aggregate>("p1", pool::assign{"ghost"});
  ASSERT_FALSE(unknown_node);
  EXPECT_EQ(unknown_node.error().code, errc::not_found);
}

TEST_F(datacenter_test, a_restarted_datacenter_knows_its_nodes_and_reservations) {
  add_node("n1", 8);
  add_vm("vm-1", 30);
  ASSERT_TRUE(start_vm_on("vm-1"));
  shutdown(dc_);
  ds_->sched().run();
  start();
  add_vm("vm-2", 4);
  auto placed = start_vm_on("vm-2");
  ASSERT_FALSE(placed); // 30 of 32 vCPUs are still reserved after the restart
  EXPECT_EQ(placed.error().details.at("node.n1"), "INSUFFICIENT_CPU");
  add_vm("vm-3", 2);
  EXPECT_TRUE(start_vm_on("vm-3"));
}

} // namespace
