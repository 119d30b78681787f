#include "projection_fixture.hpp"

namespace qx::test {
namespace {

TEST(event_index, finds_by_stream_principal_type_time_and_position) {
  projections::event_index idx;
  auto ev = [](std::uint64_t pos, std::string stream, std::string type, std::string who,
               std::int64_t t) {
    events::recorded_event e;
    e.position = pos;
    e.stream = std::move(stream);
    e.type = std::move(type);
    e.metadata.actor = std::move(who);
    e.time_unix_ns = t;
    return e;
  };
  idx.apply(ev(1, "vm-a", "A", "user:x", 100));
  idx.apply(ev(2, "vm-b", "B", "user:y", 200));
  idx.apply(ev(3, "vm-a", "B", "user:y", 300));
  idx.apply(ev(3, "vm-a", "B", "user:y", 300)); // delivered twice: kept once
  idx.apply(ev(4, "vm-c", "A", "user:x", 400));
  using V = std::vector<std::uint64_t>;
  projections::event_query q;
  EXPECT_EQ(idx.find(q), (V{1, 2, 3, 4}));
  q.stream = "vm-a";
  EXPECT_EQ(idx.find(q), (V{1, 3}));
  q = {};
  q.principal = "user:y";
  EXPECT_EQ(idx.find(q), (V{2, 3}));
  q.type = "A";
  EXPECT_TRUE(idx.find(q).empty());
  q = {};
  q.from_time_ns = 150;
  q.to_time_ns = 350;
  EXPECT_EQ(idx.find(q), (V{2, 3}));
  q = {};
  q.from_position = 3;
  q.limit = 1;
  EXPECT_EQ(idx.find(q), (V{3}));
  q = {};
  q.principal = "user:nobody";
  EXPECT_TRUE(idx.find(q).empty());
}

} // namespace
} // namespace qx::test
