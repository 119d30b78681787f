#pragma once

// The HTTP status of an error, the same on every API of the project (the control plane's and
// the host API of qx-node).

#include <qx/base/error.hpp>

namespace qx::net {

/// 400 invalid_argument, 401 unauthenticated, 403 permission_denied, 404 not_found,
/// 409 conflict (412 when the client sent If-Match), already_exists, failed_precondition and
/// resource_exhausted, 413 too_large, 503 unavailable, 500 corrupted and io_error.
[[nodiscard]] unsigned http_status_of(errc code, bool if_match_given = false) noexcept;

} // namespace qx::net
