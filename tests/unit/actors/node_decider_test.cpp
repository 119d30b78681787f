// The node decider: every command in every state, and the capacity arithmetic.
#include <qx/actors/domain/node.hpp>

#include <gtest/gtest.h>

#include <map>
#include <optional>

using namespace qx;
using namespace qx::domain;
namespace v1 = qx::events::v1;

namespace {

node::register_node registration() {
  node::register_node r;
  r.hostname = "esx-1.lab";
  r.address = "10.0.0.11";
  r.hardware.set_cpu_cores(8);
  r.hardware.set_cpu_threads(16);
  r.hardware.set_memory_mib(32768);
  return r;
}

node::state in_state(const std::string& st, bool with_vm = false, std::string cluster = {}) {
  auto s = node::initial("n1");
  if (st.empty())
    return s;
  auto registered = node::decide(s, registration());
  for (const auto& ev : *registered)
    node::evolve(s, ev);
  s.set_state(st);
  s.set_cluster_id(std::move(cluster));
  if (with_vm) {
    auto& a = (*s.mutable_allocations())["vm-1"];
    a.set_vcpus(4);
    a.set_memory_mib(4096);
  }
  return s;
}

std::optional<node::state> run(node::state s, const node::command& c, error* err = nullptr) {
  auto d = node::decide(s, c);
  if (!d) {
    if (err != nullptr)
      *err = d.error();
    return std::nullopt;
  }
  for (const auto& ev : *d)
    node::evolve(s, ev);
  return s;
}

TEST(node_decider, state_transitions_in_every_state) {
  using namespace node::states;
  const char* all[] = {"", connected, disconnected, maintenance, decommissioned};
  struct row {
    node::command cmd;
    std::map<std::string, std::string> legal; // from -> to
  };
  const std::vector<row> table = {
      {registration(), {{"", connected}}},
      {node::connect{}, {{connected, connected}, {disconnected, connected}}},
      {node::disconnect{"lost"},
       {{connected, disconnected}, {disconnected, disconnected}, {maintenance, disconnected}}},
      {node::enter_maintenance{}, {{connected, maintenance}, {maintenance, maintenance}}},
      {node::exit_maintenance{}, {{maintenance, connected}}},
      {node::decommission{},
       {{connected, decommissioned},
        {disconnected, decommissioned},
        {maintenance, decommissioned}}},
  };
  for (const auto& r : table)
    for (const char* from : all) {
      SCOPED_TRACE(std::string{node::name_of(r.cmd)} + " from '" + from + "'");
      error err;
      auto after = run(in_state(from), r.cmd, &err);
      auto it = r.legal.find(from);
      if (it != r.legal.end()) {
        ASSERT_TRUE(after) << err.to_string();
        EXPECT_EQ(after->state(), it->second);
        continue;
      }
      ASSERT_FALSE(after) << "illegal move accepted";
      if (std::holds_alternative<node::register_node>(r.cmd)) {
        EXPECT_EQ(err.code, errc::already_exists);
      } else if (std::string{from}.empty()) {
        EXPECT_EQ(err.code, errc::not_found);
      } else if (std::string{from} == decommissioned) {
        EXPECT_EQ(err.details["reason"], "DECOMMISSIONED");
      } else {
        EXPECT_EQ(err.details["reason"], "INVALID_NODE_STATE") << err.to_string();
      }
    }
}

TEST(node_decider, registration_sets_default_overcommit_and_validates_hardware) {
  auto s = *run(in_state(""), registration());
  EXPECT_DOUBLE_EQ(node::cpu_capacity(s), 64.0);           // 16 threads x 4
  EXPECT_DOUBLE_EQ(node::memory_capacity_mib(s), 32768.0); // x 1
  struct bad {
    std::function<void(node::register_node&)> spoil;
    std::string field;
  };
  const std::vector<bad> cases = {
      {[](auto& r) { r.hostname = ""; }, "hostname"},
      {[](auto& r) { r.address = std::string(300, 'a'); }, "address"},
      {[](auto& r) { r.hardware.set_cpu_cores(0); }, "hardware.cpu_cores"},
      {[](auto& r) { r.hardware.set_cpu_threads(4); }, "hardware.cpu_threads"},
      {[](auto& r) { r.hardware.set_memory_mib(100); }, "hardware.memory_mib"},
  };
  for (const auto& c : cases) {
    auto r = registration();
    c.spoil(r);
    error err;
    EXPECT_FALSE(run(in_state(""), r, &err));
    EXPECT_EQ(err.code, errc::invalid_argument);
    EXPECT_EQ(err.details["field"], c.field);
  }
}

TEST(node_decider, reservations_respect_overcommit_exactly_at_the_boundary) {
  auto s = in_state(node::states::connected);
  s = *run(s, node::reserve{"vm-a", 60, 30000});
  s = *run(s, node::reserve{"vm-b", 4, 2768}); // exactly 64 vCPUs and 32768 MiB
  EXPECT_EQ(node::allocated_vcpus(s), 64U);
  EXPECT_EQ(node::allocated_memory_mib(s), 32768U);
  error err;
  EXPECT_FALSE(run(s, node::reserve{"vm-c", 1, 1}, &err));
  EXPECT_EQ(err.code, errc::resource_exhausted);
  EXPECT_EQ(err.details.at("reason"), "INSUFFICIENT_CPU");
  s = *run(s, node::release{"vm-b"});
  EXPECT_FALSE(run(s, node::reserve{"vm-c", 1, 2769}, &err));
  EXPECT_EQ(err.details.at("reason"), "INSUFFICIENT_MEMORY");
  EXPECT_EQ(err.details.at("available_memory_mib"), "2768");
  s = *run(s, node::set_overcommit{4.0, 1.5});
  EXPECT_TRUE(run(s, node::reserve{"vm-c", 1, 2769}));
}

TEST(node_decider, the_same_reservation_again_is_a_no_op_and_a_new_size_replaces_it) {
  auto s = *run(in_state(node::states::connected), node::reserve{"vm-a", 2, 2048});
  auto same = node::decide(s, node::reserve{"vm-a", 2, 2048});
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->empty());
  auto bigger = node::decide(s, node::reserve{"vm-a", 4, 2048});
  ASSERT_TRUE(bigger);
  ASSERT_EQ(bigger->size(), 2U); // released, then reserved
  s = *run(s, node::reserve{"vm-a", 4, 2048});
  EXPECT_EQ(node::allocated_vcpus(s), 4U);
  EXPECT_TRUE(node::decide(s, node::release{"vm-x"})->empty());
}

