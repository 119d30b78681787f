#include "qx/security/secrets.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

namespace qx::security {

namespace {

std::string base64url(const std::vector<unsigned char>& in);

constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

} // namespace

std::string base64url_encode(std::string_view bytes) {
  return base64url(std::vector<unsigned char>(bytes.begin(), bytes.end()));
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // Canonical only: no padding, no other alphabet, and no leftover bits set, so one value
  // has one encoding (a token cannot be altered into another spelling of itself).
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  unsigned bits = 0;
  for (const char c : text) {
    const auto at = base64url_alphabet.find(c);
    if (at == std::string_view::npos)
      return std::nullopt;
    acc = (acc << 6U) | static_cast<std::uint32_t>(at);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFFU);
    }
  }
  if ((acc & ((1U << bits) - 1U)) != 0)
    return std::nullopt;
  return out;
}

namespace {

std::string base64url(const std::vector<unsigned char>& in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v =
        (std::uint32_t{in[i]} << 16U) | (std::uint32_t{in[i + 1]} << 8U) | std::uint32_t{in[i + 2]};
    out += base64url_alphabet[(v >> 18U) & 0x3FU];
    out += base64url_alphabet[(v >> 12U) & 0x3FU];
    out += base64url_alphabet[(v >> 6U) & 0x3FU];
    out += base64url_alphabet[v & 0x3FU];
  }
  const std::size_t rest = in.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16U;
    out += base64url_alphabet[(v >> 18U) & 0x3FU];
    out += base64url_alphabet[(v >> 12U) & 0x3FU];
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16U) | (std::uint32_t{in[i + 1]} << 8U);
    out += base64url_alphabet[(v >> 18U) & 0x3FU];
    out += base64url_alphabet[(v >> 12U) & 0x3FU];
    out += base64url_alphabet[(v >> 6U) & 0x3FU];
  }
  return out;
}

} // namespace

std::string random_token(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  constexpr std::size_t chunk = 1U << 20U; // RAND_bytes takes an int
  for (std::size_t done = 0; done < bytes;) {
    const std::size_t n = std::min(chunk, bytes - done);
    if (RAND_bytes(buffer.data() + done, static_cast<int>(n)) != 1)
      std::abort(); // no randomness: a broken host; never hand out a guessable secret
    done += n;
  }
  auto token = base64url(buffer);
  OPENSSL_cleanse(buffer.data(), buffer.size());
  return token;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1)
    std::abort(); // SHA-256 is compiled into libcrypto; failing means a broken install
  constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{length} * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4U];
    out += hex[digest[i] & 0x0FU];
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  const bool same_length = a.size() == b.size();
  // With different lengths `a` is compared with itself, so the work done (and its timing)
  // still depends on the length alone, never on where the contents first differ.
  const char* other = same_length ? b.data() : a.data();
  const int differ = CRYPTO_memcmp(a.data(), other, a.size());
  return same_length && differ == 0;
}

} // namespace qx::security
