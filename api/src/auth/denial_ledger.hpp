#pragma once

// Refusals of requests that carry no valid identity (401, 429, malformed or unrouted
// requests from anonymous sources) are audited in aggregate: the first refusal of a source
// on a route (and status) in a window is recorded at once, the rest of the window is counted and
// recorded as one record with its count when the window has passed (or at flush). So a probe is
// visible at once, and no anonymous client can make the server write one synced record per request.

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace qx::api {

/// One audit record to write for anonymous refusals.
struct denial_record {
  std::string source;        ///< The peer's host.
  unsigned status = 0;       ///< The answer's status.
  std::uint64_t count = 0;   ///< Refusals it stands for.
  std::int64_t first_ns = 0; ///< Wall time of the first of them.
  /// What the last of them asked (method, escaped path, route, code, request id).
  std::string method, path, action, code, request_id, remote;
};

class denial_ledger {
 public:
  using clock = std::chrono::steady_clock;

  /// `window`: how long refusals of one source (and status) share a record. Default 60 s.
  explicit denial_ledger(std::chrono::seconds window = std::chrono::seconds{60})
      : window_(window) {}

  /// Counts a refusal; returns the records due now: this one if it opens a window, and the
  /// counts of windows that have passed.
  [[nodiscard]] std::vector<denial_record> note(denial_record r, clock::time_point now);

  /// The counts of every open window not yet recorded (before the audit is read, at stop).
  [[nodiscard]] std::vector<denial_record> flush();

 private:
  struct open_window {
    clock::time_point opened;
    denial_record pending; ///< count 0: nothing to write at close.
  };
  void close_passed(clock::time_point now, std::vector<denial_record>& due);

  std::chrono::seconds window_;
  std::mutex mutex_;
  /// By source, status and route: a probe of each route is recorded at once.
  std::map<std::tuple<std::string, unsigned, std::string>, open_window> windows_;
  clock::time_point last_sweep_{};
};

} // namespace qx::api
