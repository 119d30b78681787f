#pragma once

#include "qx/security/signed_tokens.hpp"

#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace qx::security {

/// The claims of tokens already verified, kept until they expire: token_signer::verify parses
/// two JSON documents and computes an HMAC per call, and a client sends the same token with
/// every request. A token seen before costs one hash lookup under a shared lock; its times are
/// checked again at every call (check_validity), so a cached token still expires on time.
/// Only tokens that verified are kept (the key is the whole token: no other text matches
/// it). Revocation stays the caller's check, as with verify. Thread-safe.
class verified_tokens {
 public:
  /// At most `capacity` tokens: when full, the expired ones go, then (all live) every one.
  explicit verified_tokens(const token_signer& signer, std::size_t capacity = 16'384)
      : signer_(signer), capacity_(capacity) {}
  verified_tokens(const verified_tokens&) = delete;
  verified_tokens& operator=(const verified_tokens&) = delete;

  /// token_signer::verify(token, now), answered from the cache when the token verified before.
  [[nodiscard]] result<token_claims> verify(std::string_view token, std::int64_t now);

  [[nodiscard]] std::size_t size() const;

 private:
  const token_signer& signer_;
  const std::size_t capacity_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, token_claims> claims_;
};

} // namespace qx::security
