#pragma once

// The stored form of an event: a serialized qx.events.v1.Envelope whose last field is the
// SHA-256 of every byte before it. Both stores write and read records through this file, so
// the in-memory and RocksDB logs hold the same bytes for the same appends.

#include "qx/base/error.hpp"
#include "qx/events/types.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace qx::events::detail {

/// The fields the store fills in for one event.
struct record_fields {
  std::uint64_t position = 0;
  std::string_view stream;
  std::uint64_t version = 0;
  std::int64_t time_unix_ns = 0;
  const new_event* event = nullptr;
  const event_metadata* metadata = nullptr;
  hash256 prev_hash{};
};

struct encoded_record {
  std::string bytes;
  hash256 hash{};
};

[[nodiscard]] encoded_record encode_record(const record_fields& fields);

/// Checks that `bytes` end with a hash field that matches the bytes before it.
[[nodiscard]] status check_record_hash(std::uint64_t position, std::string_view bytes);

/// The record's own hash (the trailing field), without checking it.
[[nodiscard]] result<hash256> stored_hash(std::uint64_t position, std::string_view bytes);

/// Decodes a record (checking its own hash first when `check_hash`); errc::corrupted naming
/// `position` when either fails.
[[nodiscard]] result<recorded_event> decode_record(std::uint64_t position, std::string_view bytes,
                                                   bool check_hash = true);

/// decode_record into `ev`, whose strings keep their capacity: decoding record after record
/// into one event allocates nothing once they have grown. `ev` is unspecified on error.
[[nodiscard]] status decode_record_into(recorded_event& ev, std::uint64_t position,
                                        std::string_view bytes, bool check_hash = true);

/// Big-endian u64, so that RocksDB's bytewise order is numeric order.
void put_be64(std::string& out, std::uint64_t v);
[[nodiscard]] std::uint64_t get_be64(std::string_view in);

[[nodiscard]] error corrupted_at(std::uint64_t position, std::string what);

} // namespace qx::events::detail
