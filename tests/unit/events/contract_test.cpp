// The event store contract: every test here runs against the RocksDB store and the in-memory
// store, which must behave the same.
#include "event_helpers.hpp"
#include "temp_dir.hpp"

#include <qx/events/memory_store.hpp>
#include <qx/events/rocksdb_store.hpp>
#include <qx/events/verify.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

using namespace qx;
using namespace qx::events;
using qx::test::make_append;

namespace {

enum class impl { rocksdb, memory };

class contract : public ::testing::TestWithParam<impl> {
 protected:
  void SetUp() override { store_ = open(); }

  std::unique_ptr<event_store> open(append_limits limits = {}) {
    if (GetParam() == impl::memory) {
      memory_store_options o;
      o.limits = limits;
      return make_memory_store(o);
    }
    rocksdb_store_options o;
    o.path = dir_.sub("db");
    o.limits = limits;
    auto s = open_rocksdb_store(o);
    if (!s) {
      ADD_FAILURE() << s.error().to_string();
    }
    return s ? std::move(*s) : nullptr;
  }

  append_result append_ok(append_request req) {
    auto r = store_->append(std::move(req));
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? *r : append_result{};
  }

  std::vector<recorded_event> all() {
    auto r = store_->read_all(1, 1'000'000);
    EXPECT_TRUE(r);
    return r ? *r : std::vector<recorded_event>{};
  }

  test::temp_dir dir_;
  std::unique_ptr<event_store> store_;
};

TEST_P(contract, empty_store_has_nothing_to_read) {
  EXPECT_EQ(store_->head().position, 0U);
  EXPECT_TRUE(all().empty());
  auto s = store_->read_stream("vm-1", 1, 10);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->empty());
  EXPECT_EQ(*store_->stream_version("vm-1"), 0U);
  auto report = verify_log(*store_);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok);
  EXPECT_EQ(report->records, 0U);
}

TEST_P(contract, positions_are_global_and_gap_free_versions_per_stream) {
  auto a1 = append_ok(make_append("vm-1", expected_version::no_stream(), {"a", "b"}));
  auto b1 = append_ok(make_append("vm-2", expected_version::no_stream(), {"c"}));
  auto a2 = append_ok(make_append("vm-1", expected_version::exact(2), {"d"}));
  EXPECT_EQ(a1.first_position, 1U);
  EXPECT_EQ(a1.first_version, 1U);
  EXPECT_EQ(a1.last_version, 2U);
  EXPECT_EQ(a1.count, 2U);
  EXPECT_EQ(b1.first_position, 3U);
  EXPECT_EQ(b1.first_version, 1U);
  EXPECT_EQ(a2.first_position, 4U);
  EXPECT_EQ(a2.first_version, 3U);
  auto events = all();
  ASSERT_EQ(events.size(), 4U);
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].position, i + 1);
  }
  EXPECT_EQ(events[0].payload, "a");
  EXPECT_EQ(events[2].stream, "vm-2");
  EXPECT_EQ(events[3].version, 3U);
  EXPECT_EQ(store_->head().position, 4U);
  EXPECT_EQ(*store_->stream_version("vm-1"), 3U);
  EXPECT_EQ(*store_->stream_version("vm-2"), 1U);
}

TEST_P(contract, read_stream_returns_that_stream_from_a_version_up_to_a_limit) {
  for (int i = 0; i < 10; ++i) {
    append_ok(make_append("vm-1", expected_version::any(), {"one-" + std::to_string(i)}));
    append_ok(make_append("vm-10", expected_version::any(), {"ten-" + std::to_string(i)}));
  }
  auto s = store_->read_stream("vm-1", 4, 3);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 3U);
  EXPECT_EQ((*s)[0].version, 4U);
  EXPECT_EQ((*s)[0].payload, "one-3");
  EXPECT_EQ((*s)[2].version, 6U);
  for (const auto& ev : *s) {
    EXPECT_EQ(ev.stream, "vm-1");
  }
  auto from0 = store_->read_stream("vm-1", 0, 100);
  ASSERT_TRUE(from0);
  EXPECT_EQ(from0->size(), 10U);
  auto past = store_->read_stream("vm-1", 11, 100);
  ASSERT_TRUE(past);
  EXPECT_TRUE(past->empty());
  auto none = store_->read_stream("vm-1", 1, 0);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(contract, read_all_honours_range_and_limit) {
  for (int i = 0; i < 20; ++i)
    append_ok(make_append("s-" + std::to_string(i % 3), expected_version::any(), {"x"}));
  auto mid = store_->read_all(5, 7);
  ASSERT_TRUE(mid);
  ASSERT_EQ(mid->size(), 7U);
  EXPECT_EQ(mid->front().position, 5U);
  EXPECT_EQ(mid->back().position, 11U);
  auto tail = store_->read_all(18, 100);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->size(), 3U);
  auto beyond = store_->read_all(21, 100);
  ASSERT_TRUE(beyond);
  EXPECT_TRUE(beyond->empty());
  auto zero = store_->read_all(0, 2);
  ASSERT_TRUE(zero);
  ASSERT_EQ(zero->size(), 2U);
  EXPECT_EQ(zero->front().position, 1U);
}

