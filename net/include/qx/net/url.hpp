#pragma once

// The URLs the agents and the control plane give each other: http:// or https://, a host, an
// optional port, an optional path. Nothing else (no user info, no fragment).

#include <qx/base/error.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace qx::net {

struct url {
  std::string scheme; ///< "http" or "https"
  std::string host;   ///< a name or an address; IPv6 without brackets
  std::uint16_t port = 0;
  std::string path; ///< "/..." ("/" when absent), with its query
  [[nodiscard]] bool tls() const { return scheme == "https"; }
  /// "host:port", IPv6 in brackets: what goes in a Host header.
  [[nodiscard]] std::string authority() const;
  /// scheme://authority (no path).
  [[nodiscard]] std::string origin() const;
};

/// Parses `text`; errc::invalid_argument with details["field"] = `field` when it is not such
/// a URL (other schemes, user info, spaces or control characters, a port out of range, longer
/// than 2048 bytes).
[[nodiscard]] result<url> parse_url(std::string_view text, const std::string& field = "url");

/// %xx-decodes `s` (and '+' as a space when `plus_is_space`, as in queries); nullopt for a
/// broken escape.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

/// Splits a request target into its decoded path and query parameters; false when an escape
/// is broken or the path does not start with '/'.
[[nodiscard]] bool split_target(std::string_view target, std::string& path,
                                std::map<std::string, std::string>& query);

} // namespace qx::net
