#pragma once

#include "qx/base/error.hpp"
#include "qx/events/types.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qx::events {

/// Called once per append, when the append is durable (or has failed). It may run on the
/// store's writer thread: keep it short (hand the result to an actor, fulfil a promise).
using append_callback = std::function<void(result<append_result>)>;

/// Receives the events of a subscription in position order, each exactly once.
/// Returning false ends the subscription.
using event_handler = std::function<bool(const recorded_event&)>;

/// Called once, on the subscription's thread, when a subscription ends because the log could
/// not be read (the error names the position); not called when it is stopped or its handler
/// returns false.
using failure_handler = std::function<void(const error&)>;

/// A live subscription; destroying it (or calling stop) ends delivery.
class subscription {
 public:
  virtual ~subscription() = default;
  /// Stops delivery and waits until the handler is no longer running (unless called from it).
  virtual void stop() = 0;
  /// The position of the last event delivered (the `from` position before the first).
  [[nodiscard]] virtual std::uint64_t delivered() const = 0;
  /// The error that ended the subscription early, if any.
  [[nodiscard]] virtual std::optional<error> failure() const = 0;
};

/// The event log: an append-only sequence of envelopes with a global position, per-stream
/// versions, a hash chain, checkpoints for consumers and snapshots per stream.
class event_store {
 public:
  virtual ~event_store() = default;

  /// Appends `req.events` to `req.stream` if its version matches `req.expected`. `done` is
  /// called once the events are durable, or with the error (nothing written).
  virtual void append_async(append_request req, append_callback done) = 0;

  /// Stops taking appends (later ones fail with errc::unavailable), answers every append
  /// queued before, and returns once their callbacks have returned: after close() no
  /// callback of this store runs, so what they refer to may go. Reads and subscriptions
  /// go on. Idempotent; the destructor calls it. Stores that answer appends before
  /// append_async returns need not override it.
  virtual void close() {}

  /// Blocking form of append_async.
  [[nodiscard]] result<append_result> append(append_request req);

  /// Events of one stream with version >= from_version, at most `limit`.
  [[nodiscard]] virtual result<std::vector<recorded_event>>
  read_stream(std::string_view stream, std::uint64_t from_version, std::size_t limit) = 0;

  /// Events of all streams with position >= from_position, at most `limit`.
  [[nodiscard]] virtual result<std::vector<recorded_event>> read_all(std::uint64_t from_position,
                                                                     std::size_t limit) = 0;

  /// read_all without the vector: `visit` sees the events with position >= from_position, at
  /// most `limit`, in order, and answers false to stop. The event it gets is the store's and
  /// valid during the call only (the RocksDB store decodes every record into the same one, so
  /// a long replay allocates nothing per event). Answers how many events `visit` saw.
  [[nodiscard]] virtual result<std::size_t>
  visit_all(std::uint64_t from_position, std::size_t limit, const event_handler& visit);

  /// Stored records with position >= from_position, undecoded (for verification and export).
  [[nodiscard]] virtual result<std::vector<raw_record>> read_raw(std::uint64_t from_position,
                                                                 std::size_t limit) = 0;

  /// The stream's last version; 0 when the stream has no events.
  [[nodiscard]] virtual result<std::uint64_t> stream_version(std::string_view stream) = 0;

  /// The answer an earlier append with this command id received, if any (idempotent retries
  /// above the store: an aggregate answers a retried command without deciding it again).
  [[nodiscard]] virtual result<std::optional<append_result>>
  lookup_command(std::string_view command_id) = 0;

  /// The newest durable record's position and hash.
  [[nodiscard]] virtual chain_head head() const = 0;

  /// Named consumer checkpoints (projections). 0 when never saved.
  [[nodiscard]] virtual result<std::uint64_t> load_checkpoint(std::string_view consumer) = 0;
  [[nodiscard]] virtual status save_checkpoint(std::string_view consumer,
                                               std::uint64_t position) = 0;

  /// The latest snapshot of a stream's state, if any.
  [[nodiscard]] virtual result<std::optional<snapshot>> load_snapshot(std::string_view stream) = 0;
  /// Saves a snapshot taken at `snap.version`, which must not exceed the stream's version.
  /// Snapshots are a cache of the log: the RocksDB store writes them without fsync, since a
  /// lost snapshot only means a longer replay.
  [[nodiscard]] virtual status save_snapshot(std::string_view stream, const snapshot& snap) = 0;

  /// Delivers every event with position > after_position, in order, first the stored ones and
  /// then new ones as they become durable, with no gap and no duplicate.
  [[nodiscard]] std::unique_ptr<subscription> subscribe(std::uint64_t after_position,
                                                        event_handler handler) {
    return subscribe(after_position, std::move(handler), {});
  }
  /// The same, with `on_failure` told when delivery ends because the log cannot be read.
  [[nodiscard]] virtual std::unique_ptr<subscription>
  subscribe(std::uint64_t after_position, event_handler handler, failure_handler on_failure) = 0;

  /// Counters since the store was opened.
  [[nodiscard]] virtual store_stats stats() const = 0;

  /// The limits this store enforces on appends.
  [[nodiscard]] virtual const append_limits& limits() const = 0;
};

/// Checks an append request against the limits and naming rules; names the field at fault.
[[nodiscard]] status validate(const append_request& req, const append_limits& limits);

/// Stream ids: 1..max_name_bytes of [A-Za-z0-9._:@/-].
[[nodiscard]] status validate_stream_id(std::string_view stream, const append_limits& limits);

} // namespace qx::events
