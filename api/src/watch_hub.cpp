#include "watch_hub.hpp"

#include "event_json.hpp"

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
  listeners_.emplace(id, std::move(l));
  return id;
}

void watch_hub::remove(std::uint64_t id) {
  std::lock_guard lock{listeners_mutex_};
  listeners_.erase(id);
}

std::size_t watch_hub::clients() const {
  std::lock_guard lock{listeners_mutex_};
  return listeners_.size();
}

} // namespace qx::api
