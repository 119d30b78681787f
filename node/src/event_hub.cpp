#include "event_hub.hpp"

#include <utility>
#include <vector>

namespace qx::node::detail {

std::uint64_t event_hub::add(callback fn) {
  const std::lock_guard lock{mutex_};
  const auto key = next_key_++;
  if (!closed_)
    subscribers_.emplace(key, std::make_shared<callback>(std::move(fn)));
  return key;
}

void event_hub::remove(std::uint64_t key) {
  const std::lock_guard lock{mutex_};
  subscribers_.erase(key);
}

void event_hub::close() {
  const std::lock_guard lock{mutex_};
  closed_ = true;
  subscribers_.clear();
}

void event_hub::dispatch(const domain_event& e) {
  // A callback may destroy the hypervisor that owns this hub: keep it alive until we return.
  const auto self = shared_from_this();
  const std::lock_guard lock{mutex_};
  // A copy, since callbacks may add or remove subscribers while we iterate.
  std::vector<std::pair<std::uint64_t, std::shared_ptr<callback>>> current{subscribers_.begin(),
                                                                           subscribers_.end()};
  for (const auto& [key, fn] : current) {
    if (!subscribers_.contains(key))
      continue; // removed by an earlier callback of this round
    try {
      (*fn)(e);
    } catch (...) {
      // Nothing may unwind into libvirt's dispatch loop; the subscriber owns its failures.
    }
  }
}

} // namespace qx::node::detail
