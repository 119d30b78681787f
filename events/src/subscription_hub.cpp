#include "subscription_hub.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace qx::events::detail {

namespace {

/// How many events one pull reads from the store.
constexpr std::size_t pull_batch = 512;

} // namespace

struct subscription_hub::shared {
  explicit shared(event_store& s, std::uint64_t durable_pos) : store(s), durable(durable_pos) {}
  event_store& store;
  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t durable;
  bool closed = false;
  std::size_t running = 0;
};

namespace {

struct subscription_state {
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> delivered{0};
  bool finished = false; // guarded by the hub's mutex
  std::thread::id thread_id;
  std::optional<error> failure; // guarded by the hub's mutex
};

void run(const std::shared_ptr<subscription_hub::shared>& hub,
         const std::shared_ptr<subscription_state>& sub, const event_handler& handler,
         const failure_handler& on_failure) {
  {
    // subscribe() records this thread's id under the lock; wait for it before any handler runs.
    std::lock_guard lock{hub->mutex};
  }
  auto next = sub->delivered.load() + 1;
  std::optional<error> failure;
  std::size_t batch_size = pull_batch;
  while (!sub->stopping.load()) {
    // visit_all: no vector of copies per batch; the handler sees the store's own event.
    auto seen = hub->store.visit_all(next, batch_size, [&](const recorded_event& ev) {
      if (sub->stopping.load())
        return false;
      if (!handler(ev)) {
        sub->stopping = true;
        return false;
      }
      sub->delivered = ev.position;
      next = ev.position + 1;
      return true;
    });
    if (!seen && batch_size > 1) {
      // Some record of the batch cannot be read: go on one at a time from the first record not
      // delivered, so that the failure names the broken one.
      batch_size = 1;
      continue;
    }
    if (!seen) {
      failure = std::move(seen).error();
      break;
    }
    if (*seen == 0) {
      std::unique_lock lock{hub->mutex};
      hub->changed.wait(
          lock, [&] { return sub->stopping.load() || hub->closed || hub->durable >= next; });
      if (hub->closed && !sub->stopping.load()) {
        failure = error{errc::unavailable, "the event store was closed"};
        break;
      }
    }
  }
  if (failure && on_failure && !sub->stopping.load())
    on_failure(*failure);
  std::lock_guard lock{hub->mutex};
  sub->failure = std::move(failure);
  sub->finished = true;
  --hub->running;
  hub->changed.notify_all();
}

class subscription_handle final : public subscription {
 public:
  subscription_handle(std::shared_ptr<subscription_hub::shared> hub,
                      std::shared_ptr<subscription_state> sub)
      : hub_(std::move(hub)), sub_(std::move(sub)) {}
  ~subscription_handle() override { stop(); }
  subscription_handle(const subscription_handle&) = delete;
  subscription_handle& operator=(const subscription_handle&) = delete;

  void stop() override {
    sub_->stopping = true;
    std::unique_lock lock{hub_->mutex};
    hub_->changed.notify_all();
    // From inside the handler the thread cannot wait for itself; it ends after the handler.
    if (std::this_thread::get_id() != sub_->thread_id)
      hub_->changed.wait(lock, [&] { return sub_->finished; });
  }

  std::uint64_t delivered() const override { return sub_->delivered.load(); }

  std::optional<error> failure() const override {
    std::lock_guard lock{hub_->mutex};
    return sub_->failure;
  }

 private:
  std::shared_ptr<subscription_hub::shared> hub_;
  std::shared_ptr<subscription_state> sub_;
};

} // namespace

subscription_hub::subscription_hub(event_store& store, std::uint64_t durable_position)
    : shared_(std::make_shared<shared>(store, durable_position)) {}

subscription_hub::~subscription_hub() {
  close();
}

void subscription_hub::publish(std::uint64_t position) {
  std::lock_guard lock{shared_->mutex};
  if (position > shared_->durable) {
    shared_->durable = position;
    shared_->changed.notify_all();
  }
}

std::unique_ptr<subscription> subscription_hub::subscribe(std::uint64_t after_position,
                                                          event_handler handler,
                                                          failure_handler on_failure) {
  auto sub = std::make_shared<subscription_state>();
  sub->delivered = after_position;
  std::unique_lock lock{shared_->mutex};
  if (shared_->closed) {
    sub->finished = true;
    sub->failure = error{errc::unavailable, "the event store is closed"};
    return std::make_unique<subscription_handle>(shared_, sub);
  }
  ++shared_->running;
  std::thread worker{[hub = shared_, sub, h = std::move(handler), f = std::move(on_failure)] {
    run(hub, sub, h, f);
  }};
  sub->thread_id = worker.get_id();
  worker.detach();
  return std::make_unique<subscription_handle>(shared_, sub);
}

void subscription_hub::close() {
  std::unique_lock lock{shared_->mutex};
  shared_->closed = true;
  shared_->changed.notify_all();
  shared_->changed.wait(lock, [&] { return shared_->running == 0; });
}

} // namespace qx::events::detail
