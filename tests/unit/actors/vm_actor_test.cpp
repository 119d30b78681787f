// The VM aggregate actor and its directory on CAF's deterministic scheduler over the
// in-memory store.
#include "caf_fixture.hpp"
#include "event_helpers.hpp"

#include <qx/actors/directory.hpp>
#include <qx/actors/message_types.hpp>
#include <qx/events/memory_store.hpp>

#include <gtest/gtest.h>

using namespace qx;
using namespace qx::actors;
namespace vm = qx::domain::vm;
namespace v1 = qx::events::v1;
using namespace std::chrono_literals;

namespace {

v1::VmSpec spec(const std::string& name = "web") {
  v1::VmSpec s;
  s.set_name(name);
  s.set_vcpus(2);
  s.set_memory_mib(1024);
  return s;
}

command_request<vm_aggregate> cmd(std::string id, vm::command c, std::string command_id = {},
                                  std::optional<std::uint64_t> expected = std::nullopt) {
  return {std::move(id), std::move(c), {"user:test", std::move(command_id), "corr", "", expected}};
}

class vm_actor : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = spawn_directory<vm_aggregate>(ds_.sys(), *store_, config_); }
  void TearDown() override {
    caf::anon_send_exit(dir_, caf::exit_reason::user_shutdown);
    ds_.sched().run();
  }

  command_outcome run(command_request<vm_aggregate> req) {
    return ds_.ask<command_outcome>(dir_, std::move(req));
  }
  state_outcome<vm_aggregate> get(const std::string& id) {
    return ds_.ask<state_outcome<vm_aggregate>>(dir_, get_atom::value, id);
  }
  directory_stats stats() { return ds_.ask<directory_stats>(dir_, stats_atom::value); }

  std::unique_ptr<events::event_store> store_ = events::make_memory_store();
  directory_config config_{std::chrono::seconds{60}, 4};
  test::deterministic_system ds_;
  directory_actor<vm_aggregate> dir_;
};

TEST_F(vm_actor, a_command_is_answered_after_its_event_is_in_the_log) {
  auto created = run(cmd("vm-1", vm::create{spec()}));
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_EQ(created->version, 1U);
  EXPECT_EQ(created->events, 1U);
  auto log = store_->read_stream("vm-vm-1", 1, 10);
  ASSERT_TRUE(log);
  ASSERT_EQ(log->size(), 1U);
  EXPECT_EQ(log->front().type, "qx.events.v1.VmCreated");
  EXPECT_EQ(log->front().metadata.actor, "user:test");
  auto started = run(cmd("vm-1", vm::start{"node-1"}));
  ASSERT_TRUE(started);
  EXPECT_EQ(started->version, 2U);
  auto s = get("vm-1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state.power_state(), "starting");
  EXPECT_EQ(s->state.node_id(), "node-1");
  EXPECT_EQ(s->version, 2U);
}

TEST_F(vm_actor, a_refused_command_writes_nothing_and_says_why) {
  ASSERT_TRUE(run(cmd("vm-1", vm::create{spec()})));
  auto r = run(cmd("vm-1", vm::stop{}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::failed_precondition);
  EXPECT_EQ(r.error().details.at("reason"), "INVALID_POWER_STATE");
  EXPECT_EQ(store_->head().position, 1U);
  auto missing = run(cmd("vm-2", vm::start{"node-1"}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::not_found);
  auto bad_id = run(cmd("vm 1;drop", vm::create{spec()}));
  ASSERT_FALSE(bad_id);
  EXPECT_EQ(bad_id.error().details.at("field"), "id");
  EXPECT_EQ(store_->head().position, 1U);
}

TEST_F(vm_actor, commands_sent_together_are_decided_one_after_the_other) {
  // Both land in the mailbox before either is processed: the second must be decided on the
  // state after the first's event, so start sees a created VM.
  std::optional<command_outcome> first;
  std::optional<command_outcome> second;
  ds_.sys().spawn(
      [&](caf::event_based_actor* self, int /*unused, see tests/README.md*/) {
        self->request(dir_, caf::infinite, cmd("vm-1", vm::create{spec()}))
            .then([&](command_outcome& r) { first = r; });
        self->request(dir_, caf::infinite, cmd("vm-1", vm::start{"node-1"}))
            .then([&](command_outcome& r) { second = r; });
      },
      0);
  ds_.sched().run();
  ASSERT_TRUE(first && second);
  ASSERT_TRUE(*first) << first->error().to_string();
  ASSERT_TRUE(*second) << second->error().to_string();
  EXPECT_EQ((*first)->version, 1U);
  EXPECT_EQ((*second)->version, 2U);
}

TEST_F(vm_actor, a_retried_command_id_is_answered_without_a_second_event) {
  auto a = run(cmd("vm-1", vm::create{spec()}, "req-1"));
  auto b = run(cmd("vm-1", vm::create{spec()}, "req-1"));
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(a->duplicate);
  EXPECT_TRUE(b->duplicate);
  EXPECT_EQ(b->version, 1U);
  EXPECT_EQ(store_->head().position, 1U);
}

TEST_F(vm_actor, an_expected_version_that_does_not_match_is_a_conflict) {
  ASSERT_TRUE(run(cmd("vm-1", vm::create{spec()})));
  auto stale = run(cmd("vm-1", vm::start{"node-1"}, "", 0));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, errc::conflict);
  EXPECT_EQ(stale.error().details.at("current_version"), "1");
  EXPECT_TRUE(run(cmd("vm-1", vm::start{"node-1"}, "", 1)));
}

TEST_F(vm_actor, an_idle_aggregate_is_passivated_and_comes_back_with_the_same_state) {
  ASSERT_TRUE(run(cmd("vm-1", vm::create{spec()})));
  ASSERT_TRUE(run(cmd("vm-1", vm::start{"node-1"})));
  ASSERT_TRUE(run(cmd("vm-1", vm::confirm_running{})));
  ASSERT_TRUE(run(cmd("vm-1", vm::create_snapshot{"s1", ""})));
  ASSERT_TRUE(run(cmd("vm-1", vm::pause{})));
  const auto before = get("vm-1");
  ASSERT_TRUE(before);
  EXPECT_EQ(stats().active, 1U);
  ds_.advance(61s);
  ds_.advance(61s);
  EXPECT_EQ(stats().active, 0U);
  EXPECT_EQ(stats().passivations, 1U);
  // snapshot_every = 4: the aggregate saved one at version 4 and replays the 5th event.
  auto snap = store_->load_snapshot("vm-vm-1");
  ASSERT_TRUE(snap && snap->has_value());
  EXPECT_EQ((*snap)->version, 4U);
  const auto after = get("vm-1");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->version, before->version);
  EXPECT_EQ(after->state.SerializeAsString(), before->state.SerializeAsString());
  EXPECT_EQ(stats().activations, 2U);
}

TEST_F(vm_actor, a_busy_aggregate_is_not_passivated) {
  ASSERT_TRUE(run(cmd("vm-1", vm::create{spec()})));
  for (int i = 0; i < 5; ++i) {
    ds_.advance(30s);
    ASSERT_TRUE(get("vm-1"));
  }
  EXPECT_EQ(stats().passivations, 0U);
  EXPECT_EQ(stats().activations, 1U);
}

} // namespace
