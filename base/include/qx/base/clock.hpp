#pragma once

#include <cstdint>

namespace qx {

/// Source of commit time for the event store. The simulator swaps in a virtual clock.
class clock {
 public:
  virtual ~clock() = default;
  /// Nanoseconds since the Unix epoch.
  [[nodiscard]] virtual std::int64_t now_unix_ns() = 0;
};

/// The wall clock (std::chrono::system_clock).
[[nodiscard]] clock& system_clock();

/// A clock that only moves when told to: deterministic tests and the simulator.
class manual_clock final : public clock {
 public:
  explicit manual_clock(std::int64_t start_unix_ns = 0) : now_(start_unix_ns) {}
  std::int64_t now_unix_ns() override { return now_; }
  void advance(std::int64_t ns) { now_ += ns; }
  void set(std::int64_t ns) { now_ = ns; }

 private:
  std::int64_t now_;
};

} // namespace qx
