// Random tokens, SHA-256 and constant-time comparison.
#include "qx/security/secrets.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace {

using qx::security::constant_time_equal;
using qx::security::random_token;
using qx::security::sha256_hex;

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

TEST(random_token, is_base64url_without_padding_of_the_asked_length) {
  // 4 characters per 3 bytes, rounded up, no '='.
  const std::pair<std::size_t, std::size_t> lengths[] = {
      {0, 0}, {1, 2}, {2, 3}, {3, 4}, {4, 6}, {16, 22}, {32, 43}, {33, 44}, {64, 86}};
  for (const auto& [bytes, chars] : lengths) {
    const auto token = random_token(bytes);
    EXPECT_EQ(token.size(), chars) << bytes << " bytes";
    for (const char c : token)
      EXPECT_TRUE(base64url_char(c)) << "'" << c << "' in " << token;
  }
  EXPECT_EQ(random_token().size(), 43U);
}

TEST(random_token, does_not_repeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i)
    EXPECT_TRUE(seen.insert(random_token()).second);
}

TEST(random_token, uses_every_character_of_the_alphabet_over_many_draws) {
  // A wrong alphabet (standard base64's '+' '/') or a stuck bit would leave gaps.
  std::set<char> seen;
  for (int i = 0; i < 200; ++i)
    for (const char c : random_token(48))
      seen.insert(c);
  EXPECT_EQ(seen.size(), 64U);
}

TEST(sha256_hex, matches_the_published_test_vectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(sha256_hex, hashes_every_byte_including_nul_and_large_input) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(sha256_hex(with_nul), sha256_hex("a"));
  EXPECT_NE(sha256_hex(with_nul), sha256_hex(std::string("a\0c", 3)));
  // One million 'a': the long-message vector.
  EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(constant_time_equal, answers_equality_of_bytes) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "Secret"));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(constant_time_equal, different_lengths_are_never_equal) {
  EXPECT_FALSE(constant_time_equal("secret", "secre"));
  EXPECT_FALSE(constant_time_equal("secre", "secret"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_FALSE(constant_time_equal("x", ""));
  // A prefix padded with NULs is still not the same string.
  EXPECT_FALSE(constant_time_equal("ab", std::string("ab\0", 3)));
  EXPECT_FALSE(constant_time_equal(std::string(4096, 'a'), std::string(4095, 'a')));
}

} // namespace
