// Power loss under the store: appends from many streams, a cut at a random moment through
// power_cut_fs (unsynced file tails and directory entries are dropped, as a disk without power
// would), then a reopen: every acknowledged event is there, streams have no gap, the chain
// verifies, checkpoints and snapshots agree with the log. SIGKILL (crash_test) leaves the page
// cache intact and could not see a missing sync; this can, and the last test proves it.
//
// QX_POWER_CUTS: cuts per test (default 50).
#include "temp_dir.hpp"

#include <qx/events/power_cut_fs.hpp>
#include <qx/events/rocksdb_store.hpp>
#include <qx/events/verify.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace qx::events;

namespace {

struct ack {
  std::uint64_t position;
  std::string stream;
  std::uint64_t version;
};

struct run_outcome {
  std::size_t acknowledged = 0;
  std::size_t missing = 0;           ///< acknowledged events the reopened log does not hold
  std::uint64_t unsynced_at_cut = 0; ///< bytes the cut had to drop
};

std::string stream_name(int s) {
  return "power-" + std::to_string(s);
}

int power_cuts() {
  if (const char* env = std::getenv("QX_POWER_CUTS"))
    return std::max(1, std::atoi(env));
  return 50;
}

/// The appenders of one run: each thread appends 1-3 events at a time to its own stream and
/// keeps what the store acknowledged; some save a checkpoint and a snapshot now and then.
class appenders {
 public:
  appenders(event_store& store, int streams, std::uint64_t seed, bool checkpoints)
      : acks_(static_cast<std::size_t>(streams)) {
    for (int s = 0; s < streams; ++s)
      threads_.emplace_back(
          [this, &store, s, seed, checkpoints] { run(store, s, seed, checkpoints); });
  }
  ~appenders() { join(); }
  appenders(const appenders&) = delete;
  appenders& operator=(const appenders&) = delete;

  /// Waits until `n` events are acknowledged or an append was refused (the power went);
  /// false when the deadline passed first.
  bool wait_for(std::size_t n, std::chrono::seconds deadline) {
    std::unique_lock lock{mutex_};
    return changed_.wait_for(lock, deadline, [&] { return total_ >= n || stopped_ > 0; });
  }

  /// Every thread stops at its first refused append (the power is cut).
  void join() {
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }

  [[nodiscard]] std::vector<ack> acknowledged() const {
    std::vector<ack> out;
    for (const auto& a : acks_)
      out.insert(out.end(), a.begin(), a.end());
    return out;
  }

 private:
  void run(event_store& store, int s, std::uint64_t seed, bool checkpoints) {
    std::mt19937_64 rng{seed * 1000 + static_cast<unsigned>(s)};
    const auto stream = stream_name(s);
    auto& mine = acks_[static_cast<std::size_t>(s)];
    const auto start = store.stream_version(stream);
    auto version = start ? *start : 0;
    for (;;) {
      append_request req;
      req.stream = stream;
      req.expected = expected_version::exact(version);
      const auto count = 1 + rng() % 3; // multi-event appends must be all or nothing
      for (std::uint64_t i = 0; i < count; ++i)
        req.events.push_back(
            {"test.Power", std::string(50 + rng() % 400, 'a' + static_cast<char>(s % 26))});
      req.metadata.actor = "test:power";
      req.metadata.command_id = stream + "-" + std::to_string(version) + "-" + std::to_string(seed);
      auto r = store.append(std::move(req));
      if (!r)
        break;
      for (std::uint32_t i = 0; i < r->count; ++i)
        mine.push_back(ack{r->first_position + i, stream, r->first_version + i});
      version = r->last_version;
      if (checkpoints && rng() % 8 == 0) {
        static_cast<void>(store.save_checkpoint(stream, r->last_position()));
        static_cast<void>(store.save_snapshot(
            stream, snapshot{version, "test.PowerState", "v" + std::to_string(version)}));
      }
      std::lock_guard lock{mutex_};
      total_ += r->count;
      changed_.notify_all();
    }
    std::lock_guard lock{mutex_};
    ++stopped_;
    changed_.notify_all();
  }

