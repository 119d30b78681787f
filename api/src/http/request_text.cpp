#include "request_text.hpp"

#include "responses.hpp"

#include <qx/base/utf8.hpp>

#include <algorithm>

namespace qx::api {

bool is_clean_text(std::string_view value, bool allow_tab) {
  if (qx::invalid_utf8_at(value))
    return false;
  return std::none_of(value.begin(), value.end(), [&](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7F;
  });
}

std::optional<http_response> refuse_malformed_text(const http_request& req) {
  const auto refuse = [](const std::string& field) {
    return error_response(400, "INVALID_ARGUMENT",
                          field + " is not valid UTF-8 text (or holds a control character)",
                          json{{"field", field}});
  };
  if (!is_clean_text(req.path))
    return refuse("path");
  for (const auto& [key, value] : req.query) {
    if (!is_clean_text(key))
      return refuse("query");
    if (!is_clean_text(value))
      return refuse("query." + key);
  }
  const std::pair<const char*, const std::string*> headers[] = {
      {"X-Request-Id", &req.request_id},     {"Idempotency-Key", &req.idempotency_key},
      {"If-Match", &req.if_match},           {"Content-Type", &req.content_type},
      {"Authorization", &req.authorization},
  };
  for (const auto& [name, value] : headers)
    if (!is_clean_text(*value, true))
      return refuse(name);
  return std::nullopt;
}

std::string recorded_text(std::string_view value, std::size_t max) {
  auto out = escape_invalid_utf8(value.substr(0, max));
  if (out.size() > max) {
    auto cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0U) == 0x80U)
      --cut; // not inside a character
    // Nor inside an escape: "\xHH" is four bytes, kept whole or not at all.
    const auto escape = out.rfind("\\x", cut - (cut > 0 ? 1 : 0));
    if (escape != std::string::npos && escape + 4 > cut)
      cut = escape;
    out.resize(cut);
  }
  return out;
}

} // namespace qx::api