TEST_P(contract, expected_version_mismatch_is_a_conflict_and_writes_nothing) {
  append_ok(make_append("vm-1", expected_version::no_stream(), {"a", "b"}));
  const auto head_before = store_->head();

  auto again = store_->append(make_append("vm-1", expected_version::no_stream(), {"c"}));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::conflict);
  EXPECT_EQ(again.error().details.at("current_version"), "2");

  auto stale = store_->append(make_append("vm-1", expected_version::exact(1), {"c"}));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, errc::conflict);
  EXPECT_EQ(stale.error().details.at("current_version"), "2");
  EXPECT_EQ(stale.error().details.at("expected_version"), "1");

  auto ahead = store_->append(make_append("vm-1", expected_version::exact(5), {"c"}));
  ASSERT_FALSE(ahead);
  EXPECT_EQ(ahead.error().code, errc::conflict);

  auto missing = store_->append(make_append("vm-2", expected_version::exact(1), {"c"}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().details.at("current_version"), "0");

  EXPECT_EQ(store_->head().position, head_before.position);
  EXPECT_EQ(store_->head().hash, head_before.hash);
  EXPECT_EQ(all().size(), 2U);

  append_ok(make_append("vm-1", expected_version::exact(2), {"c"}));
  append_ok(make_append("vm-2", expected_version::exact(0), {"d"}));
  append_ok(make_append("vm-2", expected_version::any(), {"e"}));
  EXPECT_EQ(*store_->stream_version("vm-2"), 2U);
  EXPECT_EQ(store_->stats().conflicts, 4U);
}

TEST_P(contract, a_repeated_command_id_returns_the_first_answer_and_writes_once) {
  auto first = append_ok(make_append("vm-1", expected_version::any(), {"a", "b"}, "cmd-1"));
  auto retry =
      store_->append(make_append("vm-1", expected_version::no_stream(), {"a", "b"}, "cmd-1"));
  ASSERT_TRUE(retry) << retry.error().to_string();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_FALSE(first.duplicate);
  EXPECT_EQ(retry->first_position, first.first_position);
  EXPECT_EQ(retry->last_version, first.last_version);
  EXPECT_EQ(retry->count, 2U);
  EXPECT_EQ(all().size(), 2U);
  auto known = store_->lookup_command("cmd-1");
  ASSERT_TRUE(known);
  ASSERT_TRUE(known->has_value());
  EXPECT_EQ((*known)->first_position, first.first_position);
  EXPECT_TRUE((*known)->duplicate);
  auto unknown = store_->lookup_command("cmd-never");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->has_value());

  auto elsewhere = store_->append(make_append("vm-2", expected_version::any(), {"x"}, "cmd-1"));
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error().code, errc::invalid_argument);
  EXPECT_EQ(elsewhere.error().details.at("field"), "metadata.command_id");

  // A command that failed is not remembered: its retry is judged afresh.
  auto failed = store_->append(make_append("vm-1", expected_version::exact(9), {"c"}, "cmd-2"));
  ASSERT_FALSE(failed);
  auto retried = append_ok(make_append("vm-1", expected_version::exact(2), {"c"}, "cmd-2"));
  EXPECT_FALSE(retried.duplicate);
  EXPECT_EQ(retried.first_position, 3U);
}

TEST_P(contract, one_batch_of_concurrent_retries_writes_a_command_once) {
  // Many callers race the same command id; exactly one write happens.
  std::vector<std::thread> threads;
  std::atomic<int> fresh{0};
  std::atomic<int> duplicates{0};
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&] {
      auto r = store_->append(make_append("vm-1", expected_version::any(), {"p"}, "same"));
      ASSERT_TRUE(r);
      (r->duplicate ? duplicates : fresh)++;
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(fresh.load(), 1);
  EXPECT_EQ(duplicates.load(), 15);
  EXPECT_EQ(all().size(), 1U);
}

