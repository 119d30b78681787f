#include "qx/base/error.hpp"

namespace qx {

std::string_view to_string(errc code) noexcept {
  switch (code) {
  case errc::invalid_argument:
    return "INVALID_ARGUMENT";
  case errc::conflict:
    return "CONFLICT";
  case errc::too_large:
    return "TOO_LARGE";
  case errc::not_found:
    return "NOT_FOUND";
  case errc::corrupted:
    return "CORRUPTED";
  case errc::io_error:
    return "IO_ERROR";
  case errc::unavailable:
    return "UNAVAILABLE";
  case errc::already_exists:
    return "ALREADY_EXISTS";
  case errc::failed_precondition:
    return "FAILED_PRECONDITION";
  case errc::resource_exhausted:
    return "RESOURCE_EXHAUSTED";
  case errc::unauthenticated:
    return "UNAUTHENTICATED";
  case errc::permission_denied:
    return "PERMISSION_DENIED";
  }
  return "UNKNOWN";
}

std::string error::to_string() const {
  std::string out{qx::to_string(code)};
  out += ": ";
  out += message;
  if (!details.empty()) {
    out += " {";
    bool first = true;
    for (const auto& [key, value] : details) {
      if (!first)
        out += ", ";
      first = false;
      out += key;
      out += '=';
      out += value;
    }
    out += "}";
  }
  return out;
}

error invalid_field(std::string_view field, std::string message) {
  return {errc::invalid_argument, std::move(message), {{"field", std::string{field}}}};
}

error exists_at(std::string_view field, std::string message) {
  return {errc::already_exists, std::move(message), {{"field", std::string{field}}}};
}

} // namespace qx
