#pragma once

#include "qx/base/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

/// Passwords hashed with argon2id (libsodium's crypto_pwhash), in the PHC string format
/// ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash") that carries its own parameters and salt.
namespace qx::security {

/// argon2id costs. The defaults are OWASP's minimum (m = 19 MiB, t = 2); lower ones are
/// refused, so a configuration mistake cannot weaken stored hashes.
struct argon2_cost {
  std::uint64_t iterations = 2;
  std::size_t memory_bytes = std::size_t{19} << 20U;
};

inline constexpr std::size_t min_password_bytes = 8;
inline constexpr std::size_t max_password_bytes = 1024;

/// The PHC string of `password` with a fresh random salt. invalid_argument (field "password")
/// for a password shorter than 8 or longer than 1024 bytes, (field "cost") for costs below
/// the minimum; resource_exhausted when the memory cannot be had.
[[nodiscard]] result<std::string> hash_password(std::string_view password,
                                                const argon2_cost& cost = {});

/// Whether `password` matches `phc` (in constant time for a given hash). False for a `phc`
/// that is not an argon2id string and for an oversized password, without hashing.
[[nodiscard]] bool verify_password(std::string_view phc, std::string_view password);

/// Whether `phc` was made with costs other than `cost` (hash again at the next login).
[[nodiscard]] bool needs_rehash(std::string_view phc, const argon2_cost& cost = {});

} // namespace qx::security
