#include "qx/security/password_hash.hpp"

#include <sodium.h>

#include <array>
#include <cstdlib>
#include <mutex>

namespace qx::security {

namespace {

void init_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0)
      std::abort(); // no CSPRNG: never hash with a predictable salt
  });
}

bool is_argon2id(std::string_view phc) {
  return phc.size() < crypto_pwhash_STRBYTES && phc.rfind("$argon2id$", 0) == 0;
}

// libsodium wants the PHC string NUL-terminated in a buffer of crypto_pwhash_STRBYTES.
std::array<char, crypto_pwhash_STRBYTES> terminated(std::string_view phc) {
  std::array<char, crypto_pwhash_STRBYTES> buf{};
  phc.copy(buf.data(), phc.size());
  return buf;
}

} // namespace

result<std::string> hash_password(std::string_view password, const argon2_cost& cost) {
  if (password.size() < min_password_bytes || password.size() > max_password_bytes)
    return error{errc::invalid_argument,
                 "a password has 8 to 1024 bytes",
                 {{"field", "password"},
                  {"min", std::to_string(min_password_bytes)},
                  {"max", std::to_string(max_password_bytes)}}};
  const argon2_cost floor;
  if (cost.iterations < floor.iterations || cost.memory_bytes < floor.memory_bytes)
    return error{errc::invalid_argument,
                 "argon2id costs below m=19 MiB, t=2 are refused",
                 {{"field", "cost"}}};
  init_sodium();
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), cost.iterations,
                            cost.memory_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return error{errc::resource_exhausted,
                 "argon2id could not get its memory",
                 {{"memoryBytes", std::to_string(cost.memory_bytes)}}};
  return std::string{out.data()};
}

bool verify_password(std::string_view phc, std::string_view password) {
  if (!is_argon2id(phc) || password.size() > max_password_bytes)
    return false;
  init_sodium();
  const auto buf = terminated(phc);
  return crypto_pwhash_str_verify(buf.data(), password.data(), password.size()) == 0;
}

bool needs_rehash(std::string_view phc, const argon2_cost& cost) {
  if (!is_argon2id(phc))
    return true;
  init_sodium();
  const auto buf = terminated(phc);
  return crypto_pwhash_str_needs_rehash(buf.data(), cost.iterations, cost.memory_bytes) != 0;
}

} // namespace qx::security
