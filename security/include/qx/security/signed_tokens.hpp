#pragma once

#include "qx/base/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

/// Bearer tokens of the API: JSON Web Tokens signed with HMAC-SHA-256, with the algorithm
/// pinned. The header must be exactly {"alg":"HS256","typ":"JWT","kid":<known key>}: "none",
/// any other algorithm, and extra header fields (jku, jwk, x5u, crit ...) are refused before
/// the signature is looked at, so no token can choose how it is checked.
namespace qx::security {

struct token_claims {
  std::string subject;        ///< "sub": the user id
  std::string kind;           ///< "knd": "session" or "api"
  std::string id;             ///< "jti": unique, what revocation names
  std::int64_t issued_at = 0; ///< "iat", seconds since the epoch
  std::int64_t not_before = 0;
  std::int64_t expires_at = 0;
};

/// One HMAC key and the id ("kid") tokens name it by.
struct signing_key {
  std::string id;     ///< 1..64 characters of [A-Za-z0-9_-]
  std::string secret; ///< at least 32 bytes
};

inline constexpr std::size_t max_token_bytes = 4096;
/// Clock difference tolerated on nbf and exp, in seconds.
inline constexpr std::int64_t token_leeway_s = 30;

class token_signer {
 public:
  /// Signs with the first key; verifies with any (older keys after a rotation).
  /// invalid_argument when `keys` is empty or a key is malformed.
  [[nodiscard]] static result<token_signer> make(std::vector<signing_key> keys);

  /// The compact token of `claims`, signed with the first key.
  [[nodiscard]] std::string issue(const token_claims& claims) const;

  /// The claims of `token` when it is well-formed, signed by a known key, and valid at `now`
  /// (seconds since the epoch). Otherwise unauthenticated with details["reason"] one of
  /// TOKEN_MALFORMED, TOKEN_ALGORITHM_REFUSED, TOKEN_UNKNOWN_KEY, TOKEN_SIGNATURE_INVALID,
  /// TOKEN_NOT_YET_VALID, TOKEN_EXPIRED. Revocation is the caller's check (on claims.id).
  [[nodiscard]] result<token_claims> verify(std::string_view token, std::int64_t now) const;

 private:
  explicit token_signer(std::vector<signing_key> keys) : keys_(std::move(keys)) {}
  std::vector<signing_key> keys_;
};

/// Whether claims that verified are valid at `now` (nbf and exp, with the leeway): verify's
/// last check, also made on claims it verified before. Refusals as verify's.
[[nodiscard]] status check_validity(const token_claims& claims, std::int64_t now);

/// HMAC-SHA-256 of `data` under `key`, raw 32 bytes.
[[nodiscard]] std::string hmac_sha256(std::string_view key, std::string_view data);

} // namespace qx::security
