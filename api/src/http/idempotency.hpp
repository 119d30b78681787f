#pragma once

// Idempotency-Key: the first answer to a POST is kept and replayed for a retry with the same
// key (same principal), like Stripe's API. The cache is in memory (24 h, 100,000 keys); the
// key also travels to the aggregate as the command id, which the log remembers for good, so a
// retry after a restart is still applied once.

#include <qx/api/http.hpp>

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace qx::api {

class idempotency_cache {
 public:
  explicit idempotency_cache(std::size_t capacity = 100'000,
                             std::chrono::hours ttl = std::chrono::hours{24});

  struct hit {
    bool same_request = true; ///< False: the key was used for another request.
    http_response response;
  };
  /// The stored answer for `key`, if any; `fingerprint` identifies the request.
  [[nodiscard]] std::optional<hit> find(const std::string& key, const std::string& fingerprint);
  void store(const std::string& key, const std::string& fingerprint, const http_response& r);

 private:
  struct entry {
    std::string fingerprint;
    http_response response;
    std::chrono::steady_clock::time_point at;
    std::list<std::string>::iterator order;
  };
  std::size_t capacity_;
  std::chrono::hours ttl_;
  std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::list<std::string> order_; ///< Oldest first.
};

/// A stable 64-bit FNV-1a hash as 16 hex digits (ids derived from keys, fingerprints).
[[nodiscard]] std::string stable_hash(std::string_view text);

} // namespace qx::api