TEST_P(contract, metadata_type_and_binary_payload_round_trip) {
  std::string binary{"\0\x01\xff\xfe<tag attr=\"x\">&amp;\n", 23};
  append_request req;
  req.stream = "vm-7";
  req.expected = expected_version::any();
  // A type this binary has no schema for: its payload is the caller's own bytes. (A payload
  // of a known type must decode as that type: text_fields_test.)
  req.events.push_back({"test.v1.Binary", binary});
  req.metadata = {"user:alice", "corr-9", "cause-3", "cmd-42"};
  append_ok(req);
  auto events = all();
  ASSERT_EQ(events.size(), 1U);
  const auto& ev = events[0];
  EXPECT_EQ(ev.type, "test.v1.Binary");
  EXPECT_EQ(ev.payload, binary);
  EXPECT_EQ(ev.metadata.actor, "user:alice");
  EXPECT_EQ(ev.metadata.correlation_id, "corr-9");
  EXPECT_EQ(ev.metadata.causation_id, "cause-3");
  EXPECT_EQ(ev.metadata.command_id, "cmd-42");
  EXPECT_GT(ev.time_unix_ns, 0);
}

TEST_P(contract, oversized_and_malformed_appends_are_refused_with_the_field_and_write_nothing) {
  append_limits limits;
  limits.max_event_bytes = 1024;
  limits.max_events_per_append = 4;
  limits.max_append_bytes = 2048;
  store_.reset();
  store_ = open(limits);
  auto expect_refused = [&](append_request req, errc code, const std::string& field) {
    auto r = store_->append(std::move(req));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, code) << r.error().to_string();
    EXPECT_EQ(r.error().details.at("field"), field) << r.error().to_string();
  };
  expect_refused(make_append("vm-1", expected_version::any(), {std::string(1025, 'x')}),
                 errc::too_large, "events[0].payload");
  expect_refused(make_append("vm-1", expected_version::any(), {"a", std::string(2000, 'x')}),
                 errc::too_large, "events[1].payload");
  expect_refused(make_append("vm-1", expected_version::any(), {"a", "b", "c", "d", "e"}),
                 errc::too_large, "events");
  expect_refused(
      make_append("vm-1", expected_version::any(),
                  {std::string(1000, 'x'), std::string(1000, 'x'), std::string(100, 'x')}),
      errc::too_large, "events");
  expect_refused(make_append("vm-1", expected_version::any(), {}), errc::invalid_argument,
                 "events");
  expect_refused(make_append("", expected_version::any(), {"a"}), errc::invalid_argument, "stream");
  expect_refused(make_append(std::string(300, 'v'), expected_version::any(), {"a"}),
                 errc::too_large, "stream");
  for (std::string hostile :
       {std::string{"vm 1"}, std::string{"vm\n1"}, std::string{"a\0b", 3},
        std::string{"vm-\xc3\xa9"}, std::string{"<script>"}, std::string{"a;b"}})
    expect_refused(make_append(hostile, expected_version::any(), {"a"}), errc::invalid_argument,
                   "stream");
  expect_refused(make_append("vm-1", expected_version::any(), {"a"}, std::string(300, 'c')),
                 errc::too_large, "metadata.command_id");
  expect_refused(make_append("vm-1", expected_version::any(), {"a"}, "", ""),
                 errc::invalid_argument, "events[0].type");
  EXPECT_EQ(store_->head().position, 0U);
  EXPECT_TRUE(all().empty());
  EXPECT_EQ(store_->stats().appends_failed, 15U);
  // A payload at the limit is accepted.
  append_ok(make_append("vm-1", expected_version::any(), {std::string(1024, 'x')}));
}

// A toy aggregate: its state is the concatenation of its payloads.
std::string fold(std::string state, const std::vector<recorded_event>& events) {
  for (const auto& ev : events)
    state += ev.payload + ";";
  return state;
}

