#include "event_json.hpp"
#include "idempotency.hpp"
#include "watch_hub.hpp"

#include <gtest/gtest.h>

namespace qx::api {
namespace {

events::recorded_event event_at(std::uint64_t position) {
  events::recorded_event e;
  e.position = position;
  e.stream = "vm-a";
  e.type = "qx.events.v1.VmRebooted";
  return e;
}

TEST(watch_hub, reads_forward_from_a_cursor_and_says_when_the_ring_is_passed) {
  watch_hub hub{4};
  std::vector<watch_frame> out;
  EXPECT_TRUE(hub.read(0, 10, out));
  EXPECT_TRUE(out.empty());
  for (std::uint64_t p = 1; p <= 6; ++p)
    hub.publish(event_at(p));
  EXPECT_EQ(hub.head(), 6U);
  EXPECT_FALSE(hub.read(0, 10, out)); // positions 1 and 2 fell out of the ring
  EXPECT_FALSE(hub.read(1, 10, out));
  ASSERT_TRUE(hub.read(2, 10, out));
  ASSERT_EQ(out.size(), 4U);
  EXPECT_EQ(out.front().position, 3U);
  EXPECT_EQ(out.back().position, 6U);
  const auto frame = json::parse(*out.front().text);
  EXPECT_EQ(frame["type"], "event");
  EXPECT_EQ(frame["eventType"], "qx.events.v1.VmRebooted");
  EXPECT_EQ(frame["position"], 3);
  out.clear();
  ASSERT_TRUE(hub.read(4, 1, out));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out.front().position, 5U);
}

TEST(watch_hub, wakes_listeners_and_broadcasts) {
  watch_hub hub{8};
  int wakes = 0;
  std::vector<std::string> side;
  const auto id = hub.add({[&] { ++wakes; }, [&](auto t) { side.push_back(*t); }, {}});
  hub.publish(event_at(1));
  hub.broadcast(std::make_shared<const std::string>("op"));
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(side, std::vector<std::string>{"op"});
  EXPECT_EQ(hub.clients(), 1U);
  hub.remove(id);
  hub.publish(event_at(2));
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(hub.clients(), 0U);
}

TEST(watch_hub, ticks_make_one_shared_batch_and_wake_only_batching_watchers) {
  watch_hub hub{16};
  int wakes = 0;
  int ticks = 0;
  watch_hub::listener batching;
  batching.side = [](auto) {
  };
  batching.tick = [&] {
    ++ticks;
  };
  const auto batching_id = hub.add(std::move(batching));
  const auto plain_id = hub.add({[&] { ++wakes; }, [](auto) {}, {}});
  EXPECT_NE(batching_id, plain_id);
  for (std::uint64_t p = 1; p <= 3; ++p)
    hub.publish(event_at(p));
  EXPECT_EQ(wakes, 3);
  EXPECT_EQ(ticks, 0) << "a batching watcher was woken by an event";
  hub.tick(10);
  EXPECT_EQ(ticks, 1);
  auto b = hub.batch();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->after, 0U);
  EXPECT_EQ(b->last, 3U);
  ASSERT_TRUE(b->text);
  const auto frames = json::parse(*b->text);
  ASSERT_TRUE(frames.is_array());
  ASSERT_EQ(frames.size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(frames[i]["position"], i + 1);
  }
  EXPECT_EQ(hub.ticked(), 3U);
  // Nothing new: no batch, no wake.
  hub.tick(10);
  EXPECT_EQ(ticks, 1);
  EXPECT_EQ(hub.batch()->last, 3U);
  // More frames than a shared batch may hold: watchers read the ring themselves.
  for (std::uint64_t p = 4; p <= 9; ++p)
    hub.publish(event_at(p));
  hub.tick(5);
  b = hub.batch();
  EXPECT_EQ(b->after, 3U);
  EXPECT_EQ(b->last, 9U);
  EXPECT_FALSE(b->text);
  EXPECT_EQ(ticks, 2);
  EXPECT_EQ(hub.clients(), 2U);
}

TEST(rfc3339, round_trips_and_refuses_garbage) {
  const std::int64_t t = 1'795'000'000'123'456'789;
  EXPECT_EQ(parse_rfc3339(rfc3339(t)), t);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01Z"), 1'000'000'000);
  EXPECT_EQ(parse_rfc3339("1970-01-01T01:00:01+01:00"), 1'000'000'000);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.5Z"), 500'000'000);
  for (const char* bad :
       {"", "yesterday", "1970-01-01", "1970-13-01T00:00:00Z", "1970-01-01T00:00:00",
        "1970-01-01T00:00:00.Z", "1970-01-01T00:00:00Zjunk", "1970-01-01T25:00:00Z"})
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
}

TEST(idempotency_cache, replays_the_first_answer_and_detects_reuse) {
  idempotency_cache cache{2};
  http_response first;
  first.status = 201;
  first.body = "one";
  cache.store("k1", "fp1", first);
  http_response other;
  other.body = "two";
  cache.store("k1", "fp1", other); // the first answer wins
  auto hit = cache.find("k1", "fp1");
  ASSERT_TRUE(hit.has_value());
  EXPECT_TRUE(hit->same_request);
  EXPECT_EQ(hit->response.body, "one");
  EXPECT_FALSE(cache.find("k1", "fp2")->same_request);
  cache.store("k2", "fp", first);
  cache.store("k3", "fp", first); // evicts k1, the oldest
  EXPECT_FALSE(cache.find("k1", "fp1").has_value());
  EXPECT_TRUE(cache.find("k3", "fp").has_value());
  EXPECT_EQ(stable_hash("abc"), stable_hash("abc"));
  EXPECT_NE(stable_hash("abc"), stable_hash("abd"));
}

} // namespace
} // namespace qx::api
