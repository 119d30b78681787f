#pragma once

#include "qx/base/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace qx::security {

/// Single-use registration tokens: the control plane issues one to an operator, who hands it
/// to a node joining the datacenter; the node presents it once.
///
/// Only the SHA-256 hash of a token is kept, so a memory dump or a log of this object yields
/// nothing that can register a node. A presented token is hashed and compared with every kept
/// hash in constant time (no early exit on the first match). A token is valid from `issue()`
/// until `expires_at` (exclusive) and until it is consumed.
///
/// Refusals are errc::unauthenticated with details["reason"]:
/// - "TOKEN_MISSING": empty or only whitespace;
/// - "TOKEN_INVALID": unknown, already used, dropped for a newer one, longer than
///   `max_token_bytes`, or not printable ASCII;
/// - "TOKEN_EXPIRED": issued here but past its expiry. Hashes of expired tokens are kept for
///   `expired_memory` after expiry (at most `max_expired` of them) so that this answer can be
///   told apart from TOKEN_INVALID; after that they are forgotten and answer TOKEN_INVALID.
///
/// Thread-safe: every member takes one mutex.
class one_time_tokens {
 public:
  using clock_fn = std::function<std::chrono::system_clock::time_point()>;

  /// Longest token accepted for checking (longer ones are refused before hashing).
  static constexpr std::size_t max_token_bytes = 512;
  /// How long the hash of an expired token is kept to answer TOKEN_EXPIRED.
  static constexpr std::chrono::hours expired_memory{24};

  /// A token as issued: the secret (shown once, never stored here) and its expiry.
  struct issued_token {
    std::string token;
    std::chrono::system_clock::time_point expires_at;
  };

  /// `ttl`: how long an issued token stays valid (default 1 hour; 0 or less issues tokens that
  /// are expired at once). `clock`: the time source (default system_clock::now; tests inject
  /// their own). `max_active`: most live tokens (default 64; 0 counts as 1); issuing one more
  /// drops the oldest live one, which then answers TOKEN_INVALID.
  explicit one_time_tokens(std::chrono::seconds ttl = std::chrono::hours{1},
                           clock_fn clock = std::chrono::system_clock::now,
                           std::size_t max_active = 64);

  /// A new random token (32 bytes, base64url), valid until now + ttl.
  [[nodiscard]] issued_token issue();

  /// The expiry of `presented` when it is valid now; it stays valid (see consume()).
  [[nodiscard]] result<std::chrono::system_clock::time_point>
  check(std::string_view presented) const;

  /// Uses `presented` up: valid → forgotten, so a second use answers TOKEN_INVALID.
  [[nodiscard]] status consume(std::string_view presented);

  /// How many issued tokens are neither expired, consumed nor dropped.
  [[nodiscard]] std::size_t active() const;

  /// Most expired hashes kept to answer TOKEN_EXPIRED (the oldest go first beyond it).
  [[nodiscard]] std::size_t max_expired() const noexcept { return max_active_ * 4; }

 private:
  struct entry {
    std::string hash; // sha256_hex of the token
    std::chrono::system_clock::time_point expires_at;
  };

  // Where `presented` is in entries_ (or the refusal), under the lock.
  [[nodiscard]] result<std::size_t> find_locked(std::string_view presented,
                                                std::chrono::system_clock::time_point now) const;
  // Forgets expired hashes past their memory, and the oldest beyond max_expired().
  void prune_locked(std::chrono::system_clock::time_point now);

  std::chrono::seconds ttl_;
  clock_fn clock_;
  std::size_t max_active_;
  mutable std::mutex mutex_;
  std::vector<entry> entries_; // in issue order, oldest first
};

} // namespace qx::security
