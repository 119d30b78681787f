#pragma once

// Login throttling and per-principal request rates: in memory, per control plane.

#include <qx/api/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace qx::api {

/// After a run of failed logins for a user (5) or from an address (20), further attempts are
/// refused for 1 s, then 2, 4 ... up to 5 minutes, until a login succeeds.
class login_throttle {
 public:
  using clock = std::chrono::steady_clock;

  /// How long logins for `user` from `remote` stay refused (0 when allowed).
  std::chrono::seconds blocked(const std::string& user, const std::string& remote) {
    const std::lock_guard lock{mutex_};
    const auto now = clock::now();
    return std::max(wait_of("u:" + user, now), wait_of("r:" + host_of(remote), now));
  }

  void failed(const std::string& user, const std::string& remote) {
    const std::lock_guard lock{mutex_};
    const auto now = clock::now();
    bump("u:" + user, user_free, now);
    bump("r:" + host_of(remote), remote_free, now);
  }

  void succeeded(const std::string& user, const std::string& remote) {
    const std::lock_guard lock{mutex_};
    entries_.erase("u:" + user);
    entries_.erase("r:" + host_of(remote));
  }

 private:
  static constexpr unsigned user_free = 5;
  static constexpr unsigned remote_free = 20;
  static constexpr std::size_t max_entries = 100'000;

  struct entry {
    unsigned failures = 0;
    clock::time_point until{};
  };

  std::chrono::seconds wait_of(const std::string& key, clock::time_point now) const {
    const auto it = entries_.find(key);
    if (it == entries_.end() || it->second.until <= now)
      return std::chrono::seconds{0};
    return std::chrono::ceil<std::chrono::seconds>(it->second.until - now);
  }

  void bump(const std::string& key, unsigned free, clock::time_point now) {
    if (entries_.size() >= max_entries && entries_.count(key) == 0)
      entries_.clear(); // a flood of distinct names: forget rather than grow without bound
    auto& e = entries_[key];
    ++e.failures;
    if (e.failures >= free) {
      const auto exponent = std::min(e.failures - free, 8U);
      e.until = now + std::min(std::chrono::seconds{1U << exponent}, std::chrono::seconds{300});
    }
  }

  std::mutex mutex_;
  std::map<std::string, entry> entries_;
};

/// A token bucket per principal: `rate` requests a second, bursts of `burst`.
class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;
  rate_limiter(double rate, double burst) : rate_(rate), burst_(burst) {}

  /// Takes one request from `principal`'s bucket; false when it is empty (answer 429).
  bool allow(const std::string& principal) {
    if (rate_ <= 0)
      return true;
    const std::lock_guard lock{mutex_};
    const auto now = clock::now();
    if (buckets_.size() >= 100'000 && buckets_.count(principal) == 0)
      buckets_.clear();
    auto [it, fresh] = buckets_.try_emplace(principal, bucket{burst_, now});
    auto& b = it->second;
    if (!fresh) {
      const std::chrono::duration<double> dt = now - b.at;
      b.tokens = std::min(burst_, b.tokens + dt.count() * rate_);
      b.at = now;
    }
    if (b.tokens < 1.0)
      return false;
    b.tokens -= 1.0;
    return true;
  }

  void set(double rate, double burst) {
    const std::lock_guard lock{mutex_};
    rate_ = rate;
    burst_ = burst;
  }

 private:
  struct bucket {
    double tokens;
    clock::time_point at;
  };
  double rate_;
  double burst_;
  std::mutex mutex_;
  std::map<std::string, bucket> buckets_;
};

} // namespace qx::api
