// The VM decider, table-driven: every command in every power state.
#include <qx/actors/domain/vm.hpp>

#include <gtest/gtest.h>

#include <map>
#include <optional>

using namespace qx;
using namespace qx::domain;
namespace v1 = qx::events::v1;

namespace {

v1::VmSpec good_spec() {
  v1::VmSpec spec;
  spec.set_name("web-1");
  spec.set_vcpus(2);
  spec.set_memory_mib(2048);
  spec.add_volume_ids("volume-1");
  spec.add_network_ids("net-1");
  spec.set_ha_restart_priority(3);
  return spec;
}

vm::state in_state(const std::string& power) {
  auto s = vm::initial("vm-1");
  if (power.empty())
    return s;
  s.set_power_state(power);
  *s.mutable_spec() = good_spec();
  if (power != vm::power::defined && power != vm::power::stopped && power != vm::power::deleted)
    s.set_node_id("node-1");
  if (power == vm::power::migrating)
    s.set_migration_target("node-2");
  auto* snap = s.add_snapshots();
  snap->set_name("base");
  return s;
}

/// Applies the decision to the state, as the actor does after a durable append.
std::optional<vm::state> run(vm::state s, const vm::command& c, error* err = nullptr) {
  auto d = vm::decide(s, c);
  if (!d) {
    if (err != nullptr)
      *err = d.error();
    return std::nullopt;
  }
  for (const auto& ev : *d)
    vm::evolve(s, ev);
  return s;
}

const char* all_states[] = {"",
                            vm::power::defined,
                            vm::power::starting,
                            vm::power::running,
                            vm::power::paused,
                            vm::power::stopping,
                            vm::power::stopped,
                            vm::power::migrating,
                            vm::power::in_error,
                            vm::power::deleted};

struct row {
  vm::command cmd;
  // power state before -> power state after; states not listed must be refused.
  std::map<std::string, std::string> legal;
};

std::vector<row> table() {
  using namespace vm::power;
  return {
      {vm::create{good_spec()}, {{"", defined}}},
      {vm::start{"node-3"}, {{defined, starting}, {stopped, starting}}},
      {vm::confirm_running{}, {{starting, running}, {paused, running}, {running, running}}},
      {vm::stop{}, {{running, stopping}}},
      {vm::confirm_stopped{}, {{stopping, stopped}, {stopped, stopped}}},
      {vm::force_stop{"hung"},
       {{starting, stopped},
        {running, stopped},
        {paused, stopped},
        {stopping, stopped},
        {migrating, stopped},
        {in_error, stopped}}},
      {vm::pause{}, {{running, paused}}},
      {vm::resume{}, {{paused, running}}},
      {vm::reboot{}, {{running, running}}},
      {vm::migrate{"node-2"}, {{running, migrating}}},
      {vm::complete_migration{}, {{migrating, running}}},
      {vm::fail_migration{"target lost"}, {{migrating, running}}},
      {vm::mark_error{"libvirt said so"},
       {{defined, in_error},
        {starting, in_error},
        {running, in_error},
        {paused, in_error},
        {stopping, in_error},
        {stopped, in_error},
        {migrating, in_error},
        {in_error, in_error}}},
      {vm::create_snapshot{"snap-2", ""},
       {{defined, defined}, {running, running}, {paused, paused}, {stopped, stopped}}},
      {vm::revert_snapshot{"base"}, {{defined, defined}, {stopped, stopped}}},
      {vm::delete_snapshot{"base"},
       {{defined, defined},
        {starting, starting},
        {running, running},
        {paused, paused},
        {stopping, stopping},
        {stopped, stopped},
        {migrating, migrating},
        {in_error, in_error}}},
      {vm::remove{}, {{defined, deleted}, {stopped, deleted}, {in_error, deleted}}},
  };
}

TEST(vm_decider, every_command_in_every_power_state) {
  for (const auto& r : table()) {
    for (const char* from : all_states) {
      SCOPED_TRACE(std::string{vm::name_of(r.cmd)} + " from '" + from + "'");
      error err;
      auto after = run(in_state(from), r.cmd, &err);
      auto it = r.legal.find(from);
      if (it != r.legal.end()) {
        ASSERT_TRUE(after.has_value()) << err.to_string();
        EXPECT_EQ(after->power_state(), it->second);
      } else {
        ASSERT_FALSE(after.has_value()) << "illegal move was accepted";
        if (std::holds_alternative<vm::create>(r.cmd)) {
          EXPECT_EQ(err.code, errc::already_exists); // ids are never reused, even once deleted
        } else if (std::string{from}.empty()) {
          EXPECT_EQ(err.code, errc::not_found);
        } else if (std::string{from} == vm::power::deleted) {
          EXPECT_EQ(err.details["reason"], "DELETED") << err.to_string();
        } else {
          EXPECT_EQ(err.code, errc::failed_precondition) << err.to_string();
          EXPECT_FALSE(err.details["reason"].empty()) << err.to_string();
        }
      }
    }
  }
}

TEST(vm_decider, placement_follows_start_migration_and_stop) {
  auto s = *run(in_state(""), vm::create{good_spec()});
  s = *run(s, vm::start{"node-1"});
  EXPECT_EQ(s.node_id(), "node-1");
  s = *run(s, vm::confirm_running{});
  s = *run(s, vm::migrate{"node-2"});
  EXPECT_EQ(s.node_id(), "node-1");
  EXPECT_EQ(s.migration_target(), "node-2");
  auto failed = *run(s, vm::fail_migration{"x"});
  EXPECT_EQ(failed.node_id(), "node-1");
  EXPECT_TRUE(failed.migration_target().empty());
  s = *run(s, vm::complete_migration{});
  EXPECT_EQ(s.node_id(), "node-2");
  s = *run(s, vm::stop{});
  s = *run(s, vm::confirm_stopped{});
  EXPECT_TRUE(s.node_id().empty());
}

TEST(vm_decider, repeated_hypervisor_reports_change_nothing) {
  auto d = vm::decide(in_state(vm::power::running), vm::confirm_running{});
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->empty());
  auto e = vm::decide(in_state(vm::power::stopped), vm::confirm_stopped{});
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->empty());
}

