// The stored record format: what the hash chain covers and how damage is named.
#include "record_codec.hpp"

#include <gtest/gtest.h>

using namespace qx;
using namespace qx::events;
using namespace qx::events::detail;

namespace {

encoded_record sample(std::uint64_t position, const hash256& prev) {
  static const new_event ev{"qx.events.v1.VmCreated", std::string{"pay\0load", 8}};
  static const event_metadata meta{"user:bob", "c", "k", "cmd"};
  record_fields f;
  f.position = position;
  f.stream = "vm-9";
  f.version = 3;
  f.time_unix_ns = 42;
  f.event = &ev;
  f.metadata = &meta;
  f.prev_hash = prev;
  return encode_record(f);
}

TEST(record_codec, round_trips_every_field) {
  hash256 prev{};
  prev[0] = 7;
  auto rec = sample(12, prev);
  auto ev = decode_record(12, rec.bytes);
  ASSERT_TRUE(ev) << ev.error().to_string();
  EXPECT_EQ(ev->position, 12U);
  EXPECT_EQ(ev->stream, "vm-9");
  EXPECT_EQ(ev->version, 3U);
  EXPECT_EQ(ev->type, "qx.events.v1.VmCreated");
  EXPECT_EQ(ev->time_unix_ns, 42);
  EXPECT_EQ(ev->metadata.actor, "user:bob");
  EXPECT_EQ(ev->metadata.command_id, "cmd");
  EXPECT_EQ(ev->payload, std::string("pay\0load", 8));
  EXPECT_EQ(ev->prev_hash, prev);
  EXPECT_TRUE(check_record_hash(12, rec.bytes));
  EXPECT_EQ(*stored_hash(12, rec.bytes), rec.hash);
}

TEST(record_codec, the_hash_covers_the_previous_hash) {
  hash256 a{};
  hash256 b{};
  b[31] = 1;
  EXPECT_NE(sample(1, a).hash, sample(1, b).hash);
  EXPECT_EQ(sample(1, a).bytes, sample(1, a).bytes); // deterministic bytes
}

TEST(record_codec, any_flipped_byte_is_detected_and_named) {
  const auto rec = sample(5, hash256{});
  for (std::size_t i = 0; i < rec.bytes.size(); ++i) {
    auto damaged = rec.bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x10);
    auto ok = check_record_hash(5, damaged);
    ASSERT_FALSE(ok) << "flip at byte " << i << " went unnoticed";
    EXPECT_EQ(ok.error().code, errc::corrupted);
    EXPECT_EQ(ok.error().details.at("position"), "5");
  }
}

TEST(record_codec, truncated_and_garbage_records_are_errors_not_crashes) {
  const auto rec = sample(8, hash256{});
  for (std::size_t len : {std::size_t{0}, std::size_t{1}, std::size_t{33}, rec.bytes.size() - 1}) {
    auto cut = rec.bytes.substr(0, len);
    EXPECT_FALSE(check_record_hash(8, cut)) << "length " << len;
  }
  EXPECT_FALSE(decode_record(8, std::string(100, '\xff')));
  auto wrong_position = decode_record(9, rec.bytes);
  ASSERT_FALSE(wrong_position);
  EXPECT_EQ(wrong_position.error().details.at("position"), "9");
}

TEST(record_codec, big_endian_keys_sort_numerically) {
  std::string a;
  std::string b;
  put_be64(a, 255);
  put_be64(b, 256);
  EXPECT_LT(a, b);
  EXPECT_EQ(get_be64(b), 256U);
}

} // namespace
