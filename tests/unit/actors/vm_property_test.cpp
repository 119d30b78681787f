// Property: random command sequences (seeded) through the actors never break an invariant, and
// replaying the log into fresh state gives exactly the state the live actors hold.
#include "caf_fixture.hpp"

#include <qx/actors/directory.hpp>
#include <qx/actors/message_types.hpp>
#include <qx/events/memory_store.hpp>

#include <gtest/gtest.h>

#include <random>

using namespace qx;
using namespace qx::actors;
namespace vm = qx::domain::vm;
using namespace std::chrono_literals;

namespace {

vm::command random_command(std::mt19937_64& rng) {
  const char* nodes[] = {"node-1", "node-2", "node-3"};
  const char* snaps[] = {"a", "b"};
  auto node = nodes[rng() % 3];
  auto snap = snaps[rng() % 2];
  switch (rng() % 17) {
  case 0: {
    events::v1::VmSpec spec;
    spec.set_name("vm");
    spec.set_vcpus(1 + rng() % 8);
    spec.set_memory_mib(512 * (1 + rng() % 8));
    return vm::create{spec};
  }
  case 1:
    return vm::start{node};
  case 2:
    return vm::confirm_running{};
  case 3:
    return vm::stop{};
  case 4:
    return vm::confirm_stopped{};
  case 5:
    return vm::force_stop{"test"};
  case 6:
    return vm::pause{};
  case 7:
    return vm::resume{};
  case 8:
    return vm::reboot{};
  case 9:
    return vm::migrate{node};
  case 10:
    return vm::complete_migration{};
  case 11:
    return vm::fail_migration{"test"};
  case 12:
    return (rng() % 4 == 0) ? vm::command{vm::mark_error{"test"}} : vm::command{vm::start{node}};
  case 13:
    return vm::create_snapshot{snap, ""};
  case 14:
    return vm::revert_snapshot{snap};
  case 15:
    return vm::delete_snapshot{snap};
  default:
    return (rng() % 10 == 0) ? vm::command{vm::remove{}} : vm::command{vm::confirm_running{}};
  }
}

void check_invariants(const vm::state& s) {
  static const std::set<std::string> powers = {"",       "defined",  "starting", "running",
                                               "paused", "stopping", "stopped",  "migrating",
                                               "error",  "deleted"};
  ASSERT_TRUE(powers.count(s.power_state())) << s.power_state();
  const auto& p = s.power_state();
  const bool placed =
      p == "starting" || p == "running" || p == "paused" || p == "stopping" || p == "migrating";
  if (placed) {
    EXPECT_FALSE(s.node_id().empty()) << "a " << p << " vm has no node";
  }
  if (p == "stopped" || p == "defined" || p == "deleted" || p.empty()) {
    EXPECT_TRUE(s.node_id().empty()) << "a " << p << " vm holds node " << s.node_id();
  }
  EXPECT_EQ(!s.migration_target().empty(), p == "migrating");
  if (p == "migrating") {
    EXPECT_NE(s.migration_target(), s.node_id());
  }
  std::set<std::string> names;
  for (const auto& snap : s.snapshots()) {
    EXPECT_TRUE(names.insert(snap.name()).second) << "snapshot named twice";
  }
}

TEST(vm_property, random_commands_keep_invariants_and_replay_equals_live_state) {
  const auto seed = static_cast<std::uint64_t>(::testing::UnitTest::GetInstance()->random_seed());
  for (std::uint64_t run = 0; run < 20; ++run) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " run " + std::to_string(run));
    std::mt19937_64 rng{seed * 7919 + run};
    auto store = events::make_memory_store();
    test::deterministic_system ds;
    auto dir = spawn_directory<vm_aggregate>(ds.sys(), *store, {std::chrono::seconds{10}, 8});
    constexpr int vms = 12;
    std::uint64_t accepted = 0;
    for (int i = 0; i < 800; ++i) {
      const auto id = "vm-" + std::to_string(rng() % vms);
      auto out = ds.ask<command_outcome>(
          dir,
          command_request<vm_aggregate>{id, random_command(rng), {"user:prop", "", "", "", {}}});
      if (out && out->events > 0)
        ++accepted;
      if (rng() % 50 == 0)
        ds.advance(11s); // passivate some aggregates mid-run
    }
    EXPECT_GT(accepted, 40U) << "the generator produced too few legal commands to mean much";
    for (int i = 0; i < vms; ++i) {
      const auto id = "vm-" + std::to_string(i);
      auto live = ds.ask<state_outcome<vm_aggregate>>(dir, get_atom::value, id);
      ASSERT_TRUE(live);
      check_invariants(live->state);
      auto replayed = vm::initial(id);
      auto log = store->read_stream("vm-" + id, 1, 100000);
      ASSERT_TRUE(log);
      for (const auto& rec : *log) {
        auto ev = domain::decode_event<vm::event>(rec.type, rec.payload);
        ASSERT_TRUE(ev);
        vm::evolve(replayed, *ev);
        check_invariants(replayed);
      }
      EXPECT_EQ(live->version, log->size());
      EXPECT_EQ(live->state.SerializeAsString(), replayed.SerializeAsString()) << id;
    }
    caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
    ds.sched().run();
  }
}

} // namespace
