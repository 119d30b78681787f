#pragma once

// The request and response as the handlers see them: plain values, no Beast, so the routes
// compile fast and are tested without a socket.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace qx::api {

struct http_request {
  std::string method; ///< "GET", "POST", ...
  std::string path;   ///< Decoded path without the query.
  std::map<std::string, std::string> query;
  std::string body;
  std::string content_type;
  std::string if_match;        ///< Raw If-Match header, empty when absent.
  std::string idempotency_key; ///< Idempotency-Key header, empty when absent.
  std::string principal;      ///< Who asks: "user:<id>", or "anonymous" (public routes, --no-auth).
  std::string authorization;  ///< The Authorization header, empty when absent.
  std::string user;           ///< The authenticated user id, empty when none.
  std::string token_id;       ///< The id of the token that authenticated the request.
  bool readable_only = false; ///< A list shows only the items `user` may read (authorization).
  std::string request_id;     ///< X-Request-Id or a generated one; also the correlation id.
  std::string remote;         ///< Peer address.
  std::string accept_encoding; ///< The Accept-Encoding header (the console's gzip files).
};

/// The host part of a peer address "host:port" (the whole text when it has no port).
[[nodiscard]] inline std::string host_of(const std::string& remote) {
  return remote.substr(0, remote.rfind(':'));
}

struct http_response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Completes a request; callable once, from any thread.
using responder = std::function<void(http_response)>;

} // namespace qx::api