TEST_P(contract, snapshot_plus_tail_equals_full_replay) {
  for (int i = 0; i < 30; ++i) {
    append_ok(make_append("vm-1", expected_version::any(), {"e" + std::to_string(i)}));
    append_ok(make_append("vm-2", expected_version::any(), {"noise"}));
  }
  auto upto12 = store_->read_stream("vm-1", 1, 12);
  ASSERT_TRUE(upto12);
  ASSERT_TRUE(store_->save_snapshot("vm-1", {12, "test.State", fold("", *upto12)}));
  for (int i = 30; i < 40; ++i)
    append_ok(make_append("vm-1", expected_version::any(), {"e" + std::to_string(i)}));

  auto snap = store_->load_snapshot("vm-1");
  ASSERT_TRUE(snap);
  ASSERT_TRUE(snap->has_value());
  EXPECT_EQ((*snap)->version, 12U);
  EXPECT_EQ((*snap)->type, "test.State");
  auto tail = store_->read_stream("vm-1", (*snap)->version + 1, 1000);
  auto full = store_->read_stream("vm-1", 1, 1000);
  ASSERT_TRUE(tail);
  ASSERT_TRUE(full);
  EXPECT_EQ(tail->size(), 28U);
  EXPECT_EQ(fold((*snap)->state, *tail), fold("", *full));

  auto none = store_->load_snapshot("vm-3");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto future = store_->save_snapshot("vm-1", {41, "test.State", "x"});
  ASSERT_FALSE(future);
  EXPECT_EQ(future.error().details.at("field"), "version");
  EXPECT_FALSE(store_->save_snapshot("vm-1", {0, "test.State", "x"}));
  EXPECT_FALSE(store_->save_snapshot("no such/stream", {1, "t", "x"}));
}

TEST_P(contract, checkpoints_are_saved_per_consumer_and_bounded_by_the_head) {
  EXPECT_EQ(*store_->load_checkpoint("inventory"), 0U);
  append_ok(make_append("vm-1", expected_version::any(), {"a", "b", "c"}));
  ASSERT_TRUE(store_->save_checkpoint("inventory", 2));
  ASSERT_TRUE(store_->save_checkpoint("alerts", 3));
  EXPECT_EQ(*store_->load_checkpoint("inventory"), 2U);
  EXPECT_EQ(*store_->load_checkpoint("alerts"), 3U);
  auto beyond = store_->save_checkpoint("inventory", 4);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().details.at("field"), "position");
  EXPECT_FALSE(store_->save_checkpoint("", 1));
  EXPECT_EQ(*store_->load_checkpoint("inventory"), 2U);
}

TEST_P(contract, every_record_links_to_the_hash_of_the_one_before) {
  for (int i = 0; i < 50; ++i)
    append_ok(make_append("s-" + std::to_string(i % 5), expected_version::any(), {"p"}));
  auto raw = store_->read_raw(1, 100);
  auto events = all();
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->size(), 50U);
  EXPECT_EQ(events[0].prev_hash, hash256{});
  for (std::size_t i = 1; i < events.size(); ++i) {
    EXPECT_NE(events[i].prev_hash, events[i - 1].prev_hash);
  }
  auto report = verify_log(*store_);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, 50U);
  auto partial = verify_log(*store_, 30);
  ASSERT_TRUE(partial);
  EXPECT_TRUE(partial->ok);
  EXPECT_EQ(partial->records, 21U);
}

TEST_P(contract, a_catch_up_subscription_sees_stored_then_live_events_once_in_order) {
  for (int i = 0; i < 100; ++i)
    append_ok(make_append("s-" + std::to_string(i % 7), expected_version::any(), {"old"}));
  constexpr std::uint64_t total = 300;
  struct sink {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::uint64_t> seen;
  };
  std::vector<std::unique_ptr<sink>> sinks;
  std::vector<std::unique_ptr<subscription>> subs;
  const std::uint64_t starts[] = {0, 50, 100, 0};
  for (auto from : starts) {
    auto& s = sinks.emplace_back(std::make_unique<sink>());
    subs.push_back(store_->subscribe(from, [&s = *s](const recorded_event& ev) {
      std::lock_guard lock{s.m};
      s.seen.push_back(ev.position);
      s.cv.notify_all();
      return true;
    }));
  }
  std::thread writer{[&] {
    for (int i = 0; i < 200; ++i)
      append_ok(make_append("live-" + std::to_string(i % 3), expected_version::any(), {"new"}));
  }};
  writer.join();
  for (std::size_t k = 0; k < sinks.size(); ++k) {
    auto& s = *sinks[k];
    std::unique_lock lock{s.m};
    const auto want = total - starts[k];
    ASSERT_TRUE(
        s.cv.wait_for(lock, std::chrono::seconds{30}, [&] { return s.seen.size() >= want; }))
        << "subscription " << k << " saw " << s.seen.size() << " of " << want;
    ASSERT_EQ(s.seen.size(), want);
    for (std::size_t i = 0; i < s.seen.size(); ++i) {
      ASSERT_EQ(s.seen[i], starts[k] + i + 1);
    }
  }
  for (auto& sub : subs) {
    sub->stop();
    EXPECT_FALSE(sub->failure().has_value());
  }
}

