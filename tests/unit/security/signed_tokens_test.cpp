// The negative suite of the API's bearer tokens: every way a token can be forged, bent or
// outlived is refused, with a reason that says which.
#include "qx/security/secrets.hpp"
#include "qx/security/signed_tokens.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace qx::security;

constexpr std::int64_t now = 1'800'000'000;

token_signer signer(std::string kid = "k1", std::string secret = std::string(32, 'S')) {
  auto s = token_signer::make({{std::move(kid), std::move(secret)}});
  EXPECT_TRUE(s);
  return *s;
}

token_claims claims(std::int64_t nbf = now - 10, std::int64_t exp = now + 900) {
  return {"alice", "session", "jti-1", now - 10, nbf, exp};
}

std::string reason_of(const token_signer& s, const std::string& token) {
  const auto r = s.verify(token, now);
  if (r)
    return "ACCEPTED";
  EXPECT_EQ(r.error().code, qx::errc::unauthenticated);
  return r.error().details.at("reason");
}

/// A token with the given header and claims JSON, signed with `secret` (or unsigned).
std::string forge(const std::string& header, const std::string& body, const std::string& secret) {
  const auto input = base64url_encode(header) + "." + base64url_encode(body);
  return input + "." + (secret.empty() ? "" : base64url_encode(hmac_sha256(secret, input)));
}

const std::string good_body =
    R"({"iss":"qvdc","sub":"alice","knd":"session","jti":"j","iat":1,"nbf":1,"exp":1900000000})";

TEST(signed_tokens, a_token_issued_is_accepted_with_its_claims) {
  const auto s = signer();
  const auto v = s.verify(s.issue(claims()), now);
  ASSERT_TRUE(v) << v.error().to_string();
  EXPECT_EQ(v->subject, "alice");
  EXPECT_EQ(v->kind, "session");
  EXPECT_EQ(v->id, "jti-1");
  EXPECT_EQ(v->expires_at, now + 900);
}

TEST(signed_tokens, alg_none_is_refused_signed_or_not) {
  const auto s = signer();
  const std::string secret(32, 'S');
  EXPECT_EQ(reason_of(s, forge(R"({"alg":"none","typ":"JWT","kid":"k1"})", good_body, "")),
            "TOKEN_ALGORITHM_REFUSED");
  EXPECT_EQ(reason_of(s, forge(R"({"alg":"none","typ":"JWT","kid":"k1"})", good_body, secret)),
            "TOKEN_ALGORITHM_REFUSED");
  EXPECT_EQ(reason_of(s, forge(R"({"alg":"None","typ":"JWT","kid":"k1"})", good_body, "")),
            "TOKEN_ALGORITHM_REFUSED");
  EXPECT_EQ(reason_of(s, forge(R"({"typ":"JWT","kid":"k1"})", good_body, secret)),
            "TOKEN_ALGORITHM_REFUSED");
}

