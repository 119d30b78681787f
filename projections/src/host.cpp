#include "qx/projections/host.hpp"

namespace qx::projections {

host::host(events::event_store& store) : store_(store) {}

host::~host() {
  stop();
}

void host::add_observer(observer o) {
  observers_.push_back(std::move(o));
}

void host::on_caught_up(std::function<void()> k) {
  on_caught_up_ = std::move(k);
}

void host::mark_caught_up() {
  catch_up_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::steady_clock::now() - started_)
                     .count();
  caught_up_ = true;
  if (on_caught_up_)
    on_caught_up_();
}

void host::start() {
  started_ = std::chrono::steady_clock::now();
  start_head_ = store_.head().position;
  if (start_head_ == 0)
    mark_caught_up();
  subscription_ =
      store_.subscribe(0, [this](const events::recorded_event& e) { return on_event(e); });
}

void host::stop() {
  if (subscription_)
    subscription_->stop();
}

std::optional<error> host::failure() const {
  return subscription_ ? subscription_->failure() : std::nullopt;
}

std::chrono::nanoseconds host::catch_up_time() const {
  return std::chrono::nanoseconds{catch_up_ns_.load()};
}

bool host::on_event(const events::recorded_event& e) {
  inventory_.apply(e);
  alerts_.apply(e);
  index_.apply(e);
  for (const auto& o : observers_)
    o(e);
  position_.store(e.position);
  if (!caught_up_ && e.position >= start_head_)
    mark_caught_up();
  std::vector<std::function<void()>> due;
  {
    std::lock_guard lock{waiters_mutex_};
    const auto end = waiters_.upper_bound(e.position);
    for (auto it = waiters_.begin(); it != end; ++it)
      due.push_back(std::move(it->second));
    waiters_.erase(waiters_.begin(), end);
  }
  for (auto& k : due)
    k();
  return true;
}

void host::when_applied(std::uint64_t position, std::function<void()> k) {
  {
    std::lock_guard lock{waiters_mutex_};
    // Checked under the lock: on_event stores the position before taking it, so a waiter
    // added after that store runs here and one added before is found by on_event.
    if (position_.load() < position) {
      waiters_.emplace(position, std::move(k));
      return;
    }
  }
  k();
}

} // namespace qx::projections