TEST_P(contract, a_handler_that_returns_false_ends_its_subscription) {
  for (int i = 0; i < 10; ++i)
    append_ok(make_append("vm-1", expected_version::any(), {"x"}));
  std::mutex m;
  std::condition_variable cv;
  int calls = 0;
  auto sub = store_->subscribe(0, [&](const recorded_event& ev) {
    std::lock_guard lock{m};
    ++calls;
    cv.notify_all();
    return ev.position < 3;
  });
  {
    std::unique_lock lock{m};
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds{30}, [&] { return calls >= 3; }));
  }
  append_ok(make_append("vm-1", expected_version::any(), {"x"}));
  sub->stop(); // waits for the subscription's thread
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(sub->delivered(), 2U);
}

TEST_P(contract, racing_writers_on_one_stream_get_exactly_one_winner_per_version) {
  constexpr int writers = 64;
  constexpr std::uint64_t target = 640;
  std::atomic<std::uint64_t> wins{0};
  std::mutex m;
  std::map<std::uint64_t, std::string> winner_of; // version -> payload
  std::vector<std::thread> threads;
  for (int t = 0; t < writers; ++t)
    threads.emplace_back([&, t] {
      for (int attempt = 0; wins.load() < target; ++attempt) {
        auto v = store_->stream_version("hot");
        ASSERT_TRUE(v);
        const auto payload = std::to_string(t) + "/" + std::to_string(attempt);
        auto r = store_->append(make_append("hot", expected_version::exact(*v), {payload}));
        if (r) {
          ++wins;
          std::lock_guard lock{m};
          EXPECT_TRUE(winner_of.emplace(r->first_version, payload).second)
              << "two winners for version " << r->first_version;
        } else {
          ASSERT_EQ(r.error().code, errc::conflict) << r.error().to_string();
        }
      }
    });
  for (auto& t : threads)
    t.join();
  const auto final_version = *store_->stream_version("hot");
  EXPECT_EQ(final_version, wins.load());
  EXPECT_EQ(winner_of.size(), wins.load());
  auto stored = store_->read_stream("hot", 1, 100000);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), final_version);
  for (const auto& ev : *stored) {
    EXPECT_EQ(ev.payload, winner_of.at(ev.version)) << "version " << ev.version;
  }
}

INSTANTIATE_TEST_SUITE_P(stores, contract, ::testing::Values(impl::rocksdb, impl::memory),
                         [](const auto& param_info) {
                           return param_info.param == impl::rocksdb ? std::string{"rocksdb"}
                                                                    : std::string{"memory"};
                         });

TEST(both_stores, write_the_same_bytes_for_the_same_appends) {
  manual_clock clk{1'700'000'000'000'000'000};
  test::temp_dir dir;
  memory_store_options mo;
  mo.time_source = &clk;
  auto mem = make_memory_store(mo);
  rocksdb_store_options ro;
  ro.path = dir.sub("db");
  ro.time_source = &clk;
  auto disk = open_rocksdb_store(ro);
  ASSERT_TRUE(disk);
  for (int i = 0; i < 25; ++i) {
    auto req = make_append("vm-" + std::to_string(i % 4), expected_version::any(),
                           {"payload-" + std::to_string(i)}, "cmd-" + std::to_string(i));
    ASSERT_TRUE(mem->append(req));
    ASSERT_TRUE((*disk)->append(req));
    clk.advance(1'000'000);
  }
  auto a = mem->read_raw(1, 100);
  auto b = (*disk)->read_raw(1, 100);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), 25U);
  ASSERT_EQ(a->size(), b->size());
  for (std::size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].bytes, (*b)[i].bytes) << "position " << i + 1;
  }
  EXPECT_EQ(mem->head().hash, (*disk)->head().hash);
}

} // namespace
