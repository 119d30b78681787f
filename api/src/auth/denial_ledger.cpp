#include "denial_ledger.hpp"

namespace qx::api {

namespace {

// Beyond this many sources at once, every open window is written and forgotten, so the
// ledger's memory stays bounded whatever the number of addresses an attacker has.
constexpr std::size_t max_sources = 10'000;

} // namespace

void denial_ledger::close_passed(clock::time_point now, std::vector<denial_record>& due) {
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (now - it->second.opened < window_) {
      ++it;
      continue;
    }
    if (it->second.pending.count > 0)
      due.push_back(std::move(it->second.pending));
    it = windows_.erase(it);
  }
}

std::vector<denial_record> denial_ledger::note(denial_record r, clock::time_point now) {
  std::vector<denial_record> due;
  const std::lock_guard lock{mutex_};
  // Passed windows of other sources close at most once a second, not at every refusal.
  if (now - last_sweep_ >= std::chrono::seconds{1}) {
    last_sweep_ = now;
    close_passed(now, due);
  }
  if (windows_.size() >= max_sources) {
    for (auto& [key, w] : windows_)
      if (w.pending.count > 0)
        due.push_back(std::move(w.pending));
    windows_.clear();
  }
  const auto key = std::make_tuple(r.source, r.status, r.action);
  auto it = windows_.find(key);
  if (it != windows_.end() && now - it->second.opened >= window_) {
    if (it->second.pending.count > 0)
      due.push_back(std::move(it->second.pending));
    windows_.erase(it);
    it = windows_.end();
  }
  if (it == windows_.end()) {
    windows_.emplace(key, open_window{now, denial_record{}});
    r.count = 1;
    due.push_back(std::move(r));
    return due;
  }
  auto& pending = it->second.pending;
  const auto first = pending.count == 0 ? r.first_ns : pending.first_ns;
  const auto count = pending.count + 1;
  pending = std::move(r);
  pending.first_ns = first;
  pending.count = count;
  return due;
}

std::vector<denial_record> denial_ledger::flush() {
  std::vector<denial_record> due;
  const std::lock_guard lock{mutex_};
  for (auto& [key, w] : windows_)
    if (w.pending.count > 0) {
      due.push_back(std::move(w.pending));
      w.pending = denial_record{};
    }
  return due;
}

} // namespace qx::api
