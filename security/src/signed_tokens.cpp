#include "qx/security/signed_tokens.hpp"

#include "qx/security/secrets.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <set>

namespace qx::security {

namespace {

using nlohmann::json;

error refused(std::string reason, std::string message) {
  return error{errc::unauthenticated, std::move(message), {{"reason", std::move(reason)}}};
}

bool valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > 64)
    return false;
  for (const char c : id)
    if ((c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' &&
        c != '-')
      return false;
  return true;
}

/// A JSON object whose keys are exactly `keys`, each once: a duplicate key (which a parser
/// would resolve to its last value, and another parser perhaps to its first) is refused.
std::optional<json> object_with(std::string_view text, const std::set<std::string>& keys) {
  std::set<std::string> seen;
  bool duplicate = false;
  const json::parser_callback_t count = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 &&
        !seen.insert(parsed.get<std::string>()).second)
      duplicate = true;
    return true;
  };
  auto j = json::parse(text, count, false);
  if (duplicate || j.is_discarded() || !j.is_object() || j.size() != keys.size())
    return std::nullopt;
  for (const auto& [k, v] : j.items())
    if (keys.count(k) == 0)
      return std::nullopt;
  return j;
}

std::string header_of(const std::string& kid) {
  // Field order fixed, so the same key always writes the same header.
  return json{{"alg", "HS256"}, {"kid", kid}, {"typ", "JWT"}}.dump();
}

} // namespace

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &length);
  return {reinterpret_cast<const char*>(mac.data()), length};
}

result<token_signer> token_signer::make(std::vector<signing_key> keys) {
  if (keys.empty())
    return error{errc::invalid_argument, "at least one signing key is needed", {{"field", "keys"}}};
  std::set<std::string> seen;
  for (const auto& k : keys) {
    if (!valid_key_id(k.id) || !seen.insert(k.id).second)
      return error{errc::invalid_argument,
                   "key ids are 1..64 of [A-Za-z0-9_-], unique",
                   {{"field", "keys.id"}}};
    if (k.secret.size() < 32)
      return error{errc::invalid_argument,
                   "a signing key has at least 32 bytes",
                   {{"field", "keys.secret"}}};
  }
  return token_signer{std::move(keys)};
}

std::string token_signer::issue(const token_claims& c) const {
  const auto& key = keys_.front();
  const json claims{{"iss", "qvdc"},      {"sub", c.subject},   {"knd", c.kind},
                    {"jti", c.id},        {"iat", c.issued_at}, {"nbf", c.not_before},
                    {"exp", c.expires_at}};
  auto signing_input = base64url_encode(header_of(key.id)) + "." + base64url_encode(claims.dump());
  const auto mac = hmac_sha256(key.secret, signing_input);
  return signing_input + "." + base64url_encode(mac);
}

result<token_claims> token_signer::verify(std::string_view token, std::int64_t now) const {
  if (token.size() > max_token_bytes)
    return refused("TOKEN_MALFORMED", "the token is longer than 4096 bytes");
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return refused("TOKEN_MALFORMED", "a token has three base64url parts");
  const auto header_text = base64url_decode(token.substr(0, dot1));
  const auto claims_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const auto mac = base64url_decode(token.substr(dot2 + 1));
  if (!header_text || !claims_text || !mac)
    return refused("TOKEN_MALFORMED", "a token part is not canonical base64url");

  // The algorithm first: a header that asks for anything but HS256 is refused whatever its
  // signature, so "none" and public-key confusion never reach a verifier.
  auto header = json::parse(*header_text, nullptr, false);
  if (header.is_discarded() || !header.is_object())
    return refused("TOKEN_MALFORMED", "the token header is not a JSON object");
  if (!header.contains("alg") || header["alg"] != "HS256")
    return refused("TOKEN_ALGORITHM_REFUSED", "only HS256 tokens are accepted");
  const auto pinned = object_with(*header_text, {"alg", "kid", "typ"});
  if (!pinned || (*pinned)["typ"] != "JWT" || !(*pinned)["kid"].is_string())
    return refused("TOKEN_MALFORMED", "the token header must be exactly alg, kid, typ");
  const auto kid = (*pinned)["kid"].get<std::string>();
  const signing_key* key = nullptr;
  for (const auto& k : keys_)
    if (k.id == kid)
      key = &k;
  if (key == nullptr)
    return refused("TOKEN_UNKNOWN_KEY", "the token names a key this server does not have");
  const auto expected = hmac_sha256(key->secret, token.substr(0, dot2));
  if (!constant_time_equal(expected, *mac))
    return refused("TOKEN_SIGNATURE_INVALID", "the token's signature does not match");

  const auto claims = object_with(*claims_text, {"iss", "sub", "knd", "jti", "iat", "nbf", "exp"});
  if (!claims || (*claims)["iss"] != "qvdc" || !(*claims)["sub"].is_string() ||
      !(*claims)["knd"].is_string() || !(*claims)["jti"].is_string() ||
      !(*claims)["iat"].is_number_integer() || !(*claims)["nbf"].is_number_integer() ||
      !(*claims)["exp"].is_number_integer())
    return refused("TOKEN_MALFORMED", "the token's claims are not qvdc's");
  token_claims out;
  out.subject = (*claims)["sub"].get<std::string>();
  out.kind = (*claims)["knd"].get<std::string>();
  out.id = (*claims)["jti"].get<std::string>();
  out.issued_at = (*claims)["iat"].get<std::int64_t>();
  out.not_before = (*claims)["nbf"].get<std::int64_t>();
  out.expires_at = (*claims)["exp"].get<std::int64_t>();
  if (auto valid = check_validity(out, now); !valid)
    return std::move(valid).error();
  return out;
}

status check_validity(const token_claims& claims, std::int64_t now) {
  if (claims.not_before > now + token_leeway_s)
    return refused("TOKEN_NOT_YET_VALID", "the token is not valid yet");
  if (claims.expires_at + token_leeway_s <= now)
    return refused("TOKEN_EXPIRED", "the token has expired");
  return {};
}

} // namespace qx::security
