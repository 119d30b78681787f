#include "idempotency.hpp"

#include <cstdio>

namespace qx::api {

idempotency_cache::idempotency_cache(std::size_t capacity, std::chrono::hours ttl)
    : capacity_(capacity), ttl_(ttl) {}

std::optional<idempotency_cache::hit> idempotency_cache::find(const std::string& key,
                                                              const std::string& fingerprint) {
  std::lock_guard lock{mutex_};
  const auto it = entries_.find(key);
  if (it == entries_.end())
    return std::nullopt;
  if (std::chrono::steady_clock::now() - it->second.at > ttl_) {
    order_.erase(it->second.order);
    entries_.erase(it);
    return std::nullopt;
  }
  return hit{it->second.fingerprint == fingerprint, it->second.response};
}

void idempotency_cache::store(const std::string& key, const std::string& fingerprint,
                              const http_response& r) {
  std::lock_guard lock{mutex_};
  if (entries_.contains(key))
    return; // the first answer wins
  order_.push_back(key);
  entries_.emplace(
      key, entry{fingerprint, r, std::chrono::steady_clock::now(), std::prev(order_.end())});
  while (entries_.size() > capacity_) {
    entries_.erase(order_.front());
    order_.pop_front();
  }
}

std::string stable_hash(std::string_view text) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

} // namespace qx::api
