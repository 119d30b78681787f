#pragma once

// The watch fan-out. Every event is rendered to its JSON frame once, into a ring of the
// newest `capacity` frames shared by all watchers. Each watcher keeps only its own cursor (the
// last position it sent) and reads forward from the ring, or from the log when it is further
// behind than the ring reaches; so a watcher that reconnects with its last position sees no
// gap and no duplicate, and a slow one never holds the others back.

#include <qx/events/types.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace qx::api {

struct watch_frame {
  std::uint64_t position = 0;
  std::string stream;
  std::string type;
  std::shared_ptr<const std::string> text;
};

/// The frame of one event: {"type":"event","position",...,"data":{...}}.
[[nodiscard]] watch_frame make_frame(const events::recorded_event& e);

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
    std::function<void()> wake; ///< New frames exist; must be cheap (post to a strand).
    std::function<void(std::shared_ptr<const std::string>)> side; ///< A broadcast frame.
  };
  [[nodiscard]] std::uint64_t add(listener l);
  void remove(std::uint64_t id);
  [[nodiscard]] std::size_t clients() const;

 private:
  std::vector<watch_frame> ring_;
  mutable std::shared_mutex ring_mutex_;
  std::atomic<std::uint64_t> head_{0};
  std::uint64_t oldest_ = 1; ///< Oldest position in the ring (when head_ >= oldest_).
  mutable std::mutex listeners_mutex_;
  std::map<std::uint64_t, listener> listeners_;
  std::uint64_t next_id_ = 1;
};

} // namespace qx::api
