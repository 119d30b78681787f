// The actors on CAF's real (threaded) scheduler over the RocksDB store.
#include "temp_dir.hpp"

#include <qx/actors/datacenter.hpp>
#include <qx/events/rocksdb_store.hpp>
#include <qx/events/verify.hpp>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <future>

using namespace qx;
using namespace qx::actors;
namespace vm = qx::domain::vm;

namespace {

const command_meta meta{"user:test", "", "", "", {}};

class real_scheduler : public ::testing::Test {
 protected:
  void SetUp() override {
    events::rocksdb_store_options o;
    o.path = dir_.sub("db");
    auto s = events::open_rocksdb_store(o);
    ASSERT_TRUE(s) << s.error().to_string();
    store_ = std::move(*s);
    cfg_.set("scheduler.max-threads", std::size_t{2});
    sys_ = std::make_unique<caf::actor_system>(cfg_);
  }
  void TearDown() override {
    sys_.reset(); // waits for every actor to stop
    store_.reset();
  }

  test::temp_dir dir_;
  std::unique_ptr<events::event_store> store_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

TEST_F(real_scheduler, concurrent_clients_on_shared_aggregates_lose_no_update) {
  auto dir = spawn_directory<vm_aggregate>(*sys_, *store_, {std::chrono::minutes{5}, 16});
  constexpr int vms = 8;
  constexpr int clients = 64;
  constexpr int per_client = 25;
  {
    caf::scoped_actor self{*sys_};
    for (int i = 0; i < vms; ++i) {
      events::v1::VmSpec spec;
      spec.set_name("vm");
      spec.set_vcpus(1);
      spec.set_memory_mib(64);
      const auto id = "vm-" + std::to_string(i);
      for (const vm::command& c : {vm::command{vm::create{spec}}, vm::command{vm::start{"n1"}},
                                   vm::command{vm::confirm_running{}}})
        self->request(dir, caf::infinite, command_request<vm_aggregate>{id, c, meta})
            .receive([](command_outcome& r) { ASSERT_TRUE(r); }, [](caf::error&) { FAIL(); });
    }
  }
  std::promise<int> done;
  auto failures = std::make_shared<std::atomic<int>>(0);
  auto left = std::make_shared<std::atomic<int>>(clients * per_client);
  for (int c = 0; c < clients; ++c)
    sys_->spawn(
        [&, c, failures, left](caf::event_based_actor* self, int /*unused, see tests/README.md*/) {
          for (int k = 0; k < per_client; ++k)
            self->request(dir, caf::infinite,
                          command_request<vm_aggregate>{"vm-" + std::to_string((c + k) % vms),
                                                        vm::reboot{}, meta})
                .then([&, failures, left](command_outcome& r) {
                  if (!r)
                    ++*failures;
                  if (--*left == 0)
                    done.set_value(failures->load());
                });
        },
        0);
  ASSERT_EQ(done.get_future().get(), 0);
  caf::scoped_actor self{*sys_};
  std::uint64_t total = 0;
  for (int i = 0; i < vms; ++i)
    self->request(dir, caf::infinite, get_atom::value, "vm-" + std::to_string(i))
        .receive(
            [&](state_outcome<vm_aggregate>& s) {
              ASSERT_TRUE(s);
              auto log = store_->read_stream("vm-vm-" + std::to_string(i), 1, 100000);
              ASSERT_TRUE(log);
              EXPECT_EQ(s->version, log->size()); // versions are gap-free per aggregate
              total += s->version - 3;
            },
            [](caf::error&) { FAIL(); });
  EXPECT_EQ(total, std::uint64_t{clients * per_client});
  EXPECT_TRUE(events::verify_log(*store_)->ok);
  caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
}

TEST_F(real_scheduler, passivated_aggregates_come_back_from_their_snapshots) {
  auto dir = spawn_directory<vm_aggregate>(*sys_, *store_, {std::chrono::milliseconds{50}, 4});
  caf::scoped_actor self{*sys_};
  events::v1::VmSpec spec;
  spec.set_name("vm");
  spec.set_vcpus(1);
  spec.set_memory_mib(64);
  auto send = [&](const vm::command& c) {
    self->request(dir, caf::infinite, command_request<vm_aggregate>{"vm-1", c, meta})
        .receive([](command_outcome& r) { ASSERT_TRUE(r) << r.error().to_string(); },
                 [](caf::error&) { FAIL(); });
  };
  send(vm::create{spec});
  send(vm::start{"n1"});
  send(vm::confirm_running{});
  for (int i = 0; i < 10; ++i)
    send(vm::reboot{});
  std::string before;
  self->request(dir, caf::infinite, get_atom::value, std::string{"vm-1"})
      .receive([&](state_outcome<vm_aggregate>& s) { before = s->state.SerializeAsString(); },
               [](caf::error&) { FAIL(); });
  // The idle timeout runs on the real clock here: poll the directory's own count until it
  // reports the passivation, within a deadline (the poll interval is not a synchronisation).
  directory_stats stats;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (stats.passivations == 0 && std::chrono::steady_clock::now() < deadline) {
    self->request(dir, caf::infinite, stats_atom::value)
        .receive([&](directory_stats& s) { stats = s; }, [](caf::error&) {});
    if (stats.passivations == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  ASSERT_EQ(stats.passivations, 1U);
  self->request(dir, caf::infinite, get_atom::value, std::string{"vm-1"})
      .receive(
          [&](state_outcome<vm_aggregate>& s) {
            EXPECT_EQ(s->version, 13U);
            EXPECT_EQ(s->state.SerializeAsString(), before);
          },
          [](caf::error&) { FAIL(); });
  EXPECT_EQ((*store_->load_snapshot("vm-vm-1"))->version, 12U);
  caf::anon_send_exit(dir, caf::exit_reason::user_shutdown);
}

} // namespace
