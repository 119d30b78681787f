#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

/// The building blocks of credentials: random tokens, their hashes, and comparison that does
/// not tell an attacker by its timing how much of a guess was right.
namespace qx::security {

/// `bytes` bytes from OpenSSL's CSPRNG (RAND_bytes), as base64url without padding
/// (32 bytes → 43 characters of [A-Za-z0-9_-]). 0 bytes → "". A CSPRNG that cannot answer is
/// a broken host, not bad input: the process stops (std::abort) rather than hand out a
/// predictable secret.
[[nodiscard]] std::string random_token(std::size_t bytes = 32);

/// `bytes` as base64url without padding (RFC 4648 §5).
[[nodiscard]] std::string base64url_encode(std::string_view bytes);

/// The bytes of canonical unpadded base64url `text`; nullopt for anything else (padding, other
/// characters, a length no encoding has, non-zero leftover bits).
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);

/// SHA-256 of `data`, as 64 lower-case hex digits.
[[nodiscard]] std::string sha256_hex(std::string_view data);

/// Whether `a` and `b` hold the same bytes, in time that depends on their lengths only
/// (CRYPTO_memcmp). Different lengths answer false without an early, content-dependent exit.
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

} // namespace qx::security
