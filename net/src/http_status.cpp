#include "qx/net/http_status.hpp"

namespace qx::net {

unsigned http_status_of(errc code, bool if_match_given) noexcept {
  switch (code) {
  case errc::invalid_argument:
    return 400;
  case errc::not_found:
    return 404;
  case errc::conflict:
    return if_match_given ? 412 : 409;
  case errc::already_exists:
  case errc::failed_precondition:
  case errc::resource_exhausted:
    return 409;
  case errc::too_large:
    return 413;
  case errc::unauthenticated:
    return 401;
  case errc::permission_denied:
    return 403;
  case errc::unavailable:
    return 503;
  case errc::corrupted:
  case errc::io_error:
    return 500;
  }
  return 500;
}

} // namespace qx::net
