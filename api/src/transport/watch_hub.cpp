#include "watch_hub.hpp"

#include "event_json.hpp"

#include <algorithm>

namespace qx::api {

watch_frame make_frame(const events::recorded_event& e) {
  auto j = event_to_json(e);
  // The event's own "type" is its protobuf type; the frame's "type" says what the frame is.
  j["eventType"] = std::move(j["type"]);
  j["type"] = "event";
  return watch_frame{
      e.position, e.stream, e.type,
      std::make_shared<const std::string>(j.dump(-1, ' ', false, json::error_handler_t::replace))};
}

watch_hub::watch_hub(std::size_t capacity) : ring_(capacity == 0 ? 1 : capacity) {}

void watch_hub::publish(const events::recorded_event& e) {
  auto frame = make_frame(e);
  {
    std::unique_lock lock{ring_mutex_};
    const auto n = ring_.size();
    if (head_.load() == 0)
      oldest_ = e.position;
    ring_[e.position % n] = std::move(frame);
    if (e.position >= oldest_ + n)
      oldest_ = e.position - n + 1;
    head_.store(e.position);
  }
  std::lock_guard lock{listeners_mutex_};
  for (auto& [id, l] : listeners_)
    l.wake();
}

void watch_hub::broadcast(const std::shared_ptr<const std::string>& text) {
  std::lock_guard lock{listeners_mutex_};
  for (auto& [id, l] : listeners_)
    l.side(text);
  for (auto& [id, l] : tickers_)
    l.side(text);
}

bool watch_hub::read(std::uint64_t after, std::size_t max, std::vector<watch_frame>& out) const {
  return visit(after, max, [&out](const watch_frame& f) { out.push_back(f); });
}

bool watch_hub::visit(std::uint64_t after, std::size_t max,
                      const std::function<void(const watch_frame&)>& f) const {
  std::shared_lock lock{ring_mutex_};
  const auto head = head_.load();
  if (after >= head)
    return true;
  if (after + 1 < oldest_)
    return false;
  for (auto p = after + 1; p <= head && max > 0; ++p, --max)
    f(ring_[p % ring_.size()]);
  return true;
}

std::uint64_t watch_hub::add(listener l) {
  std::lock_guard lock{listeners_mutex_};
  const auto id = next_id_++;
  // Batching watchers apart: publish() walks only the others, for every event.
  (l.wake ? listeners_ : tickers_).emplace(id, std::move(l));
  return id;
}

void watch_hub::remove(std::uint64_t id) {
  std::lock_guard lock{listeners_mutex_};
  listeners_.erase(id);
  tickers_.erase(id);
}

watch_hub::~watch_hub() {
  stop_ticks();
}

void watch_hub::start_ticks(std::chrono::milliseconds window, std::size_t max_frames) {
  std::lock_guard lock{ticker_mutex_};
  if (ticking_)
    return;
  ticking_ = true;
  last_tick_head_ = head_.load();
  ticker_ = std::thread{[this, window, max_frames] {
    std::unique_lock wait_lock{ticker_mutex_};
    auto next = std::chrono::steady_clock::now() + window;
    while (!ticker_cv_.wait_until(wait_lock, next, [this] { return !ticking_; })) {
      wait_lock.unlock();
      tick(max_frames);
      wait_lock.lock();
      next += window;
      next = std::max(next, std::chrono::steady_clock::now()); // never catch up in bursts
    }
  }};
}

void watch_hub::stop_ticks() {
  {
    std::lock_guard lock{ticker_mutex_};
    ticking_ = false;
  }
  ticker_cv_.notify_all();
  if (ticker_.joinable())
    ticker_.join();
}

void watch_hub::tick(std::size_t max_frames) {
  const auto head = head_.load();
  if (head == last_tick_head_)
    return;
  auto b = std::make_shared<shared_batch>();
  b->after = last_tick_head_;
  b->last = head;
  last_tick_head_ = head;
  if (head - b->after <= max_frames) {
    auto text = std::make_shared<std::string>();
    text->reserve((head - b->after) * 512);
    *text += '[';
    const bool whole = visit(b->after, head - b->after, [&](const watch_frame& f) {
      if (text->size() > 1)
        *text += ',';
      *text += *f.text;
    });
    *text += ']';
    if (whole)
      b->text = std::move(text);
  }
  {
    std::lock_guard lock{batch_mutex_};
    batch_ = std::move(b);
  }
  std::lock_guard lock{listeners_mutex_};
  for (auto& [id, l] : tickers_)
    l.tick();
}

std::shared_ptr<const shared_batch> watch_hub::batch() const {
  std::lock_guard lock{batch_mutex_};
  return batch_;
}

std::size_t watch_hub::clients() const {
  std::lock_guard lock{listeners_mutex_};
  return listeners_.size() + tickers_.size();
}

} // namespace qx::api
