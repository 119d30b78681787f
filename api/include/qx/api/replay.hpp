#pragma once

// The state as it was: `qvdc replay` (the whole datacenter, or one object) and the API's
// `?as_of=` reads. Both fold the log with the aggregates' own evolve() and render through
// the API's renderer, so a replayed state equals what the API showed at that position.

#include <qx/base/error.hpp>
#include <qx/events/event_store.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace qx::api {

/// Where a replay stops: after the last event at or before `position`; or, by time, before
/// the first event (in log order) whose time is after `time_unix_ns`. The log's order is the
/// authority: a clock that stepped back never mixes later events into an earlier state.
struct replay_bound {
  bool by_time = false;
  std::uint64_t position = 0;
  std::int64_t time_unix_ns = 0;

  [[nodiscard]] bool admits(const events::recorded_event& e) const {
    return by_time ? e.time_unix_ns <= time_unix_ns : e.position <= position;
  }
};

/// A log position (1 up to `head`) or an RFC 3339 time. 400 naming `field` otherwise, and for
/// a position beyond the head (a state the log has not reached is not known).
[[nodiscard]] result<replay_bound> parse_replay_bound(std::string_view text, std::string_view field,
                                                      std::uint64_t head);

/// Called now and then while a replay reads the log: events read so far, the head.
using replay_progress = std::function<void(std::uint64_t replayed, std::uint64_t head)>;

/// The datacenter at `until`, as JSON text:
/// {"position","time","head","resources":{"vm":[...],"node":[...],...}} with every live
/// resource, by id, rendered as GET shows it. "position" and "time" are the last event's.
[[nodiscard]] result<std::string> replay_datacenter(events::event_store& store,
                                                    const replay_bound& until,
                                                    const replay_progress& progress = {});

/// One aggregate's stream at `until`, as JSON text:
/// {"stream","kind","id","position","exists","resource"}; "resource" is its last state
/// (null before its first event; a deleted one shows "exists": false). 400 for a stream no
/// aggregate owns (`qvdc log dump --stream` shows any stream's events).
[[nodiscard]] result<std::string> replay_stream(events::event_store& store,
                                                const replay_bound& until, std::string_view stream);

} // namespace qx::api
