#pragma once

// Runs the read models: one catch-up subscription from the start of the log, applying each
// event to the inventory, the alerts and the event index, then to observers (the watch
// fan-out, the operations). The models live in memory, so every start replays the log from
// position 1; /ready stays false until that catch-up has reached the head seen at start.

#include "qx/projections/alerts.hpp"
#include "qx/projections/event_index.hpp"
#include "qx/projections/inventory.hpp"

#include <qx/events/event_store.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace qx::projections {

class host {
 public:
  using observer = std::function<void(const events::recorded_event&)>;

  explicit host(events::event_store& store);
  ~host();
  host(const host&) = delete;
  host& operator=(const host&) = delete;

  /// Adds an observer called after the models applied each event; only before start().
  void add_observer(observer o);

  /// Calls `k` once, when the replay has reached the head seen at start(); only before start().
  void on_caught_up(std::function<void()> k);

  /// Starts the subscription from the beginning of the log.
  void start();
  /// Stops it; waits for the handler to finish.
  void stop();

  [[nodiscard]] const inventory& inv() const { return inventory_; }
  [[nodiscard]] const alerts& alert_model() const { return alerts_; }
  [[nodiscard]] const event_index& index() const { return index_; }

  /// The position of the last event applied.
  [[nodiscard]] std::uint64_t position() const { return position_.load(); }
  /// True once the replay reached the log's head as it was at start().
  [[nodiscard]] bool caught_up() const { return caught_up_.load(); }
  /// Why the subscription ended early, if it did: the log could not be read at a position
  /// (the error names it). The read models then stop where they are; requests waiting for
  /// them are answered at once with what they hold (docs/operations.md, "Read models").
  [[nodiscard]] std::optional<error> failure() const;
  /// Time from start() to caught_up(), for the logs and /metrics.
  [[nodiscard]] std::chrono::nanoseconds catch_up_time() const;

  /// Calls `k` once the models have applied `position`: at once, on this thread, when they
  /// have; otherwise on the projection thread right after. Keep `k` short.
  void when_applied(std::uint64_t position, std::function<void()> k);

 private:
  bool on_event(const events::recorded_event& e);
  void on_failure(const error& e);
  void release_waiters();
  void mark_caught_up();

  events::event_store& store_;
  inventory inventory_;
  alerts alerts_{inventory_};
  event_index index_;
  std::vector<observer> observers_;
  std::function<void()> on_caught_up_;
  std::unique_ptr<events::subscription> subscription_;
  std::atomic<std::uint64_t> position_{0};
  std::atomic<bool> caught_up_{false};
  std::uint64_t start_head_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::atomic<std::int64_t> catch_up_ns_{0};
  std::uint64_t skipped_seen_ = 0; ///< on the projection thread only
  std::atomic<bool> failed_{false};
  std::mutex waiters_mutex_;
  std::multimap<std::uint64_t, std::function<void()>> waiters_;
};

} // namespace qx::projections
