// The storage pool decider, table-driven: every command in every state, capacity boundaries,
// settings validation naming the field, and the events through the log codec.
#include <qx/actors/domain/storage_pool.hpp>

#include "decider_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>

using namespace qx;
using namespace qx::domain;
namespace pool = qx::domain::storage_pool;
namespace v1 = qx::events::v1;

namespace {

using namespace qx::test::decider_table;

constexpr std::uint64_t capacity = 1000;

pool::create dir_pool(std::uint64_t cap = capacity) {
  return {"local", "dir", {{"path", "/var/lib/qx/pool"}}, cap};
}

/// Applies the decision to the state, as the actor does after a durable append.
std::optional<pool::state> run(pool::state s, const pool::command& c, error* err = nullptr) {
  auto d = pool::decide(s, c);
  if (!d) {
    if (err != nullptr)
      *err = d.error();
    return std::nullopt;
  }
  for (const auto& ev : *d)
    pool::evolve(s, ev);
  return s;
}

pool::state must(std::optional<pool::state> s) {
  EXPECT_TRUE(s.has_value());
  return s ? *s : pool::initial("p1");
}

// "" not created; "empty" created, no node, no volume; "assigned" on node n1; "holding" on n1
// with v1 taking 600 of 1000 bytes; "full" on n1 with v1 (600) and v2 (400); "deleted".
pool::state in_state(const std::string& name) {
  auto s = pool::initial("p1");
  if (name.empty())
    return s;
  s = must(run(s, dir_pool()));
  if (name == "deleted")
    return must(run(s, pool::remove{}));
  if (name == "empty")
    return s;
  s = must(run(s, pool::assign{"n1"}));
  if (name == "holding" || name == "full")
    s = must(run(s, pool::add_volume{"v1", 600}));
  if (name == "full")
    s = must(run(s, pool::add_volume{"v2", 400}));
  return s;
}

const char* all_states[] = {"", "empty", "assigned", "holding", "full", "deleted"};

/// The parts of the state the commands change, in a stable order.
std::string describe(const pool::state& s) {
  if (!s.created())
    return "";
  if (s.deleted())
    return "deleted";
  std::string out = "nodes=";
  for (const auto& n : s.node_ids())
    out += n + ",";
  out += " volumes=";
  std::map<std::string, std::uint64_t> sorted{s.volumes().begin(), s.volumes().end()};
  for (const auto& [id, size] : sorted)
    out += id + ":" + std::to_string(size) + ",";
  return out;
}

void check(const pool::state& before, const pool::command& c, const expect& want) {
  qx::test::decider_table::check<actors::storage_pool_aggregate>(before, c, want, describe);
}

struct row {
  pool::command cmd;
  std::map<std::string, expect> by_state; // every state of all_states
};

std::vector<row> table() {
  const auto full = refusal(errc::resource_exhausted, "POOL_FULL");
  return {
      {dir_pool(),
       {{"", ok("nodes= volumes=")},
        {"empty", exists},
        {"assigned", exists},
        {"holding", exists},
        {"full", exists},
        {"deleted", exists}}},
      {pool::assign{"n2"},
       {{"", missing},
        {"empty", ok("nodes=n2, volumes=")},
        {"assigned", ok("nodes=n1,n2, volumes=")},
        {"holding", ok("nodes=n1,n2, volumes=v1:600,")},
        {"full", ok("nodes=n1,n2, volumes=v1:600,v2:400,")},
        {"deleted", gone}}},
      {pool::assign{"n1"},
       {{"", missing},
        {"empty", ok("nodes=n1, volumes=")},
        {"assigned", unchanged()},
        {"holding", unchanged()},
        {"full", unchanged()},
        {"deleted", gone}}},
      {pool::assign{""},
       {{"", missing},
        {"empty", refusal(errc::invalid_argument, "", "node_id")},
        {"assigned", refusal(errc::invalid_argument, "", "node_id")},
        {"holding", refusal(errc::invalid_argument, "", "node_id")},
        {"full", refusal(errc::invalid_argument, "", "node_id")},
        {"deleted", gone}}},
      {pool::unassign{"n1"},
       {{"", missing},
        {"empty", refused_for("NODE_NOT_ASSIGNED", "node_id")},
        {"assigned", ok("nodes= volumes=")},
        {"holding", ok("nodes= volumes=v1:600,")},
        {"full", ok("nodes= volumes=v1:600,v2:400,")},
        {"deleted", gone}}},
      {pool::unassign{"n2"},
       {{"", missing},
        {"empty", refused_for("NODE_NOT_ASSIGNED", "node_id")},
        {"assigned", refused_for("NODE_NOT_ASSIGNED", "node_id")},
        {"holding", refused_for("NODE_NOT_ASSIGNED", "node_id")},
        {"full", refused_for("NODE_NOT_ASSIGNED", "node_id")},
        {"deleted", gone}}},
      {pool::add_volume{"v3", 400},
       {{"", missing},
        {"empty", ok("nodes= volumes=v3:400,")},
        {"assigned", ok("nodes=n1, volumes=v3:400,")},
        {"holding", ok("nodes=n1, volumes=v1:600,v3:400,")},
        {"full", full},
        {"deleted", gone}}},
      {pool::add_volume{"v3", 401},
       {{"", missing},
        {"empty", ok("nodes= volumes=v3:401,")},
        {"assigned", ok("nodes=n1, volumes=v3:401,")},
        {"holding", full},
        {"full", full},
        {"deleted", gone}}},
      {pool::add_volume{"v1", 1},
       {{"", missing},
        {"empty", ok("nodes= volumes=v1:1,")},
        {"assigned", ok("nodes=n1, volumes=v1:1,")},
        {"holding", exists},
        {"full", exists},
        {"deleted", gone}}},
      {pool::add_volume{"v3", 0},
       {{"", missing},
        {"empty", refusal(errc::invalid_argument, "", "size_bytes")},
        {"assigned", refusal(errc::invalid_argument, "", "size_bytes")},
        {"holding", refusal(errc::invalid_argument, "", "size_bytes")},
        {"full", refusal(errc::invalid_argument, "", "size_bytes")},
        {"deleted", gone}}},
      {pool::resize_volume{"v1", 1000},
       {{"", missing},
        {"empty", refusal(errc::not_found, "", "volume_id")},
        {"assigned", refusal(errc::not_found, "", "volume_id")},
        {"holding", ok("nodes=n1, volumes=v1:1000,")},
        {"full", full},
        {"deleted", gone}}},
      {pool::resize_volume{"v1", 600},
       {{"", missing},
        {"empty", refusal(errc::not_found, "", "volume_id")},
        {"assigned", refusal(errc::not_found, "", "volume_id")},
        {"holding", unchanged()},
        {"full", unchanged()},
        {"deleted", gone}}},
      {pool::resize_volume{"v1", 599},
       {{"", missing},
        {"empty", refusal(errc::not_found, "", "volume_id")},
        {"assigned", refusal(errc::not_found, "", "volume_id")},
        {"holding", refused_for("VOLUME_SHRINK_REFUSED", "size_bytes")},
        {"full", refused_for("VOLUME_SHRINK_REFUSED", "size_bytes")},
        {"deleted", gone}}},
      {pool::remove_volume{"v1"},
       {{"", missing},
        {"empty", unchanged()},
        {"assigned", unchanged()},
        {"holding", ok("nodes=n1, volumes=")},
        {"full", ok("nodes=n1, volumes=v2:400,")},
        {"deleted", gone}}},
      {pool::unassign{""},
       {{"", missing},
        {"empty", refusal(errc::invalid_argument, "", "node_id")},
        {"assigned", refusal(errc::invalid_argument, "", "node_id")},
        {"holding", refusal(errc::invalid_argument, "", "node_id")},
        {"full", refusal(errc::invalid_argument, "", "node_id")},
        {"deleted", gone}}},
      {pool::remove_volume{""},
       {{"", missing},
        {"empty", refusal(errc::invalid_argument, "", "volume_id")},
        {"assigned", refusal(errc::invalid_argument, "", "volume_id")},
        {"holding", refusal(errc::invalid_argument, "", "volume_id")},
        {"full", refusal(errc::invalid_argument, "", "volume_id")},
        {"deleted", gone}}},
      {pool::remove{},
       {{"", missing},
        {"empty", ok("deleted")},
        {"assigned", ok("deleted")},
        {"holding", refused_for("POOL_NOT_EMPTY")},
        {"full", refused_for("POOL_NOT_EMPTY")},
        {"deleted", gone}}},
  };
}

TEST(storage_pool_decider, every_command_in_every_state) {
  for (const auto& r : table()) {
    ASSERT_EQ(r.by_state.size(), std::size(all_states)) << pool::name_of(r.cmd);
    for (const char* from : all_states) {
      SCOPED_TRACE(std::string{pool::name_of(r.cmd)} + " from '" + from + "'");
      ASSERT_EQ(r.by_state.count(from), 1U);
      check(in_state(from), r.cmd, r.by_state.at(from));
    }
  }
}

TEST(storage_pool_decider, every_pool_type_with_its_settings_is_created) {
  const std::vector<pool::create> good = {
      {"a", "dir", {{"path", "/"}}, 1},
      {"b", "dir", {{"path", "/srv/..pool/a..b/.x"}}, 1},
      {"c", "nfs", {{"server", "nas.example"}, {"export", "/exports/vm"}}, 1},
      {"d", "ceph-rbd", {{"monitors", "10.0.0.1,10.0.0.2"}, {"pool", "rbd"}}, ~0ULL},
      {"e", "iscsi", {{"portal", "10.0.0.9:3260"}, {"target", "iqn.2024-01.example:t1"}}, 1},
  };
  for (const auto& c : good) {
    SCOPED_TRACE(c.name);
    auto s = run(pool::initial("p1"), c);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->type(), c.type);
    EXPECT_EQ(s->settings_size(), static_cast<int>(c.settings.size()));
    EXPECT_EQ(s->capacity_bytes(), c.capacity_bytes);
    EXPECT_EQ(pool::allocated_bytes(*s), 0U);
  }
}

