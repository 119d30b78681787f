// The cache of verified tokens answers as the signer does: a token seen before still expires
// on time, a tampered copy of a cached token is checked (and refused) like any other, and the
// cache stays within its bound.
#include "qx/security/secrets.hpp"
#include "qx/security/verified_tokens.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace qx::security;

constexpr std::int64_t now = 1'800'000'000;

token_signer make_signer() {
  auto s = token_signer::make({{"k1", std::string(32, 'S')}});
  EXPECT_TRUE(s);
  return *s;
}

token_claims claims(std::string jti, std::int64_t exp = now + 900) {
  return {"alice", "session", std::move(jti), now - 10, now - 10, exp};
}

std::string reason_of(const qx::result<token_claims>& r) {
  return r ? "ACCEPTED" : r.error().details.at("reason");
}

TEST(verified_tokens, a_cached_token_expires_on_time) {
  const auto signer = make_signer();
  verified_tokens cache{signer};
  const auto token = signer.issue(claims("j1", now + 60));
  ASSERT_EQ(reason_of(cache.verify(token, now)), "ACCEPTED");
  EXPECT_EQ(cache.size(), 1U);
  const auto again = cache.verify(token, now + 10);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, "j1");
  EXPECT_EQ(reason_of(cache.verify(token, now + 60 + token_leeway_s)), "TOKEN_EXPIRED");
}

TEST(verified_tokens, a_tampered_copy_of_a_cached_token_is_refused) {
  const auto signer = make_signer();
  verified_tokens cache{signer};
  const auto token = signer.issue(claims("j1"));
  ASSERT_EQ(reason_of(cache.verify(token, now)), "ACCEPTED");
  auto flipped = token;
  const auto at = token.rfind('.') + 3;
  flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
  EXPECT_EQ(reason_of(cache.verify(flipped, now)), "TOKEN_SIGNATURE_INVALID");
  EXPECT_EQ(reason_of(cache.verify(token + "x", now)), "TOKEN_SIGNATURE_INVALID");
  EXPECT_EQ(cache.size(), 1U) << "only tokens that verified are kept";
}

TEST(verified_tokens, the_cache_stays_within_its_bound) {
  const auto signer = make_signer();
  verified_tokens cache{signer, 8};
  for (int i = 0; i < 20; ++i) {
    const auto token = signer.issue(claims("j" + std::to_string(i)));
    ASSERT_EQ(reason_of(cache.verify(token, now)), "ACCEPTED");
    EXPECT_LE(cache.size(), 8U);
  }
  // Expired ones go first: 4 short-lived tokens, then time passes, then one more.
  verified_tokens small{signer, 5};
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(small.verify(signer.issue(claims("s" + std::to_string(i), now + 10)), now));
  const auto keeper = signer.issue(claims("keep"));
  ASSERT_TRUE(small.verify(keeper, now));
  ASSERT_TRUE(small.verify(signer.issue(claims("late")), now + 100));
  EXPECT_EQ(small.size(), 2U) << "the expired tokens made room, the live one stayed";
}

} // namespace
