#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qx::events {

/// SHA-256 digest of a stored record.
using hash256 = std::array<unsigned char, 32>;

/// What the appender expects the stream's current version to be.
struct expected_version {
  enum class kind : std::uint8_t {
    any,       ///< Append whatever the version is.
    no_stream, ///< The stream must not exist yet (version 0).
    exact,     ///< The stream's last version must equal `value` (0 means "no stream").
  };
  kind k = kind::any;
  std::uint64_t value = 0;

  static expected_version any() { return {kind::any, 0}; }
  static expected_version no_stream() { return {kind::no_stream, 0}; }
  static expected_version exact(std::uint64_t v) { return {kind::exact, v}; }
};

/// Who asked and why; recorded in every envelope the append writes.
struct event_metadata {
  std::string actor;          ///< The principal, e.g. "user:alice" or "system:drs".
  std::string correlation_id; ///< Ties the events of one user request together.
  std::string causation_id;   ///< The command or event that caused this one.
  std::string command_id;     ///< Idempotency key: a retry with the same id is not re-applied.
};

/// One event to append: its payload type name and serialized payload.
struct new_event {
  std::string type;
  std::string payload;
};

struct append_request {
  std::string stream;
  expected_version expected;
  std::vector<new_event> events;
  event_metadata metadata;
};

/// Where an append landed. For an idempotent retry, the first append's answer.
struct append_result {
  std::uint64_t first_position = 0;
  std::uint64_t first_version = 0;
  std::uint64_t last_version = 0;
  std::uint32_t count = 0;
  bool duplicate = false; ///< True when the command id was seen before and nothing was written.

  [[nodiscard]] std::uint64_t last_position() const {
    return count == 0 ? first_position : first_position + count - 1;
  }
};

/// An event as read back from the log.
struct recorded_event {
  std::uint64_t position = 0;
  std::string stream;
  std::uint64_t version = 0;
  std::string type;
  std::int64_t time_unix_ns = 0;
  event_metadata metadata;
  std::string payload;
  hash256 prev_hash{};
};

/// A stored record exactly as it is on disk: the bytes the hash chain covers.
struct raw_record {
  std::uint64_t position = 0;
  std::string bytes;
};

/// The newest record's position and hash (position 0 and zero hash for an empty log).
struct chain_head {
  std::uint64_t position = 0;
  hash256 hash{};
};

struct snapshot {
  std::uint64_t version = 0;
  std::string type;
  std::string state;
};

/// Counters of a store since it was opened; the API exports them as Prometheus metrics.
struct store_stats {
  std::uint64_t appends_ok = 0;      ///< Appends answered with success (duplicates included).
  std::uint64_t appends_failed = 0;  ///< Appends answered with an error.
  std::uint64_t conflicts = 0;       ///< Of those, expected-version conflicts.
  std::uint64_t events_written = 0;  ///< Events made durable.
  std::uint64_t batches = 0;         ///< Durable writes (group commits).
  std::uint64_t queue_depth = 0;     ///< Appends waiting for the writer now.
  std::uint64_t commit_ns_total = 0; ///< Time spent in durable writes, summed.
};

/// Limits on what an append may carry. Defaults are documented in events/README.md.
struct append_limits {
  /// Largest payload of one event; a larger one is refused with errc::too_large.
  std::size_t max_event_bytes = 1U << 20U; // 1 MiB
  /// Most events in one append request.
  std::size_t max_events_per_append = 1024;
  /// Largest sum of payload bytes in one append request.
  std::size_t max_append_bytes = 8U << 20U; // 8 MiB
  /// Longest stream id, type name or metadata field.
  std::size_t max_name_bytes = 256;
};

} // namespace qx::events
