#include "qx/projections/host.hpp"

#include <qx/base/log.hpp>

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
  subscription_ = store_.subscribe(
      0, [this](const events::recorded_event& e) { return on_event(e); },
      [this](const error& e) { on_failure(e); });
}

void host::stop() {
  if (subscription_)
    subscription_->stop();
  // What still waits belongs to requests that will not be answered now; dropping them here,
  // while their owners' I/O still exists, keeps their destruction out of ours.
  std::multimap<std::uint64_t, std::function<void()>> dropped;
  {
    std::lock_guard lock{waiters_mutex_};
    dropped.swap(waiters_);
  }
}

void host::on_failure(const error& e) {
  // A broken invariant of the log itself (a record that does not read back): the models
  // stop where they are, loudly, and the control plane stays up to tell why (/ready,
  // qvdc_projection_failed, this line) rather than answering from models that skip history.
  log::error("read-models", "read models stopped: the log cannot be read",
             {{"position", position_.load() + 1}, {"error", e.to_string()}});
  events::recorded_event at;
  at.position = position_.load() + 1;
  at.stream = "log";
  alerts_.raise_operational(at, "log_unreadable", "critical",
                            "the read models stopped: the log cannot be read at position " +
                                std::to_string(at.position) + ": " + e.to_string());
  failed_ = true;
  release_waiters();
}

void host::release_waiters() {
  std::multimap<std::uint64_t, std::function<void()>> due;
  {
    std::lock_guard lock{waiters_mutex_};
    due.swap(waiters_);
  }
  for (auto& [position, k] : due)
    k();
}

std::optional<error> host::failure() const {
  return subscription_ ? subscription_->failure() : std::nullopt;
}

std::chrono::nanoseconds host::catch_up_time() const {
  return std::chrono::nanoseconds{catch_up_ns_.load()};
}

bool host::on_event(const events::recorded_event& e) {
  inventory_.apply(e);
  if (const auto skipped = inventory_.skipped(); skipped != skipped_seen_) {
    // An event its aggregate cannot apply (a newer writer's type, a payload that does not
    // decode) is skipped and reported, never a reason to stop serving.
    skipped_seen_ = skipped;
    const auto last = inventory_.last_skipped();
    log::warn("read-models", "read model skipped an event it cannot apply",
              {{"position", last.position},
               {"stream", last.stream},
               {"reason", last.reason},
               {"skipped", skipped}});
    alerts_.raise_operational(e, "event_skipped", "warning",
                              "the read models skipped event " + std::to_string(last.position) +
                                  " of " + last.stream + ": " + last.reason);
  }
  alerts_.apply(e);
  index_.apply(e);
  for (const auto& o : observers_)
    o(e);
  // Caught up before the position is published: whoever sees the position reach the head
  // seen at start also sees caught_up() (the rebuild test raced on the other order).
  if (!caught_up_ && e.position >= start_head_)
    mark_caught_up();
  position_.store(e.position);
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
    if (position_.load() < position && !failed_.load()) {
      waiters_.emplace(position, std::move(k));
      return;
    }
  }
  k();
}

} // namespace qx::projections