TEST(storage_pool_decider, bad_settings_are_refused_naming_the_field) {
  struct bad {
    pool::create cmd;
    std::string field;
  };
  const std::vector<bad> cases = {
      {{"", "dir", {{"path", "/p"}}, 10}, "name"},
      {{std::string(81, 'n'), "dir", {{"path", "/p"}}, 10}, "name"},
      {{"p", "", {{"path", "/p"}}, 10}, "type"},
      {{"p", "zfs", {}, 10}, "type"},
      {{"p", "DIR", {{"path", "/p"}}, 10}, "type"},
      {{"p", "dir", {}, 10}, "settings.path"},
      {{"p", "dir", {{"path", ""}}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "relative/p"}}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "../p"}}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "/a/../etc"}}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "/.."}}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "/a/.."}}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "/a/./b"}}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "/p\n"}}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "/p"}, {"extra", "x"}}, 10}, "settings.extra"},
      {{"p", "dir", {{"path", "/p"}, {"server", "x"}}, 10}, "settings.server"},
      {{"p", "nfs", {{"export", "/x"}}, 10}, "settings.server"},
      {{"p", "nfs", {{"server", "nas"}}, 10}, "settings.export"},
      {{"p", "nfs", {{"server", "nas"}, {"export", "x"}}, 10}, "settings.export"},
      {{"p", "nfs", {{"server", "nas"}, {"export", "/x/../y"}}, 10}, "settings.export"},
      {{"p", "nfs", {{"server", "nas"}, {"export", "/x"}, {"path", "/y"}}, 10}, "settings.path"},
      {{"p", "ceph-rbd", {{"pool", "rbd"}}, 10}, "settings.monitors"},
      {{"p", "ceph-rbd", {{"monitors", "m1"}}, 10}, "settings.pool"},
      {{"p", "ceph-rbd", {{"monitors", "m1"}, {"pool", ""}}, 10}, "settings.pool"},
      {{"p", "iscsi", {{"target", "t"}}, 10}, "settings.portal"},
      {{"p", "iscsi", {{"portal", "x"}}, 10}, "settings.target"},
      {{"p", "iscsi", {{"portal", "x"}, {"target", "bad\ntarget"}}, 10}, "settings.target"},
      {{"p", "iscsi", {{"portal", std::string(1025, 'x')}, {"target", "t"}}, 10},
       "settings.portal"},
      {{"p", "dir", {{"path", "/p"}}, 0}, "capacity_bytes"},
  };
  for (const auto& b : cases) {
    error err;
    EXPECT_FALSE(run(pool::initial("p1"), b.cmd, &err)) << b.field;
    EXPECT_EQ(err.code, errc::invalid_argument) << err.to_string();
    EXPECT_EQ(detail_of(err, "field"), b.field) << err.to_string();
  }
}

