// The volume decider, table-driven: every command in every state, size and attachment rules,
// validation naming the field, and the events through the log codec.
#include <qx/actors/domain/volume.hpp>

#include "decider_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>

using namespace qx;
using namespace qx::domain;
namespace v1 = qx::events::v1;

namespace {

using namespace qx::test::decider_table;

constexpr std::uint64_t mib = std::uint64_t{1} << 20U;

volume::create disk(bool shareable = false) {
  return {"data", "p1", 2 * mib, "qcow2", shareable};
}

std::optional<volume::state> run(volume::state s, const volume::command& c, error* err = nullptr) {
  auto d = volume::decide(s, c);
  if (!d) {
    if (err != nullptr)
      *err = d.error();
    return std::nullopt;
  }
  for (const auto& ev : *d)
    volume::evolve(s, ev);
  return s;
}

volume::state must(std::optional<volume::state> s) {
  EXPECT_TRUE(s.has_value());
  return s ? *s : volume::initial("v1");
}

// "" not created; "detached" 2 MiB, on no VM; "attached" to vm-1; "shared" shareable and
// attached to vm-1; "deleted".
volume::state in_state(const std::string& name) {
  auto s = volume::initial("v1");
  if (name.empty())
    return s;
  s = must(run(s, disk(name == "shared")));
  if (name == "deleted")
    return must(run(s, volume::remove{}));
  if (name == "attached" || name == "shared")
    s = must(run(s, volume::attach{"vm-1"}));
  return s;
}

const char* all_states[] = {"", "detached", "attached", "shared", "deleted"};

std::string describe(const volume::state& s) {
  if (!s.created())
    return "";
  if (s.deleted())
    return "deleted";
  std::string out = std::to_string(s.size_bytes() / mib) + "MiB vms=";
  for (const auto& vm : s.attached_vm_ids())
    out += vm + ",";
  return out;
}

void check(const volume::state& before, const volume::command& c, const expect& want) {
  qx::test::decider_table::check<actors::volume_aggregate>(before, c, want, describe);
}

struct row {
  volume::command cmd;
  std::map<std::string, expect> by_state; // every state of all_states
};

std::vector<row> table() {
  const auto shrink = refused_for("VOLUME_SHRINK_REFUSED", "size_bytes");
  const auto not_attached = refused_for("VOLUME_NOT_ATTACHED", "vm_id");
  return {
      {disk(),
       {{"", ok("2MiB vms=")},
        {"detached", exists},
        {"attached", exists},
        {"shared", exists},
        {"deleted", exists}}},
      {volume::resize{3 * mib},
       {{"", missing},
        {"detached", ok("3MiB vms=")},
        {"attached", ok("3MiB vms=vm-1,")},
        {"shared", ok("3MiB vms=vm-1,")},
        {"deleted", gone}}},
      {volume::resize{2 * mib},
       {{"", missing},
        {"detached", unchanged()},
        {"attached", unchanged()},
        {"shared", unchanged()},
        {"deleted", gone}}},
      {volume::resize{2 * mib - 1},
       {{"", missing},
        {"detached", shrink},
        {"attached", shrink},
        {"shared", shrink},
        {"deleted", gone}}},
      {volume::attach{"vm-1"},
       {{"", missing},
        {"detached", ok("2MiB vms=vm-1,")},
        {"attached", unchanged()},
        {"shared", unchanged()},
        {"deleted", gone}}},
      {volume::attach{"vm-2"},
       {{"", missing},
        {"detached", ok("2MiB vms=vm-2,")},
        {"attached", refused_for("VOLUME_IN_USE")},
        {"shared", ok("2MiB vms=vm-1,vm-2,")},
        {"deleted", gone}}},
      {volume::attach{""},
       {{"", missing},
        {"detached", refusal(errc::invalid_argument, "", "vm_id")},
        {"attached", refusal(errc::invalid_argument, "", "vm_id")},
        {"shared", refusal(errc::invalid_argument, "", "vm_id")},
        {"deleted", gone}}},
      {volume::detach{"vm-1"},
       {{"", missing},
        {"detached", not_attached},
        {"attached", ok("2MiB vms=")},
        {"shared", ok("2MiB vms=")},
        {"deleted", gone}}},
      {volume::detach{"vm-2"},
       {{"", missing},
        {"detached", not_attached},
        {"attached", not_attached},
        {"shared", not_attached},
        {"deleted", gone}}},
      {volume::detach{""},
       {{"", missing},
        {"detached", refusal(errc::invalid_argument, "", "vm_id")},
        {"attached", refusal(errc::invalid_argument, "", "vm_id")},
        {"shared", refusal(errc::invalid_argument, "", "vm_id")},
        {"deleted", gone}}},
      {volume::remove{},
       {{"", missing},
        {"detached", ok("deleted")},
        {"attached", refused_for("VOLUME_ATTACHED")},
        {"shared", refused_for("VOLUME_ATTACHED")},
        {"deleted", gone}}},
  };
}

TEST(volume_decider, every_command_in_every_state) {
  for (const auto& r : table()) {
    ASSERT_EQ(r.by_state.size(), std::size(all_states)) << volume::name_of(r.cmd);
    for (const char* from : all_states) {
      SCOPED_TRACE(std::string{volume::name_of(r.cmd)} + " from '" + from + "'");
      ASSERT_EQ(r.by_state.count(from), 1U);
      check(in_state(from), r.cmd, r.by_state.at(from));
    }
  }
}

TEST(volume_decider, size_boundaries_and_validation_name_the_field) {
  struct bad {
    volume::create cmd;
    std::string field;
  };
  const std::vector<bad> cases = {
      {{"", "p1", volume::min_size, "raw", false}, "name"},
      {{"d\x01", "p1", volume::min_size, "raw", false}, "name"},
      {{"d", "", volume::min_size, "raw", false}, "pool_id"},
      {{"d", std::string(65, 'p'), volume::min_size, "raw", false}, "pool_id"},
      {{"d", "p1", 0, "raw", false}, "size_bytes"},
      {{"d", "p1", volume::min_size - 1, "raw", false}, "size_bytes"},
      {{"d", "p1", volume::max_size + 1, "raw", false}, "size_bytes"},
      {{"d", "p1", volume::min_size, "vmdk", false}, "format"},
      {{"d", "p1", volume::min_size, "", false}, "format"},
      {{"d", "p1", volume::min_size, "QCOW2", false}, "format"},
  };
  for (const auto& b : cases) {
    error err;
    EXPECT_FALSE(run(volume::initial("v1"), b.cmd, &err)) << b.field;
    EXPECT_EQ(err.code, errc::invalid_argument) << err.to_string();
    EXPECT_EQ(detail_of(err, "field"), b.field) << err.to_string();
  }
  EXPECT_EQ(volume::min_size, mib);
  EXPECT_EQ(volume::max_size, std::uint64_t{64} << 40U);
  auto small = must(run(volume::initial("v1"), volume::create{"d", "p1", mib, "raw", false}));
  EXPECT_EQ(small.format(), "raw");
  auto big = must(run(volume::initial("v2"), volume::create{"d", "p1", volume::max_size}));
  EXPECT_EQ(big.format(), "qcow2"); // the default
  error err;
  EXPECT_FALSE(run(small, volume::resize{volume::max_size + 1}, &err));
  EXPECT_EQ(err.code, errc::invalid_argument);
  EXPECT_EQ(detail_of(err, "field"), "size_bytes");
  small = must(run(small, volume::resize{volume::max_size}));
  EXPECT_EQ(small.size_bytes(), volume::max_size);
}

TEST(volume_decider, a_shareable_volume_is_removed_after_the_last_detach) {
  auto s = in_state("shared");
  s = must(run(s, volume::attach{"vm-2"}));
  s = must(run(s, volume::attach{"vm-3"}));
  error err;
  s = must(run(s, volume::detach{"vm-2"}));
  ASSERT_EQ(s.attached_vm_ids_size(), 2);
  EXPECT_EQ(s.attached_vm_ids(0), "vm-1");
  EXPECT_EQ(s.attached_vm_ids(1), "vm-3");
  EXPECT_FALSE(run(s, volume::detach{"vm-2"}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "VOLUME_NOT_ATTACHED");
  s = must(run(s, volume::detach{"vm-1"}));
  EXPECT_FALSE(run(s, volume::remove{}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "VOLUME_ATTACHED");
  EXPECT_EQ(detail_of(err, "vm_id"), "vm-3");
  s = must(run(s, volume::detach{"vm-3"}));
  s = must(run(s, volume::remove{}));
  EXPECT_TRUE(s.deleted());
  EXPECT_EQ(s.pool_id(), "p1"); // kept for the coordinator to give the space back
}

TEST(volume_decider, in_use_names_the_holder) {
  error err;
  EXPECT_FALSE(run(in_state("attached"), volume::attach{"vm-2"}, &err));
  EXPECT_EQ(err.code, errc::failed_precondition);
  EXPECT_EQ(detail_of(err, "reason"), "VOLUME_IN_USE");
  EXPECT_EQ(detail_of(err, "vm_id"), "vm-1");
}

TEST(volume_decider, events_round_trip_through_the_log_codec) {
  auto d = volume::decide(in_state("attached"), volume::resize{5 * mib});
  ASSERT_TRUE(d);
  auto encoded = encode_event(d->front());
  EXPECT_EQ(encoded.type, "qx.events.v1.VolumeResized");
  auto decoded = decode_event<volume::event>(encoded.type, encoded.payload);
  ASSERT_TRUE(decoded);
  const auto& resized = std::get<v1::VolumeResized>(*decoded);
  EXPECT_EQ(resized.id(), "v1");
  EXPECT_EQ(resized.from_bytes(), 2 * mib);
  EXPECT_EQ(resized.to_bytes(), 5 * mib);

  auto created = volume::decide(volume::initial("v1"), disk(true));
  ASSERT_TRUE(created);
  auto rec = encode_event(created->front());
  EXPECT_EQ(rec.type, "qx.events.v1.VolumeCreated");
  auto back = decode_event<volume::event>(rec.type, rec.payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<v1::VolumeCreated>(*back).pool_id(), "p1");
  EXPECT_TRUE(std::get<v1::VolumeCreated>(*back).shareable());

  EXPECT_FALSE(decode_event<volume::event>("qx.events.v1.StoragePoolCreated", ""));
  EXPECT_FALSE(decode_event<volume::event>("qx.events.v1.VolumeCreated", "\xff\xff\xff"));
}

TEST(volume_decider, command_names) {
  EXPECT_EQ(volume::name_of(volume::create{}), "create");
  EXPECT_EQ(volume::name_of(volume::resize{}), "resize");
  EXPECT_EQ(volume::name_of(volume::attach{}), "attach");
  EXPECT_EQ(volume::name_of(volume::detach{}), "detach");
  EXPECT_EQ(volume::name_of(volume::remove{}), "remove");
  EXPECT_EQ(std::string{volume::stream_prefix}, "volume-");
}

} // namespace
