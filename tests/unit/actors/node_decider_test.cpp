// The node decider, table-driven: every command in every state, the capacity arithmetic under
// overcommit at and just past the boundary, validation naming the field, and the events
// through the log codec.
#include <qx/actors/domain/node.hpp>

#include "decider_table.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

using namespace qx;
using namespace qx::domain;
namespace v1 = qx::events::v1;

namespace {

using namespace qx::test::decider_table;

// 16 threads x 4.0 = 64 vCPUs; 32768 MiB x 1.0 = 32768 MiB.
node::register_node registration() {
  node::register_node r;
  r.hostname = "esx-1.lab";
  r.address = "10.0.0.11";
  r.hardware.set_cpu_cores(8);
  r.hardware.set_cpu_threads(16);
  r.hardware.set_cpu_model("EPYC 7313");
  r.hardware.set_memory_mib(32768);
  auto* disk = r.hardware.add_disks();
  disk->set_name("nvme0n1");
  disk->set_size_bytes(std::uint64_t{1} << 40U);
  auto* nic = r.hardware.add_nics();
  nic->set_name("eno1");
  nic->set_mac("52:54:00:12:34:56");
  nic->set_speed_mbps(25000);
  return r;
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

node::state must(std::optional<node::state> s) {
  EXPECT_TRUE(s.has_value());
  return s ? *s : node::initial("n1");
}

// Every state is reached through commands:
//   ""              not registered
//   "connected"     registered, empty
//   "busy"          connected, vm-1 holds 4 vCPUs / 4096 MiB
//   "clustered"     connected, in cluster c1
//   "disconnected"  empty
//   "lost_busy"     disconnected while vm-1 holds its reservation
//   "maintenance"   empty
//   "decommissioned"
node::state in_state(const std::string& name) {
  auto s = node::initial("n1");
  if (name.empty())
    return s;
  s = must(run(s, registration()));
  if (name == "busy" || name == "lost_busy")
    s = must(run(s, node::reserve{"vm-1", 4, 4096}));
  if (name == "clustered")
    s = must(run(s, node::join_cluster{"c1"}));
  if (name == "disconnected" || name == "lost_busy")
    s = must(run(s, node::disconnect{"heartbeat lost"}));
  if (name == "maintenance")
    s = must(run(s, node::enter_maintenance{}));
  if (name == "decommissioned")
    s = must(run(s, node::decommission{}));
  return s;
}

const char* all_states[] = {
    "",          "connected",   "busy",          "clustered", "disconnected",
    "lost_busy", "maintenance", "decommissioned"};

std::string ratio(double r) {
  std::ostringstream out;
  out << r;
  return out.str();
}

// "<state> [vm=vcpus/mib ...] [cluster=<id>] [oc=<cpu>x<memory> when not the default]"
std::string describe(const node::state& s) {
  if (!s.registered())
    return "";
  std::string out = s.state();
  const std::map<std::string, snapshots::v1::NodeAllocation> sorted(s.allocations().begin(),
                                                                    s.allocations().end());
  for (const auto& [vm, a] : sorted)
    out += " " + vm + "=" + std::to_string(a.vcpus()) + "/" + std::to_string(a.memory_mib());
  if (!s.cluster_id().empty())
    out += " cluster=" + s.cluster_id();
  if (s.cpu_overcommit() != node::default_cpu_overcommit ||
      s.memory_overcommit() != node::default_memory_overcommit)
    out += " oc=" + ratio(s.cpu_overcommit()) + "x" + ratio(s.memory_overcommit());
  return out;
}

void check(const node::state& before, const node::command& c, const expect& want) {
  qx::test::decider_table::check<actors::node_aggregate>(before, c, want, describe);
}

expect ok_in(std::string after, std::size_t events) {
  auto e = ok(std::move(after));
  e.events = events;
  return e;
}

struct row {
  node::command cmd;
  std::map<std::string, expect> by_state; // every state of all_states
};

std::vector<row> table() {
  const auto bad = refused_for("INVALID_NODE_STATE");
  const auto decommissioned = refused_for("DECOMMISSIONED");
  const auto has_vms = refused_for("NODE_HAS_VMS");
  const auto not_connected = refused_for("NODE_NOT_CONNECTED");
  const auto in_maintenance = refused_for("NODE_IN_MAINTENANCE");
  const auto not_member = refused_for("NODE_NOT_IN_CLUSTER", "cluster_id");
  const auto no_cpu = refusal(errc::resource_exhausted, "INSUFFICIENT_CPU");
  const auto no_memory = refusal(errc::resource_exhausted, "INSUFFICIENT_MEMORY");
  const auto malformed = [](const char* field) {
    return refusal(errc::invalid_argument, "", field);
  };
  return {
      {registration(),
       {{"", ok("connected")},
        {"connected", exists},
        {"busy", exists},
        {"clustered", exists},
        {"disconnected", exists},
        {"lost_busy", exists},
        {"maintenance", exists},
        {"decommissioned", exists}}}, // ids are never reused
      {node::connect{},
       {{"", missing},
        {"connected", unchanged()},
        {"busy", unchanged()},
        {"clustered", unchanged()},
        {"disconnected", ok("connected")},
        {"lost_busy", ok("connected vm-1=4/4096")},
        {"maintenance", unchanged()}, // back on, still in maintenance
        {"decommissioned", decommissioned}}},
      {node::disconnect{"heartbeat lost"},
       {{"", missing},
        {"connected", ok("disconnected")},
        {"busy", ok("disconnected vm-1=4/4096")},
        {"clustered", ok("disconnected cluster=c1")},
        {"disconnected", unchanged()},
        {"lost_busy", unchanged()},
        // An operator's maintenance outlives the agent's session: powered off and on again,
        // the host is still in maintenance (the session shows in the agent hub's status).
        {"maintenance", unchanged()},
        {"decommissioned", decommissioned}}},
      {node::enter_maintenance{},
       {{"", missing},
        {"connected", ok("maintenance")},
        {"busy", has_vms},
        {"clustered", ok("maintenance cluster=c1")},
        {"disconnected", bad},
        {"lost_busy", bad},
        {"maintenance", unchanged()},
        {"decommissioned", decommissioned}}},
      {node::exit_maintenance{},
       {{"", missing},
        {"connected", bad},
        {"busy", bad},
        {"clustered", bad},
        {"disconnected", bad},
        {"lost_busy", bad},
        {"maintenance", ok("connected")},
        {"decommissioned", decommissioned}}},
      {node::decommission{},
       {{"", missing},
        {"connected", ok("decommissioned")},
        {"busy", has_vms},
        {"clustered", refused_for("NODE_IN_CLUSTER")},
        {"disconnected", ok("decommissioned")},
        {"lost_busy", has_vms},
        {"maintenance", ok("decommissioned")},
        {"decommissioned", decommissioned}}},
      {node::set_overcommit{8.0, 1.5},
       {{"", missing},
        {"connected", ok("connected oc=8x1.5")},
        {"busy", ok("connected vm-1=4/4096 oc=8x1.5")},
        {"clustered", ok("connected cluster=c1 oc=8x1.5")},
        {"disconnected", ok("disconnected oc=8x1.5")},
        {"lost_busy", ok("disconnected vm-1=4/4096 oc=8x1.5")},
        {"maintenance", ok("maintenance oc=8x1.5")},
        {"decommissioned", decommissioned}}},
      {node::set_overcommit{4.0, 1.0}, // the defaults again
       {{"", missing},
        {"connected", unchanged()},
        {"busy", unchanged()},
        {"clustered", unchanged()},
        {"disconnected", unchanged()},
        {"lost_busy", unchanged()},
        {"maintenance", unchanged()},
        {"decommissioned", decommissioned}}},
      {node::set_overcommit{0.5, 1.0},
       {{"", missing},
        {"connected", malformed("cpu_ratio")},
        {"busy", malformed("cpu_ratio")},
        {"clustered", malformed("cpu_ratio")},
        {"disconnected", malformed("cpu_ratio")},
        {"lost_busy", malformed("cpu_ratio")},
        {"maintenance", malformed("cpu_ratio")},
        {"decommissioned", decommissioned}}},
      {node::reserve{"vm-2", 2, 2048},
       {{"", missing},
        {"connected", ok("connected vm-2=2/2048")},
        {"busy", ok("connected vm-1=4/4096 vm-2=2/2048")},
        {"clustered", ok("connected vm-2=2/2048 cluster=c1")},
        {"disconnected", not_connected},
        {"lost_busy", not_connected},
        {"maintenance", in_maintenance},
        {"decommissioned", decommissioned}}},
      {node::reserve{"vm-1", 4, 4096}, // what vm-1 holds already
       {{"", missing},
        {"connected", ok("connected vm-1=4/4096")},
        {"busy", unchanged()},
        {"clustered", ok("connected vm-1=4/4096 cluster=c1")},
        {"disconnected", not_connected},
        {"lost_busy", unchanged()}, // a retry: the reservation is held
        {"maintenance", in_maintenance},
        {"decommissioned", decommissioned}}},
      {node::reserve{"vm-1", 8, 4096}, // a new size: released, then reserved
       {{"", missing},
        {"connected", ok("connected vm-1=8/4096")},
        {"busy", ok_in("connected vm-1=8/4096", 2)},
        {"clustered", ok("connected vm-1=8/4096 cluster=c1")},
        {"disconnected", not_connected},
        {"lost_busy", not_connected},
        {"maintenance", in_maintenance},
        {"decommissioned", decommissioned}}},
      {node::reserve{"vm-2", 61, 1024}, // 61 fits 64, 4 + 61 does not
       {{"", missing},
        {"connected", ok("connected vm-2=61/1024")},
        {"busy", no_cpu},
        {"clustered", ok("connected vm-2=61/1024 cluster=c1")},
        {"disconnected", not_connected},
        {"lost_busy", not_connected},
        {"maintenance", in_maintenance},
        {"decommissioned", decommissioned}}},
      {node::reserve{"vm-2", 1, 28673}, // fits 32768 MiB, 4096 + 28673 does not
       {{"", missing},
        {"connected", ok("connected vm-2=1/28673")},
        {"busy", no_memory},
        {"clustered", ok("connected vm-2=1/28673 cluster=c1")},
        {"disconnected", not_connected},
        {"lost_busy", not_connected},
        {"maintenance", in_maintenance},
        {"decommissioned", decommissioned}}},
      {node::reserve{"", 1, 1},
       {{"", missing},
        {"connected", malformed("vm_id")},
        {"busy", malformed("vm_id")},
        {"clustered", malformed("vm_id")},
        {"disconnected", malformed("vm_id")},
        {"lost_busy", malformed("vm_id")},
        {"maintenance", malformed("vm_id")},
        {"decommissioned", decommissioned}}},
      {node::release{"vm-1"},
       {{"", missing},
        {"connected", unchanged()},
        {"busy", ok("connected")},
        {"clustered", unchanged()},
        {"disconnected", unchanged()},
        {"lost_busy", ok("disconnected")},
        {"maintenance", unchanged()},
        {"decommissioned", decommissioned}}},
      {node::release{""},
       {{"", missing},
        {"connected", malformed("vm_id")},
        {"busy", malformed("vm_id")},
        {"clustered", malformed("vm_id")},
        {"disconnected", malformed("vm_id")},
        {"lost_busy", malformed("vm_id")},
        {"maintenance", malformed("vm_id")},
        {"decommissioned", decommissioned}}},
      {node::join_cluster{"c1"},
       {{"", missing},
        {"connected", ok("connected cluster=c1")},
        {"busy", ok("connected vm-1=4/4096 cluster=c1")},
        {"clustered", unchanged()},
        {"disconnected", ok("disconnected cluster=c1")},
        {"lost_busy", ok("disconnected vm-1=4/4096 cluster=c1")},
        {"maintenance", ok("maintenance cluster=c1")},
        {"decommissioned", decommissioned}}},
      {node::join_cluster{"c2"},
       {{"", missing},
        {"connected", ok("connected cluster=c2")},
        {"busy", ok("connected vm-1=4/4096 cluster=c2")},
        {"clustered", refused_for("NODE_IN_CLUSTER")},
        {"disconnected", ok("disconnected cluster=c2")},
        {"lost_busy", ok("disconnected vm-1=4/4096 cluster=c2")},
        {"maintenance", ok("maintenance cluster=c2")},
        {"decommissioned", decommissioned}}},
      {node::join_cluster{""},
       {{"", missing},
        {"connected", malformed("cluster_id")},
        {"busy", malformed("cluster_id")},
        {"clustered", malformed("cluster_id")},
        {"disconnected", malformed("cluster_id")},
        {"lost_busy", malformed("cluster_id")},
        {"maintenance", malformed("cluster_id")},
        {"decommissioned", decommissioned}}},
      {node::leave_cluster{"c1"},
       {{"", missing},
        {"connected", not_member},
        {"busy", not_member},
        {"clustered", ok("connected")},
        {"disconnected", not_member},
        {"lost_busy", not_member},
        {"maintenance", not_member},
        {"decommissioned", decommissioned}}},
      {node::leave_cluster{"c2"},
       {{"", missing},
        {"connected", not_member},
        {"busy", not_member},
        {"clustered", not_member},
        {"disconnected", not_member},
        {"lost_busy", not_member},
        {"maintenance", not_member},
        {"decommissioned", decommissioned}}},
      {node::leave_cluster{""},
       {{"", missing},
        {"connected", malformed("cluster_id")},
        {"busy", malformed("cluster_id")},
        {"clustered", malformed("cluster_id")},
        {"disconnected", malformed("cluster_id")},
        {"lost_busy", malformed("cluster_id")},
        {"maintenance", malformed("cluster_id")},
        {"decommissioned", decommissioned}}},
  };
}

TEST(node_decider, every_command_in_every_state) {
  std::set<std::size_t> covered;
  for (const auto& r : table()) {
    covered.insert(r.cmd.index());
    ASSERT_EQ(r.by_state.size(), std::size(all_states)) << node::name_of(r.cmd);
    for (const char* from : all_states) {
      SCOPED_TRACE(std::string{node::name_of(r.cmd)} + " from '" + from + "'");
      ASSERT_EQ(r.by_state.count(from), 1U);
      check(in_state(from), r.cmd, r.by_state.at(from));
    }
  }
  EXPECT_EQ(covered.size(), std::variant_size_v<node::command>);
}

TEST(node_decider, registration_sets_the_defaults) {
  auto s = in_state("connected");
  EXPECT_TRUE(s.registered());
  EXPECT_EQ(s.state(), node::states::connected);
  EXPECT_EQ(s.hostname(), "esx-1.lab");
  EXPECT_EQ(s.address(), "10.0.0.11");
  EXPECT_EQ(s.hardware().cpu_model(), "EPYC 7313");
  EXPECT_EQ(s.hardware().nics(0).speed_mbps(), 25000U);
  EXPECT_DOUBLE_EQ(s.cpu_overcommit(), 4.0);
  EXPECT_DOUBLE_EQ(s.memory_overcommit(), 1.0);
  EXPECT_DOUBLE_EQ(node::cpu_capacity(s), 64.0);           // 16 threads x 4
  EXPECT_DOUBLE_EQ(node::memory_capacity_mib(s), 32768.0); // x 1
  EXPECT_EQ(node::allocated_vcpus(s), 0U);
  EXPECT_EQ(node::allocated_memory_mib(s), 0U);
  EXPECT_TRUE(s.cluster_id().empty());
  EXPECT_DOUBLE_EQ(node::cpu_capacity(node::initial("n0")), 0.0);
}

TEST(node_decider, registration_validation_names_the_field) {
  struct bad {
    std::function<void(node::register_node&)> spoil;
    std::string field;
  };
  const std::vector<bad> cases = {
      {[](auto& r) { r.hostname = ""; }, "hostname"},
      {[](auto& r) { r.hostname = std::string(254, 'h'); }, "hostname"},
      {[](auto& r) { r.hostname = "esx\n1"; }, "hostname"},
      {[](auto& r) { r.address = ""; }, "address"},
      {[](auto& r) { r.address = std::string(300, 'a'); }, "address"},
      {[](auto& r) { r.hardware.set_cpu_cores(0); }, "hardware.cpu_cores"},
      {[](auto& r) { r.hardware.set_cpu_threads(7); }, "hardware.cpu_threads"},
      {[](auto& r) { r.hardware.set_cpu_threads(0); }, "hardware.cpu_threads"},
      {[](auto& r) { r.hardware.set_memory_mib(255); }, "hardware.memory_mib"},
      {[](auto& r) { r.hardware.set_memory_mib(0); }, "hardware.memory_mib"},
      {[](auto& r) { r.hardware.set_cpu_model(std::string(300, 'm')); }, "hardware.cpu_model"},
  };
  for (const auto& b : cases) {
    auto r = registration();
    b.spoil(r);
    check(in_state(""), r, refusal(errc::invalid_argument, "", b.field));
  }
  // The smallest host that is accepted: 1 core, 1 thread, 256 MiB, a 253-byte hostname.
  auto r = registration();
  r.hostname = std::string(253, 'h');
  r.hardware.set_cpu_cores(1);
  r.hardware.set_cpu_threads(1);
  r.hardware.set_memory_mib(256);
  auto s = must(run(in_state(""), r));
  EXPECT_DOUBLE_EQ(node::cpu_capacity(s), 4.0);
  EXPECT_DOUBLE_EQ(node::memory_capacity_mib(s), 256.0);
  // Reserve refuses malformed sizes, naming them.
  check(in_state("connected"), node::reserve{"vm-2", 0, 1},
        refusal(errc::invalid_argument, "", "vcpus"));
  check(in_state("connected"), node::reserve{"vm-2", 1, 0},
        refusal(errc::invalid_argument, "", "memory_mib"));
  check(in_state("connected"), node::reserve{std::string(65, 'v'), 1, 1},
        refusal(errc::invalid_argument, "", "vm_id"));
  check(in_state("connected"), node::disconnect{std::string(1025, 'r')},
        refusal(errc::invalid_argument, "", "reason"));
}

TEST(node_decider, overcommit_ratios_are_bounded_inclusively) {
  const auto s = in_state("connected");
  EXPECT_TRUE(run(s, node::set_overcommit{1.0, 1.0}));
  EXPECT_TRUE(run(s, node::set_overcommit{16.0, 2.0}));
  struct bad {
    double cpu;
    double memory;
    std::string field;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<bad> cases = {
      {0.999, 1.0, "cpu_ratio"},    {16.001, 1.0, "cpu_ratio"}, {nan, 1.0, "cpu_ratio"},
      {inf, 1.0, "cpu_ratio"},      {-4.0, 1.0, "cpu_ratio"},   {4.0, 0.999, "memory_ratio"},
      {4.0, 2.001, "memory_ratio"}, {4.0, nan, "memory_ratio"}, {4.0, inf, "memory_ratio"},
  };
  for (const auto& b : cases) {
    SCOPED_TRACE(b.field + " " + ratio(b.cpu) + "x" + ratio(b.memory));
    check(s, node::set_overcommit{b.cpu, b.memory}, refusal(errc::invalid_argument, "", b.field));
  }
}

TEST(node_decider, capacity_is_threads_and_memory_times_overcommit_at_the_boundary) {
  auto s = must(run(in_state("connected"), node::reserve{"vm-a", 60, 30000}));
  s = must(run(s, node::reserve{"vm-b", 4, 2768})); // exactly 64 vCPUs and 32768 MiB
  EXPECT_EQ(node::allocated_vcpus(s), 64U);
  EXPECT_EQ(node::allocated_memory_mib(s), 32768U);

  error err;
  EXPECT_FALSE(run(s, node::reserve{"vm-c", 1, 1}, &err));
  EXPECT_EQ(err.code, errc::resource_exhausted);
  EXPECT_EQ(detail_of(err, "reason"), "INSUFFICIENT_CPU");
  EXPECT_EQ(detail_of(err, "requested_vcpus"), "1");
  EXPECT_EQ(detail_of(err, "available_vcpus"), "0");
  EXPECT_EQ(detail_of(err, "allocated_vcpus"), "64");
  EXPECT_EQ(detail_of(err, "capacity_vcpus"), "64");

  s = must(run(s, node::release{"vm-b"})); // 4 vCPUs and 2768 MiB free again
  EXPECT_TRUE(run(s, node::reserve{"vm-c", 4, 2768}));
  EXPECT_FALSE(run(s, node::reserve{"vm-c", 5, 1}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "INSUFFICIENT_CPU");
  EXPECT_EQ(detail_of(err, "requested_vcpus"), "5");
  EXPECT_EQ(detail_of(err, "available_vcpus"), "4");
  EXPECT_FALSE(run(s, node::reserve{"vm-c", 1, 2769}, &err));
  EXPECT_EQ(err.code, errc::resource_exhausted);
  EXPECT_EQ(detail_of(err, "reason"), "INSUFFICIENT_MEMORY");
  EXPECT_EQ(detail_of(err, "requested_memory_mib"), "2769");
  EXPECT_EQ(detail_of(err, "available_memory_mib"), "2768");
  EXPECT_EQ(detail_of(err, "allocated_memory_mib"), "30000");
  EXPECT_EQ(detail_of(err, "capacity_memory_mib"), "32768");

  // More overcommit, more room: 16 x 8 = 128 vCPUs, 32768 x 1.5 = 49152 MiB.
  s = must(run(s, node::set_overcommit{8.0, 1.5}));
  EXPECT_DOUBLE_EQ(node::cpu_capacity(s), 128.0);
  EXPECT_DOUBLE_EQ(node::memory_capacity_mib(s), 49152.0);
  EXPECT_TRUE(run(s, node::reserve{"vm-c", 68, 19152}));
  EXPECT_FALSE(run(s, node::reserve{"vm-c", 69, 19152}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "INSUFFICIENT_CPU");
  EXPECT_FALSE(run(s, node::reserve{"vm-c", 68, 19153}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "INSUFFICIENT_MEMORY");
}

TEST(node_decider, a_fractional_capacity_holds_its_whole_part) {
  auto s = must(run(in_state("connected"), node::set_overcommit{1.1, 1.0})); // 17.6 vCPUs
  EXPECT_TRUE(run(s, node::reserve{"vm-a", 17, 1}));
  error err;
  EXPECT_FALSE(run(s, node::reserve{"vm-a", 18, 1}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "INSUFFICIENT_CPU");
  EXPECT_EQ(detail_of(err, "available_vcpus"), "17");
}

TEST(node_decider, lowering_overcommit_below_the_load_leaves_no_room_and_no_wrap_around) {
  auto s = must(run(in_state("connected"), node::reserve{"vm-a", 40, 4096}));
  s = must(run(s, node::set_overcommit{1.0, 1.0})); // 16 vCPUs, 40 allocated
  EXPECT_EQ(node::allocated_vcpus(s), 40U);
  error err;
  EXPECT_FALSE(run(s, node::reserve{"vm-b", 1, 1}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "INSUFFICIENT_CPU");
  EXPECT_EQ(detail_of(err, "available_vcpus"), "0");
  // A request so large that allocated + request would wrap around 2^64 is still refused.
  s = must(run(in_state("busy"), node::set_overcommit{4.0, 1.0}));
  const auto huge = std::numeric_limits<std::uint64_t>::max() - 100;
  EXPECT_FALSE(run(s, node::reserve{"vm-2", 1, huge}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "INSUFFICIENT_MEMORY");
  EXPECT_EQ(detail_of(err, "available_memory_mib"), "28672");
  EXPECT_FALSE(run(s, node::reserve{"vm-2", std::numeric_limits<std::uint32_t>::max(), 1}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "INSUFFICIENT_CPU");
}

TEST(node_decider, a_new_size_replaces_the_reservation_or_keeps_the_old_one) {
  auto s = in_state("busy"); // vm-1: 4 / 4096
  auto d = node::decide(s, node::reserve{"vm-1", 64, 32768});
  ASSERT_TRUE(d) << d.error().to_string(); // its own 4 vCPUs count as free
  ASSERT_EQ(d->size(), 2U);
  EXPECT_EQ(std::get<v1::NodeCapacityReleased>(d->at(0)).vm_id(), "vm-1");
  EXPECT_EQ(std::get<v1::NodeCapacityReserved>(d->at(1)).vcpus(), 64U);
  error err;
  EXPECT_FALSE(run(s, node::reserve{"vm-1", 65, 4096}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "INSUFFICIENT_CPU");
  EXPECT_EQ(detail_of(err, "available_vcpus"), "64");
  EXPECT_EQ(describe(s), "connected vm-1=4/4096"); // nothing was released
  s = must(run(s, node::reserve{"vm-1", 2, 1024}));
  EXPECT_EQ(node::allocated_vcpus(s), 2U);
  EXPECT_EQ(node::allocated_memory_mib(s), 1024U);
}

TEST(node_decider, refusals_carry_their_figures) {
  error err;
  EXPECT_FALSE(run(in_state("busy"), node::enter_maintenance{}, &err));
  EXPECT_EQ(detail_of(err, "vms"), "1");
  EXPECT_FALSE(run(in_state("lost_busy"), node::decommission{}, &err));
  EXPECT_EQ(detail_of(err, "vms"), "1");
  EXPECT_FALSE(run(in_state("clustered"), node::decommission{}, &err));
  EXPECT_EQ(detail_of(err, "cluster_id"), "c1");
  EXPECT_FALSE(run(in_state("clustered"), node::join_cluster{"c2"}, &err));
  EXPECT_EQ(detail_of(err, "cluster_id"), "c1");
  EXPECT_FALSE(run(in_state("connected"), node::exit_maintenance{}, &err));
  EXPECT_EQ(detail_of(err, "state"), "connected");
  EXPECT_EQ(detail_of(err, "command"), "exit_maintenance");
  EXPECT_FALSE(run(in_state(""), node::connect{}, &err));
  EXPECT_EQ(detail_of(err, "id"), "n1");
}

TEST(node_decider, a_whole_life) {
  auto s = must(run(node::initial("n1"), registration()));
  s = must(run(s, node::join_cluster{"c1"}));
  s = must(run(s, node::reserve{"vm-1", 2, 2048}));
  s = must(run(s, node::disconnect{"link down"}));
  s = must(run(s, node::connect{}));
  s = must(run(s, node::release{"vm-1"}));
  s = must(run(s, node::enter_maintenance{}));
  s = must(run(s, node::exit_maintenance{}));
  s = must(run(s, node::enter_maintenance{}));
  s = must(run(s, node::leave_cluster{"c1"}));
  s = must(run(s, node::decommission{}));
  EXPECT_EQ(describe(s), "decommissioned");
}

TEST(node_decider, events_round_trip_through_the_log_codec) {
  std::vector<node::event> all;
  const auto collect = [&](const node::state& s, const node::command& c) {
    auto d = node::decide(s, c);
    ASSERT_TRUE(d) << d.error().to_string();
    all.insert(all.end(), d->begin(), d->end());
  };
  collect(in_state(""), registration());
  collect(in_state("connected"), node::disconnect{"heartbeat lost"});
  collect(in_state("connected"), node::set_overcommit{8.0, 1.5});
  collect(in_state("busy"), node::reserve{"vm-1", 8, 8192}); // released + reserved
  collect(in_state("connected"), node::join_cluster{"c1"});
  collect(in_state("clustered"), node::leave_cluster{"c1"});
  ASSERT_EQ(all.size(), 7U);
  std::set<std::size_t> kinds;
  for (const auto& ev : all) {
    kinds.insert(ev.index());
    auto rec = encode_event(ev);
    auto back = decode_event<node::event>(rec.type, rec.payload);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->index(), ev.index());
    EXPECT_EQ(encode_event(*back).payload, rec.payload);
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<node::event>);

  const auto rec = encode_event(all.front());
  EXPECT_EQ(rec.type, "qx.events.v1.NodeRegistered");
  const auto registered =
      std::get<v1::NodeRegistered>(*decode_event<node::event>(rec.type, rec.payload));
  EXPECT_EQ(registered.id(), "n1");
  EXPECT_EQ(registered.hostname(), "esx-1.lab");
  EXPECT_EQ(registered.hardware().cpu_threads(), 16U);
  EXPECT_EQ(registered.hardware().disks(0).name(), "nvme0n1");
  const auto changed = std::get<v1::NodeStateChanged>(all[1]);
  EXPECT_EQ(changed.from(), "connected");
  EXPECT_EQ(changed.to(), "disconnected");
  EXPECT_EQ(changed.reason(), "heartbeat lost");
  EXPECT_EQ(encode_event(all[4]).type, "qx.events.v1.NodeCapacityReserved");

  EXPECT_FALSE(decode_event<node::event>("qx.events.v1.VmCreated", ""));
  EXPECT_FALSE(decode_event<node::event>("qx.events.v1.NodeRegistered", "\xff\xff\xff"));
}

TEST(node_decider, command_names) {
  EXPECT_EQ(node::name_of(node::register_node{}), "register");
  EXPECT_EQ(node::name_of(node::connect{}), "connect");
  EXPECT_EQ(node::name_of(node::disconnect{}), "disconnect");
  EXPECT_EQ(node::name_of(node::enter_maintenance{}), "enter_maintenance");
  EXPECT_EQ(node::name_of(node::exit_maintenance{}), "exit_maintenance");
  EXPECT_EQ(node::name_of(node::decommission{}), "decommission");
  EXPECT_EQ(node::name_of(node::set_overcommit{}), "set_overcommit");
  EXPECT_EQ(node::name_of(node::reserve{}), "reserve");
  EXPECT_EQ(node::name_of(node::release{}), "release");
  EXPECT_EQ(node::name_of(node::join_cluster{}), "join_cluster");
  EXPECT_EQ(node::name_of(node::leave_cluster{}), "leave_cluster");
  EXPECT_EQ(std::string{node::kind}, "node");
  EXPECT_EQ(std::string{node::stream_prefix}, "node-");
}

} // namespace
