#pragma once

#include <functional>
#include <utility>

namespace qx::node {

/// A registration that ends when this handle is destroyed or reset. Move-only.
///
/// Ending it waits for a callback that is running on another thread, so once reset() returns
/// the callback is not running and will not run again. It may be ended from inside its own
/// callback.
class [[nodiscard]] subscription {
 public:
  subscription() = default;
  /// `cancel` ends the registration; it is called once, at most.
  explicit subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  ~subscription() { reset(); }

  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;
  subscription(subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}
  subscription& operator=(subscription&& other) noexcept {
    if (this != &other) {
      reset();
      cancel_ = std::exchange(other.cancel_, nullptr);
    }
    return *this;
  }

  /// Ends the registration now (no-op when already ended).
  void reset() noexcept {
    if (auto cancel = std::exchange(cancel_, nullptr))
      cancel();
  }

  /// Whether the registration is still in force.
  [[nodiscard]] bool active() const noexcept { return static_cast<bool>(cancel_); }

 private:
  std::function<void()> cancel_;
};

} // namespace qx::node
