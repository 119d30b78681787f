// Passwords: argon2id with at least OWASP's costs, verified against the stored PHC string.
#include "qx/security/password_hash.hpp"

#include <gtest/gtest.h>

namespace {

using namespace qx::security;

TEST(password_hash, a_hash_verifies_its_password_and_nothing_else) {
  const auto h = hash_password("correct horse battery");
  ASSERT_TRUE(h) << h.error().to_string();
  EXPECT_EQ(h->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *h;
  EXPECT_TRUE(verify_password(*h, "correct horse battery"));
  EXPECT_FALSE(verify_password(*h, "correct horse batterz"));
  EXPECT_FALSE(verify_password(*h, ""));
  EXPECT_FALSE(needs_rehash(*h));
  // A fresh salt every time.
  EXPECT_NE(*h, *hash_password("correct horse battery"));
}

TEST(password_hash, too_short_too_long_and_weak_costs_are_refused) {
  for (const auto& pw : {std::string(7, 'a'), std::string(max_password_bytes + 1, 'a')}) {
    const auto h = hash_password(pw);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().code, qx::errc::invalid_argument);
    EXPECT_EQ(h.error().details.at("field"), "password");
  }
  const auto weak = hash_password("long enough", argon2_cost{1, std::size_t{19} << 20U});
  ASSERT_FALSE(weak);
  EXPECT_EQ(weak.error().details.at("field"), "cost");
  EXPECT_FALSE(hash_password("long enough", argon2_cost{2, std::size_t{8} << 20U}));
}

TEST(password_hash, a_stored_value_that_is_not_argon2id_never_verifies) {
  for (const char* stored :
       {"", "plaintext-password", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
        "$2y$10$abcdefghijklmnopqrstuv", "$argon2id$garbage"})
    EXPECT_FALSE(verify_password(stored, "plaintext-password")) << stored;
  EXPECT_FALSE(verify_password(std::string(4096, '$'), "x"));
}

TEST(password_hash, higher_costs_ask_for_a_rehash_of_older_hashes) {
  const auto h = hash_password("correct horse battery");
  ASSERT_TRUE(h);
  EXPECT_TRUE(needs_rehash(*h, argon2_cost{3, std::size_t{19} << 20U}));
  EXPECT_TRUE(needs_rehash("not a hash"));
}

} // namespace