TEST(node_decider, reservations_need_a_connected_node) {
  error err;
  EXPECT_FALSE(run(in_state(node::states::maintenance), node::reserve{"vm", 1, 1}, &err));
  EXPECT_EQ(err.details.at("reason"), "NODE_IN_MAINTENANCE");
  EXPECT_FALSE(run(in_state(node::states::disconnected), node::reserve{"vm", 1, 1}, &err));
  EXPECT_EQ(err.details.at("reason"), "NODE_NOT_CONNECTED");
  EXPECT_FALSE(run(in_state(node::states::connected), node::reserve{"", 1, 1}, &err));
  EXPECT_EQ(err.details.at("field"), "vm_id");
}

TEST(node_decider, maintenance_and_decommission_need_an_empty_node) {
  error err;
  EXPECT_FALSE(run(in_state(node::states::connected, true), node::enter_maintenance{}, &err));
  EXPECT_EQ(err.details.at("reason"), "NODE_HAS_VMS");
  EXPECT_FALSE(run(in_state(node::states::connected, true), node::decommission{}, &err));
  EXPECT_EQ(err.details.at("reason"), "NODE_HAS_VMS");
  EXPECT_FALSE(run(in_state(node::states::connected, false, "c1"), node::decommission{}, &err));
  EXPECT_EQ(err.details.at("reason"), "NODE_IN_CLUSTER");
}

TEST(node_decider, a_node_belongs_to_at_most_one_cluster) {
  auto s = *run(in_state(node::states::connected), node::join_cluster{"c1"});
  EXPECT_EQ(s.cluster_id(), "c1");
  EXPECT_TRUE(node::decide(s, node::join_cluster{"c1"})->empty());
  error err;
  EXPECT_FALSE(run(s, node::join_cluster{"c2"}, &err));
  EXPECT_EQ(err.details.at("reason"), "NODE_IN_CLUSTER");
  EXPECT_FALSE(run(s, node::leave_cluster{"c2"}, &err));
  EXPECT_EQ(err.details.at("reason"), "NODE_NOT_IN_CLUSTER");
  s = *run(s, node::leave_cluster{"c1"});
  EXPECT_TRUE(s.cluster_id().empty());
  EXPECT_TRUE(run(s, node::join_cluster{"c2"}));
}

TEST(node_decider, overcommit_ratios_are_bounded) {
  error err;
  EXPECT_FALSE(run(in_state(node::states::connected), node::set_overcommit{0.5, 1.0}, &err));
  EXPECT_EQ(err.details.at("field"), "cpu_ratio");
  EXPECT_FALSE(run(in_state(node::states::connected), node::set_overcommit{4.0, 3.0}, &err));
  EXPECT_EQ(err.details.at("field"), "memory_ratio");
  EXPECT_FALSE(run(in_state(node::states::connected),
                   node::set_overcommit{std::numeric_limits<double>::quiet_NaN(), 1.0}, &err));
}

TEST(node_decider, events_round_trip_through_the_log_codec) {
  auto d = node::decide(in_state(node::states::connected), node::reserve{"vm-1", 2, 512});
  ASSERT_TRUE(d);
  auto enc = encode_event(d->front());
  auto dec = decode_event<node::event>(enc.type, enc.payload);
  ASSERT_TRUE(dec);
  EXPECT_EQ(std::get<v1::NodeCapacityReserved>(*dec).vm_id(), "vm-1");
}

} // namespace