  std::vector<std::vector<ack>> acks_; // one per thread, written by that thread only
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t total_ = 0;
  int stopped_ = 0;
};

/// The log as the cut left it: every acknowledged event (counted into out.missing when not),
/// streams without holes, checkpoints and snapshots not ahead of the log.
void check_reopened(event_store& log, const std::vector<ack>& acks, int streams, run_outcome& out) {
  for (const auto& a : acks) {
    auto ev = log.read_all(a.position, 1);
    if (!ev || ev->size() != 1 || ev->front().stream != a.stream ||
        ev->front().version != a.version)
      ++out.missing;
  }
  // Multi-event appends are all or nothing: every stream's versions are 1..head, no hole.
  for (int s = 0; s < streams; ++s) {
    const auto stream = stream_name(s);
    auto events = log.read_stream(stream, 1, 1'000'000);
    ASSERT_TRUE(events) << events.error().to_string();
    for (std::size_t i = 0; i < events->size(); ++i)
      ASSERT_EQ((*events)[i].version, i + 1) << stream;
    const auto head = log.stream_version(stream);
    const auto version = head ? *head : 0;
    EXPECT_EQ(events->size(), version) << stream;
    // What was saved about the log never runs ahead of it.
    const auto checkpoint = log.load_checkpoint(stream);
    ASSERT_TRUE(checkpoint) << checkpoint.error().to_string();
    EXPECT_LE(*checkpoint, log.head().position) << stream;
    const auto snap = log.load_snapshot(stream);
    ASSERT_TRUE(snap) << snap.error().to_string();
    if (*snap) {
      EXPECT_LE((*snap)->version, version) << stream;
      EXPECT_EQ((*snap)->state, "v" + std::to_string((*snap)->version)) << stream;
    }
  }
}

/// One run: open the store on a fresh power_cut_fs over `db`, append until a random number of
/// events is acknowledged, cut the power, close, drop what the cut loses, reopen on the
/// machine's file system and check it. Failures of the checks are gtest failures.
run_outcome power_cut_run(const std::string& db, std::mt19937_64& rng, bool skip_sync) {
  run_outcome out;
  const int streams = 8 + static_cast<int>(rng() % 9);
  // Half the cuts come from outside after a number of acknowledged events, half from inside
  // the file system after a number of writes (often between a write and its sync).
  const bool from_inside = rng() % 2 == 0;
  const auto cut_after = 1 + rng() % 600;
  auto fs = std::make_shared<power_cut_fs>();
  if (from_inside)
    fs->cut_power_after_writes(cut_after / 4 + 1);
  {
    rocksdb_store_options opts;
    opts.path = db;
    opts.file_system = fs;
    opts.unsafe_skip_sync = skip_sync;
    std::vector<ack> acks;
    auto store = open_rocksdb_store(opts);
    if (store) {
      appenders load{**store, streams, rng(), !skip_sync};
      EXPECT_TRUE(load.wait_for(from_inside ? SIZE_MAX : cut_after, std::chrono::seconds{60}))
          << "the appenders stalled";
      fs->cut_power();
      out.unsynced_at_cut = fs->unsynced_bytes();
      load.join();
      acks = load.acknowledged();
      (*store)->close();
      store->reset();
    } else {
      // The power went while the log was being opened (recovery writes too): a cut like any
      // other, with nothing acknowledged in this run.
      EXPECT_TRUE(fs->power_is_cut()) << store.error().to_string();
      out.unsynced_at_cut = fs->unsynced_bytes();
    }
    out.acknowledged = acks.size();
    auto dropped = fs->drop_unsynced();
    EXPECT_TRUE(dropped) << dropped.error().to_string();

    rocksdb_store_options plain;
    plain.path = db;
    auto reopened = open_rocksdb_store(plain); // checks the tail of the chain on open
    EXPECT_TRUE(reopened) << reopened.error().to_string();
    if (!reopened)
      return out;
    auto& log = **reopened;
    auto report = verify_log(log);
    EXPECT_TRUE(report) << report.error().to_string();
    if (report) {
      EXPECT_TRUE(report->ok) << "break at " << report->break_position.value_or(0) << ": "
                              << report->problem;
      EXPECT_EQ(report->last_position, log.head().position);
    }
    check_reopened(log, acks, streams, out);
  }
  return out;
}

TEST(power_loss, a_cut_at_a_random_moment_loses_no_acknowledged_event) {
  const auto seed = static_cast<std::uint64_t>(::testing::UnitTest::GetInstance()->random_seed());
  std::mt19937_64 rng{seed};
  qx::test::temp_dir dir;
  const auto db = dir.sub("db");
  std::filesystem::create_directories(db); // the log's folder itself predates the runs
  const int cuts = power_cuts();
  std::size_t acknowledged = 0;
  int cuts_that_dropped = 0;
  for (int run = 0; run < cuts; ++run) {
    SCOPED_TRACE("cut " + std::to_string(run) + " (gtest seed " + std::to_string(seed) + ")");
    // Every run reopens the same log: each cut lands on a log that earlier cuts grew.
    const auto r = power_cut_run(db, rng, false);
    if (::testing::Test::HasFatalFailure())
      return;
    EXPECT_EQ(r.missing, 0U) << r.missing << " of " << r.acknowledged
                             << " acknowledged events are gone";
    acknowledged += r.acknowledged;
    cuts_that_dropped += r.unsynced_at_cut > 0 ? 1 : 0;
  }
  std::cout << "power cuts: " << cuts << " (" << cuts_that_dropped
            << " dropped unsynced bytes), acknowledged events checked: " << acknowledged << "\n";
}

// The proof that the test above can fail: with the sync skipped (a test hook of the store),
// acknowledged events are lost to a cut, and the same checks see it.
TEST(power_loss, without_the_sync_a_cut_loses_acknowledged_events) {
  const auto seed = static_cast<std::uint64_t>(::testing::UnitTest::GetInstance()->random_seed());
  std::mt19937_64 rng{seed};
  qx::test::temp_dir dir;
  const auto db = dir.sub("db");
  std::filesystem::create_directories(db);
  std::size_t missing = 0;
  for (int run = 0; run < 3; ++run) {
    SCOPED_TRACE("cut " + std::to_string(run) + " (gtest seed " + std::to_string(seed) + ")");
    const auto r = power_cut_run(db, rng, true);
    if (::testing::Test::HasFatalFailure())
      return;
    missing += r.missing;
  }
  EXPECT_GT(missing, 0U) << "three cuts without the sync lost no acknowledged event: the "
                            "power-loss test could not catch a missing sync";
}

} // namespace