TEST(signed_tokens, algorithm_confusion_is_refused) {
  const auto s = signer();
  const std::string secret(32, 'S');
  // RS256/ES256 "verified" with the HMAC secret as a public key, and HMAC variants.
  for (const char* alg : {"RS256", "ES256", "PS256", "HS384", "HS512", "hs256"})
    EXPECT_EQ(reason_of(s, forge(std::string{R"({"alg":")"} + alg + R"(","typ":"JWT","kid":"k1"})",
                                 good_body, secret)),
              "TOKEN_ALGORITHM_REFUSED")
        << alg;
  // Header fields that would let a token pick its key are refused even with HS256.
  for (const char* extra : {R"("jku":"http://evil/")", R"("jwk":{"kty":"oct","k":"AA"})",
                            R"("x5u":"http://evil/")", R"("crit":["exp"])"})
    EXPECT_EQ(
        reason_of(s, forge(std::string{R"({"alg":"HS256","typ":"JWT","kid":"k1",)"} + extra + "}",
                           good_body, secret)),
        "TOKEN_MALFORMED")
        << extra;
  // A duplicate alg, which one parser could read as none and another as HS256.
  EXPECT_EQ(reason_of(s, forge(R"({"alg":"none","alg":"HS256","typ":"JWT","kid":"k1"})", good_body,
                               secret)),
            "TOKEN_MALFORMED");
}

TEST(signed_tokens, expired_and_not_yet_valid_are_told_apart) {
  const auto s = signer();
  EXPECT_EQ(reason_of(s, s.issue(claims(now - 100, now - token_leeway_s - 1))), "TOKEN_EXPIRED");
  EXPECT_EQ(reason_of(s, s.issue(claims(now + token_leeway_s + 60, now + 900))),
            "TOKEN_NOT_YET_VALID");
  // Within the leeway both still pass.
  EXPECT_EQ(reason_of(s, s.issue(claims(now + 5, now - 5))), "ACCEPTED");
}

TEST(signed_tokens, any_tampering_breaks_the_signature) {
  const auto s = signer();
  const auto token = s.issue(claims());
  const auto dot2 = token.rfind('.');
  // Claims rewritten (another subject, a later expiry) with the old signature.
  const auto head = token.substr(0, token.find('.'));
  for (
      const char* body :
      {R"({"iss":"qvdc","sub":"root","knd":"session","jti":"jti-1","iat":1,"nbf":1,"exp":1800000890})",
       R"({"iss":"qvdc","sub":"alice","knd":"api","jti":"jti-1","iat":1,"nbf":1,"exp":9999999999})"})
    EXPECT_EQ(reason_of(s, head + "." + base64url_encode(body) + token.substr(dot2)),
              "TOKEN_SIGNATURE_INVALID");
  // One character of the signature changed.
  auto flipped = token;
  flipped[dot2 + 3] = flipped[dot2 + 3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(reason_of(s, flipped), "TOKEN_SIGNATURE_INVALID");
  // Signature cut short, or removed.
  EXPECT_EQ(reason_of(s, token.substr(0, token.size() - 3)), "TOKEN_SIGNATURE_INVALID");
  EXPECT_EQ(reason_of(s, token.substr(0, dot2 + 1)), "TOKEN_SIGNATURE_INVALID");
  // Signed with another secret under the right key id.
  EXPECT_EQ(reason_of(s, signer("k1", std::string(32, 'X')).issue(claims())),
            "TOKEN_SIGNATURE_INVALID");
}

TEST(signed_tokens, an_unknown_key_is_named) {
  EXPECT_EQ(reason_of(signer("k1"), signer("k2").issue(claims())), "TOKEN_UNKNOWN_KEY");
  EXPECT_EQ(reason_of(signer(), forge(R"({"alg":"HS256","typ":"JWT","kid":7})", good_body,
                                      std::string(32, 'S'))),
            "TOKEN_MALFORMED");
}

TEST(signed_tokens, after_a_rotation_old_tokens_verify_and_new_ones_use_the_new_key) {
  const auto old_signer = signer("old", std::string(32, 'O'));
  auto rotated = token_signer::make({{"new", std::string(32, 'N')}, {"old", std::string(32, 'O')}});
  ASSERT_TRUE(rotated);
  EXPECT_EQ(reason_of(*rotated, old_signer.issue(claims())), "ACCEPTED");
  EXPECT_EQ(reason_of(old_signer, rotated->issue(claims())), "TOKEN_UNKNOWN_KEY");
}

TEST(signed_tokens, malformed_and_hostile_tokens_are_refused_without_a_crash) {
  const auto s = signer();
  const auto token = s.issue(claims());
  for (
      const std::string& bad :
      {std::string{}, std::string{"."}, std::string{".."}, std::string{"a.b"},
       std::string{"a.b.c.d"}, token + ".", "=" + token, token + "=",
       std::string(max_token_bytes + 1, 'a'), std::string{"\0.\0.\0", 5},
       std::string{"eyJhbGciOiJIUzI1NiJ9.e30"}, forge("[1,2]", good_body, std::string(32, 'S')),
       forge("not json", good_body, std::string(32, 'S')),
       forge(R"({"alg":"HS256","typ":"JWT","kid":"k1"})", "[]", std::string(32, 'S')),
       forge(
           R"({"alg":"HS256","typ":"JWT","kid":"k1"})",
           R"({"iss":"other","sub":"a","knd":"session","jti":"j","iat":1,"nbf":1,"exp":1900000000})",
           std::string(32, 'S')),
       forge(R"({"alg":"HS256","typ":"JWT","kid":"k1"})",
             R"({"iss":"qvdc","sub":"a","knd":"session","jti":"j","iat":1,"nbf":1,"exp":"never"})",
             std::string(32, 'S'))}) {
    const auto reason = reason_of(s, bad);
    EXPECT_TRUE(reason == "TOKEN_MALFORMED" || reason == "TOKEN_SIGNATURE_INVALID")
        << reason << " for " << bad.substr(0, 60);
  }
}

TEST(signed_tokens, keys_must_be_long_and_named) {
  EXPECT_FALSE(token_signer::make({}));
  EXPECT_FALSE(token_signer::make({{"k", std::string(31, 'x')}}));
  EXPECT_FALSE(token_signer::make({{"bad id", std::string(32, 'x')}}));
  EXPECT_FALSE(token_signer::make({{"k", std::string(32, 'x')}, {"k", std::string(32, 'y')}}));
}

TEST(base64url, decoding_is_canonical) {
  EXPECT_EQ(base64url_decode(base64url_encode("any bytes \x01\xff")), "any bytes \x01\xff");
  EXPECT_FALSE(base64url_decode("QQ==")); // padding
  EXPECT_FALSE(base64url_decode("QR"));   // leftover bits set: another spelling of "A"
  EXPECT_FALSE(base64url_decode("Q"));    // no encoding is 1 mod 4 long
  EXPECT_FALSE(base64url_decode("a+b/")); // the other alphabet
  EXPECT_EQ(base64url_decode(""), "");
}

} // namespace
