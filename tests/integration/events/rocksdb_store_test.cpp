// What only the durable store must do: survive a reopen, batch concurrent appends into few
// synced writes, keep appending while a subscriber stalls, refuse a second opener.
#include "event_helpers.hpp"
#include "temp_dir.hpp"

#include <qx/events/rocksdb_store.hpp>
#include <qx/events/verify.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

using namespace qx;
using namespace qx::events;
using qx::test::make_append;

namespace {

class rocksdb_store : public ::testing::Test {
 protected:
  std::unique_ptr<event_store> open(rocksdb_store_options o = {}) {
    o.path = path_;
    auto s = open_rocksdb_store(o);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    return s ? std::move(*s) : nullptr;
  }

  test::temp_dir dir_;
  std::string path_ = dir_.sub("db");
};

TEST_F(rocksdb_store, a_reopened_store_has_everything_it_acknowledged) {
  chain_head head;
  {
    auto store = open();
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(
          store->append(make_append("vm-" + std::to_string(i % 3), expected_version::any(),
                                    {"p" + std::to_string(i)}, "cmd-" + std::to_string(i))));
    }
    ASSERT_TRUE(store->save_checkpoint("inventory", 17));
    ASSERT_TRUE(store->save_snapshot("vm-1", {4, "t", "state-at-4"}));
    head = store->head();
  }
  auto store = open();
  EXPECT_EQ(store->head().position, 30U);
  EXPECT_EQ(store->head().hash, head.hash);
  EXPECT_EQ(*store->stream_version("vm-1"), 10U);
  EXPECT_EQ(*store->load_checkpoint("inventory"), 17U);
  EXPECT_EQ((*store->load_snapshot("vm-1"))->state, "state-at-4");
  // Idempotency survives the restart: the retried command is not written again.
  auto retry = store->append(make_append("vm-0", expected_version::any(), {"p0"}, "cmd-0"));
  ASSERT_TRUE(retry);
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_position, 1U);
  // Versions continue where they were, and the chain goes on from the stored head.
  EXPECT_FALSE(store->append(make_append("vm-1", expected_version::exact(9), {"x"})));
  auto next = store->append(make_append("vm-1", expected_version::exact(10), {"x"}));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->first_position, 31U);
  auto events = store->read_all(31, 1);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->front().prev_hash, head.hash);
  EXPECT_TRUE(verify_log(*store)->ok);
}

TEST_F(rocksdb_store, concurrent_appends_share_synced_batches) {
  auto store = open();
  constexpr int streams = 64;
  constexpr int per_stream = 50;
  std::atomic<int> outstanding{streams * per_stream};
  std::promise<void> all_done;
  std::vector<std::uint64_t> versions(streams, 0);
  // Each stream keeps one append in flight, as an aggregate actor does.
  std::function<void(int)> next = [&](int s) {
    store->append_async(
        make_append("s-" + std::to_string(s), expected_version::exact(versions[s]), {"x"}),
        [&, s](result<append_result> r) {
          ASSERT_TRUE(r);
          versions[s] = r->last_version;
          if (--outstanding == 0)
            all_done.set_value();
          else if (versions[s] < per_stream)
            next(s);
        });
  };
  for (int s = 0; s < streams; ++s)
    next(s);
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds{120}), std::future_status::ready);
  const auto stats = store->stats();
  EXPECT_EQ(stats.events_written, std::uint64_t{streams * per_stream});
  EXPECT_EQ(stats.appends_ok, std::uint64_t{streams * per_stream});
  // With 64 appends in flight the writer must group them: far fewer syncs than appends.
  EXPECT_LT(stats.batches * 4, stats.events_written)
      << stats.batches << " batches for " << stats.events_written << " events";
}

TEST_F(rocksdb_store, the_batch_limits_bound_a_group_commit) {
  rocksdb_store_options o;
  o.group_commit.max_batch_events = 4;
  o.group_commit.max_batch_delay = std::chrono::milliseconds{5};
  auto store = open(o);
  std::vector<std::future<result<append_result>>> answers;
  for (int i = 0; i < 40; ++i)
    answers.push_back(std::async(std::launch::async, [&, i] {
      return store->append(make_append("s-" + std::to_string(i), expected_version::any(), {"x"}));
    }));
  for (auto& a : answers) {
    EXPECT_TRUE(a.get());
  }
  EXPECT_GE(store->stats().batches, 10U); // never more than 4 events in one batch
}

TEST_F(rocksdb_store, a_stalled_subscriber_does_not_block_appends) {
  auto store = open();
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> seen{0};
  auto slow = store->subscribe(0, [&](const recorded_event&) {
    ++seen;
    std::unique_lock lock{m};
    cv.wait(lock, [&] { return release; }); // stalls on its first event until released
    return true;
  });
  std::atomic<int> fast_seen{0};
  auto fast = store->subscribe(0, [&](const recorded_event&) {
    ++fast_seen;
    return true;
  });
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(store->append(make_append("vm-1", expected_version::any(), {"x"})));
  }
  EXPECT_EQ(store->head().position, 500U);
  EXPECT_LE(seen.load(), 1);
  fast->stop();
  {
    std::lock_guard lock{m};
    release = true;
  }
  cv.notify_all();
  slow->stop();
}

TEST_F(rocksdb_store, a_second_opener_is_refused_with_a_clear_error) {
  auto first = open();
  rocksdb_store_options o;
  o.path = path_;
  auto second = open_rocksdb_store(o);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, errc::io_error);
  EXPECT_NE(second.error().message.find(path_), std::string::npos);
}

TEST_F(rocksdb_store, a_read_only_store_refuses_appends_and_serves_reads) {
  {
    auto store = open();
    ASSERT_TRUE(store->append(make_append("vm-1", expected_version::any(), {"x"})));
  }
  rocksdb_store_options o;
  o.read_only = true;
  auto store = open(o);
  auto r = store->append(make_append("vm-1", expected_version::any(), {"y"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::unavailable);
  EXPECT_EQ(store->read_all(1, 10)->size(), 1U);
  EXPECT_FALSE(store->save_checkpoint("x", 1));
}

TEST_F(rocksdb_store, opening_a_missing_folder_without_create_is_an_error) {
  rocksdb_store_options o;
  o.path = dir_.sub("nothing-here");
  o.create_if_missing = false;
  auto s = open_rocksdb_store(o);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::io_error);
  rocksdb_store_options empty;
  auto no_path = open_rocksdb_store(empty);
  ASSERT_FALSE(no_path);
  EXPECT_EQ(no_path.error().details.at("field"), "path");
}

TEST_F(rocksdb_store, closing_with_appends_in_flight_answers_every_one) {
  std::atomic<int> answered{0};
  {
    auto store = open();
    for (int i = 0; i < 200; ++i)
      store->append_async(make_append("s-" + std::to_string(i % 8), expected_version::any(), {"x"}),
                          [&](const result<append_result>&) { ++answered; });
  } // the destructor drains the queue before closing
  EXPECT_EQ(answered.load(), 200);
  auto store = open();
  EXPECT_EQ(store->head().position, 200U);
}

} // namespace
