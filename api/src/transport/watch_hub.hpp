#pragma once

// The watch fan-out. Every event is rendered to its JSON frame once, into a ring of the
// newest `capacity` frames shared by all watchers. Each watcher keeps only its own cursor (the
// last position it sent) and reads forward from the ring, or from the log when it is further
// behind than the ring reaches; so a watcher that reconnects with its last position sees no
// gap and no duplicate, and a slow one never holds the others back.

#include <qx/events/types.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace qx::api {

/// The most frames a watcher may take in one message (batch=N), and so in a shared batch.
inline constexpr std::size_t max_shared_batch = 1000;

struct watch_frame {
  std::uint64_t position = 0;
  std::string stream;
  std::string type;
  std::shared_ptr<const std::string> text;
};

/// The frame of one event: {"type":"event","position",...,"data":{...}}.
[[nodiscard]] watch_frame make_frame(const events::recorded_event& e);

/// The frames of positions after..last as one JSON array, shared by every batching watcher
/// whose cursor is at `after`: one message rendered once, written many times.
struct shared_batch {
  std::uint64_t after = 0;
  std::uint64_t last = 0;
  std::shared_ptr<const std::string> text;
};

class watch_hub {
 public:
  explicit watch_hub(std::size_t capacity = 65'536);

  /// Adds an event's frame (from the projection thread, in position order) and wakes watchers.
  void publish(const events::recorded_event& e);
  /// Sends a frame that is not an event (operation changes) to every watcher.
  void broadcast(const std::shared_ptr<const std::string>& text);

  /// Frames with position > after, at most `max`, appended to `out`. False when `after` is
  /// older than the ring keeps (the caller reads the log instead).
  [[nodiscard]] bool read(std::uint64_t after, std::size_t max,
                          std::vector<watch_frame>& out) const;
  /// Calls f(frame) for the frames with position > after, at most `max`, under the ring's
  /// read lock (f must be quick and must not call back into the hub): a watcher takes what
  /// it wants without copying the frames. False as read() is.
  bool visit(std::uint64_t after, std::size_t max,
             const std::function<void(const watch_frame&)>& f) const;
  /// The newest position published.
  [[nodiscard]] std::uint64_t head() const { return head_.load(); }

  struct listener {
    /// New frames exist; must be cheap (post to a strand). Empty for a batching watcher: it
    /// is woken by the ticks instead.
    std::function<void()> wake;
    std::function<void(std::shared_ptr<const std::string>)> side; ///< A broadcast frame.
    std::function<void()> tick; ///< A batching watcher: a tick made a new shared batch.
  };
  [[nodiscard]] std::uint64_t add(listener l);
  void remove(std::uint64_t id);
  [[nodiscard]] std::size_t clients() const;

  /// Every `window`, on a thread of its own: the frames published since the last tick become
  /// one shared batch (at most `max_frames`; more, and batching watchers read the ring), and
  /// batching watchers are woken once. A batching watcher thus costs one wake and one write
  /// per window, however many events the window held.
  void start_ticks(std::chrono::milliseconds window, std::size_t max_frames);
  void stop_ticks();
  /// The head as of the last tick (the head at start_ticks before the first).
  [[nodiscard]] std::uint64_t ticked() const { return last_tick_head_.load(); }
  /// The newest shared batch (empty before the first tick with frames).
  [[nodiscard]] std::shared_ptr<const shared_batch> batch() const;
  /// One tick now (the ticker's body; tests call it directly).
  void tick(std::size_t max_frames);

  ~watch_hub();
  watch_hub(const watch_hub&) = delete;
  watch_hub& operator=(const watch_hub&) = delete;

 private:
  std::vector<watch_frame> ring_;
  mutable std::shared_mutex ring_mutex_;
  std::atomic<std::uint64_t> head_{0};
  std::uint64_t oldest_ = 1; ///< Oldest position in the ring (when head_ >= oldest_).
  mutable std::mutex listeners_mutex_;
  std::map<std::uint64_t, listener> listeners_; ///< Woken by every event.
  std::map<std::uint64_t, listener> tickers_;   ///< Woken by the ticks.
  std::uint64_t next_id_ = 1;

  mutable std::mutex batch_mutex_;
  std::shared_ptr<const shared_batch> batch_;
  std::atomic<std::uint64_t> last_tick_head_{0}; ///< Written by the ticker only.
  std::mutex ticker_mutex_;
  std::condition_variable ticker_cv_;
  bool ticking_ = false;
  std::thread ticker_;
};

} // namespace qx::api
