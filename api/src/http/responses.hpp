#pragma once

// Building responses: JSON bodies, the one error shape, and the status each error code maps to.

#include "json_codec.hpp"

#include <qx/api/http.hpp>
#include <qx/base/error.hpp>

namespace qx::api {

/// `body` as JSON with `status`.
[[nodiscard]] http_response json_response(unsigned status, const json& body);

/// {"error":{"code","message","details"}} with the status for e.code. A version conflict
/// answers 412 when the client sent If-Match (its precondition failed), 409 otherwise.
[[nodiscard]] http_response error_response(const error& e, bool if_match_given = false);

/// A plain error from parts.
[[nodiscard]] http_response error_response(unsigned status, std::string_view code,
                                           std::string_view message, const json& details = {});

/// The HTTP status of an error code.
[[nodiscard]] unsigned status_of(const error& e, bool if_match_given);

} // namespace qx::api
