#include "qx/base/clock.hpp"

#include <chrono>

namespace qx {

namespace {

class wall_clock final : public clock {
 public:
  std::int64_t now_unix_ns() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

} // namespace

clock& system_clock() {
  static wall_clock instance;
  return instance;
}

} // namespace qx
