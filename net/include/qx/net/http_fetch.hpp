#pragma once

// One HTTP/1.1 request over a fresh connection, with a deadline for the whole exchange. Used
// where a request is rare and must fail clearly: the control plane discovering a host, an agent
// joining a control plane. Blocking: call it from a thread that may wait (never a CAF worker).

#include "qx/net/url.hpp"

#include <qx/base/error.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace qx::net {

struct fetch_request {
  std::string method = "GET";
  std::string url; ///< http://host:port/path or https://...
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds timeout{5000};
  std::size_t max_response_bytes = std::size_t{1} << 20U;
  /// https: check the peer's certificate against the system's CAs (off only for tests).
  bool verify_tls = true;
  /// https: accept exactly the peer whose certificate has this public-key pin
  /// ("sha256:<hex>", security::cert_pin_of_der) instead of checking CAs and the name.
  std::string pinned_cert_sha256;
};

struct fetch_response {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

/// The response, whatever its status. Failures (errc::unavailable unless said otherwise),
/// details["reason"] being:
/// - HOST_CONNECTION_FAILED: refused, reset, closed early, the name does not resolve;
/// - CONNECTION_TIMEOUT: no complete answer before the deadline;
/// - NETWORK_UNREACHABLE: no route to the network or the host;
/// - TLS_ERROR: the TLS handshake or certificate check failed;
/// - INVALID_RESPONSE: the peer did not speak HTTP/1.x, or answered more than
///   max_response_bytes;
/// and errc::invalid_argument (field "url") for a URL parse_url refuses.
[[nodiscard]] result<fetch_response> http_fetch(const fetch_request& req);

} // namespace qx::net