TEST(vm_decider, migrating_to_the_current_node_is_refused) {
  error err;
  EXPECT_FALSE(run(in_state(vm::power::running), vm::migrate{"node-1"}, &err));
  EXPECT_EQ(err.details.at("reason"), "SAME_NODE");
}

TEST(vm_decider, deleting_a_running_vm_is_refused_with_a_clear_code) {
  error err;
  EXPECT_FALSE(run(in_state(vm::power::running), vm::remove{}, &err));
  EXPECT_EQ(err.code, errc::failed_precondition);
  EXPECT_EQ(err.details.at("reason"), "VM_NOT_STOPPED");
}

TEST(vm_decider, snapshots_are_named_once_and_must_exist_to_revert_or_delete) {
  error err;
  EXPECT_FALSE(run(in_state(vm::power::stopped), vm::create_snapshot{"base", ""}, &err));
  EXPECT_EQ(err.details.at("reason"), "SNAPSHOT_EXISTS");
  EXPECT_FALSE(run(in_state(vm::power::stopped), vm::revert_snapshot{"nope"}, &err));
  EXPECT_EQ(err.code, errc::not_found);
  EXPECT_FALSE(run(in_state(vm::power::stopped), vm::delete_snapshot{"nope"}, &err));
  EXPECT_EQ(err.code, errc::not_found);
  auto s = *run(in_state(vm::power::stopped), vm::create_snapshot{"s2", "before upgrade"});
  ASSERT_EQ(s.snapshots_size(), 2);
  EXPECT_EQ(s.snapshots(1).power_state(), vm::power::stopped);
  s = *run(s, vm::delete_snapshot{"base"});
  ASSERT_EQ(s.snapshots_size(), 1);
  EXPECT_EQ(s.snapshots(0).name(), "s2");
}

TEST(vm_decider, a_bad_spec_is_refused_naming_the_field) {
  struct bad {
    std::function<void(v1::VmSpec&)> spoil;
    std::string field;
  };
  const std::vector<bad> cases = {
      {[](v1::VmSpec& s) { s.set_name(""); }, "spec.name"},
      {[](v1::VmSpec& s) { s.set_name(std::string(200, 'n')); }, "spec.name"},
      {[](v1::VmSpec& s) { s.set_name("bad\nname"); }, "spec.name"},
      {[](v1::VmSpec& s) { s.set_vcpus(0); }, "spec.vcpus"},
      {[](v1::VmSpec& s) { s.set_vcpus(100000); }, "spec.vcpus"},
      {[](v1::VmSpec& s) { s.set_memory_mib(1); }, "spec.memory_mib"},
      {[](v1::VmSpec& s) { s.set_memory_mib(~0ULL); }, "spec.memory_mib"},
      {[](v1::VmSpec& s) { s.add_volume_ids(""); }, "spec.volume_ids"},
      {[](v1::VmSpec& s) {
         for (int i = 0; i < 40; ++i)
           s.add_network_ids("net-" + std::to_string(i));
       },
       "spec.network_ids"},
      {[](v1::VmSpec& s) { s.set_ha_restart_priority(9); }, "spec.ha_restart_priority"},
      {[](v1::VmSpec& s) { s.set_ha_restart_priority(-1); }, "spec.ha_restart_priority"},
      {[](v1::VmSpec& s) { s.set_cloud_init_user_data(std::string(70000, 'u')); },
       "spec.cloud_init_user_data"},
      {[](v1::VmSpec& s) { (*s.mutable_labels())[""] = "x"; }, "spec.labels"},
  };
  for (const auto& c : cases) {
    auto spec = good_spec();
    c.spoil(spec);
    error err;
    EXPECT_FALSE(run(in_state(""), vm::create{spec}, &err)) << c.field;
    EXPECT_EQ(err.code, errc::invalid_argument) << c.field;
    EXPECT_EQ(err.details["field"], c.field);
  }
}

TEST(vm_decider, events_round_trip_through_the_log_codec) {
  auto d = vm::decide(in_state(vm::power::running), vm::migrate{"node-2"});
  ASSERT_TRUE(d);
  auto encoded = encode_event(d->front());
  EXPECT_EQ(encoded.type, "qx.events.v1.VmMigrationStarted");
  auto decoded = decode_event<vm::event>(encoded.type, encoded.payload);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(std::get<v1::VmMigrationStarted>(*decoded).target_node_id(), "node-2");
  EXPECT_FALSE(decode_event<vm::event>("qx.events.v1.NodeRegistered", ""));
  EXPECT_FALSE(decode_event<vm::event>("qx.events.v1.VmCreated", "\xff\xff\xff"));
}

} // namespace