TEST(storage_pool_decider, capacity_exactly_full_is_allowed_and_one_byte_over_is_not) {
  auto s = must(run(pool::initial("p1"), dir_pool(capacity)));
  s = must(run(s, pool::add_volume{"v1", capacity - 1}));
  error err;
  EXPECT_FALSE(run(s, pool::add_volume{"v2", 2}, &err));
  EXPECT_EQ(err.code, errc::resource_exhausted);
  EXPECT_EQ(detail_of(err, "reason"), "POOL_FULL");
  EXPECT_EQ(detail_of(err, "free_bytes"), "1");
  s = must(run(s, pool::add_volume{"v2", 1}));
  EXPECT_EQ(pool::allocated_bytes(s), capacity);
  EXPECT_FALSE(run(s, pool::add_volume{"v3", 1}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "POOL_FULL");
  EXPECT_EQ(detail_of(err, "free_bytes"), "0");

  // Growing needs only the difference to be free.
  s = must(run(s, pool::remove_volume{"v2"}));
  EXPECT_FALSE(run(s, pool::resize_volume{"v1", capacity + 1}, &err));
  EXPECT_EQ(err.code, errc::resource_exhausted);
  EXPECT_EQ(detail_of(err, "reason"), "POOL_FULL");
  s = must(run(s, pool::resize_volume{"v1", capacity}));
  EXPECT_EQ(pool::allocated_bytes(s), capacity);

  // A huge request does not wrap around.
  auto big = must(run(pool::initial("p2"), dir_pool(~0ULL)));
  big = must(run(big, pool::add_volume{"v1", ~0ULL - 5}));
  EXPECT_FALSE(run(big, pool::add_volume{"v2", ~0ULL}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "POOL_FULL");
  EXPECT_TRUE(run(big, pool::resize_volume{"v1", ~0ULL}).has_value());
  EXPECT_EQ(pool::allocated_bytes(must(run(big, pool::add_volume{"v2", 5}))), ~0ULL);
}

TEST(storage_pool_decider, removing_the_last_volume_lets_the_pool_be_deleted) {
  auto s = in_state("full");
  error err;
  EXPECT_FALSE(run(s, pool::remove{}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "POOL_NOT_EMPTY");
  EXPECT_EQ(detail_of(err, "volumes"), "2");
  s = must(run(s, pool::remove_volume{"v1"}));
  s = must(run(s, pool::remove_volume{"v2"}));
  EXPECT_EQ(pool::allocated_bytes(s), 0U);
  s = must(run(s, pool::remove{}));
  EXPECT_TRUE(s.deleted());
  // The assignment may stay: a pool on nodes is deleted once it holds nothing.
  EXPECT_EQ(s.node_ids_size(), 1);
}

TEST(storage_pool_decider, events_round_trip_through_the_log_codec) {
  auto d = pool::decide(in_state("holding"), pool::add_volume{"v2", 100});
  ASSERT_TRUE(d);
  auto encoded = encode_event(d->front());
  EXPECT_EQ(encoded.type, "qx.events.v1.StoragePoolVolumeAdded");
  auto decoded = decode_event<pool::event>(encoded.type, encoded.payload);
  ASSERT_TRUE(decoded);
  const auto& added = std::get<v1::StoragePoolVolumeAdded>(*decoded);
  EXPECT_EQ(added.pool_id(), "p1");
  EXPECT_EQ(added.volume_id(), "v2");
  EXPECT_EQ(added.size_bytes(), 100U);

  auto created = pool::decide(pool::initial("p1"), dir_pool());
  ASSERT_TRUE(created);
  auto rec = encode_event(created->front());
  EXPECT_EQ(rec.type, "qx.events.v1.StoragePoolCreated");
  auto back = decode_event<pool::event>(rec.type, rec.payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<v1::StoragePoolCreated>(*back).settings().at("path"), "/var/lib/qx/pool");

  EXPECT_FALSE(decode_event<pool::event>("qx.events.v1.VolumeCreated", ""));
  EXPECT_FALSE(decode_event<pool::event>("qx.events.v1.StoragePoolCreated", "\xff\xff\xff"));
}

TEST(storage_pool_decider, command_names) {
  EXPECT_EQ(pool::name_of(pool::create{}), "create");
  EXPECT_EQ(pool::name_of(pool::assign{}), "assign");
  EXPECT_EQ(pool::name_of(pool::unassign{}), "unassign");
  EXPECT_EQ(pool::name_of(pool::add_volume{}), "add_volume");
  EXPECT_EQ(pool::name_of(pool::resize_volume{}), "resize_volume");
  EXPECT_EQ(pool::name_of(pool::remove_volume{}), "remove_volume");
  EXPECT_EQ(pool::name_of(pool::remove{}), "remove");
  EXPECT_EQ(std::string{pool::stream_prefix}, "pool-");
}

} // namespace
