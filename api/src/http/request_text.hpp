#pragma once

// The border check every request passes before it is routed: each text it carries from
// outside (path, query, the headers the server keeps) must be valid UTF-8 without control
// characters, or nothing of it may be routed, recorded or appended (issue 15: one invalid
// byte in X-Request-Id once made a record the log could not read back).

#include <qx/api/http.hpp>

#include <optional>

namespace qx::api {

/// The 400 INVALID_ARGUMENT naming the first field of `req` (path, query.<key>, a header's
/// name) that is not text; nullopt when all of it is.
[[nodiscard]] std::optional<http_response> refuse_malformed_text(const http_request& req);

/// True when `value` is valid UTF-8 without control characters (C0, DEL); tab is allowed
/// only when `allow_tab`.
[[nodiscard]] bool is_clean_text(std::string_view value, bool allow_tab = false);

/// `value` as a record may carry it whatever was sent: bytes that are not UTF-8 escaped
/// (`\xHH`), then cut to at most `max` bytes on a character boundary. The bound applies after
/// escaping, which makes a bad byte four: the store refuses a field over its limit, and a
/// refused audit record is an audit lost (found by fuzz_http_request).
[[nodiscard]] std::string recorded_text(std::string_view value, std::size_t max);

} // namespace qx::api
