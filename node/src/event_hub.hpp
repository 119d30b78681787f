#pragma once

#include "qx/node/types.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

namespace qx::node::detail {

/// The subscribers of one connection's lifecycle events.
///
/// dispatch() calls each subscriber with the hub's lock held, so remove() returns only once
/// a callback running on another thread has finished. The lock is recursive: a callback may
/// subscribe or unsubscribe (itself included). A callback that throws is not allowed to
/// unwind into libvirt's C code: the exception is dropped there.
class event_hub : public std::enable_shared_from_this<event_hub> {
 public:
  using callback = std::function<void(const domain_event&)>;

  /// Adds a subscriber and returns its key.
  [[nodiscard]] std::uint64_t add(callback fn);
  /// Removes a subscriber (no-op for an unknown key).
  void remove(std::uint64_t key);
  /// Removes every subscriber; later add() calls are ignored.
  void close();
  /// Calls every current subscriber with `e`.
  void dispatch(const domain_event& e);

 private:
  std::recursive_mutex mutex_;
  std::map<std::uint64_t, std::shared_ptr<callback>> subscribers_;
  std::uint64_t next_key_ = 1;
  bool closed_ = false;
};

} // namespace qx::node::detail
