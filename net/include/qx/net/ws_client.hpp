#pragma once

// One outbound WebSocket (binary messages) with its own I/O thread. Callbacks run on that
// thread, one at a time; send() and close() may be called from any thread.

#include "qx/net/url.hpp"

#include <qx/base/error.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace qx::net {

struct ws_options {
  std::string url; ///< ws://host:port/path or wss://... (http/https are accepted as aliases)
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds connect_timeout{5000};
  std::size_t max_message_bytes = std::size_t{16} << 20U;
  std::size_t max_queued_messages = 10'000; ///< Beyond: the connection is closed as too slow.
  bool verify_tls = true;
  /// wss: accept exactly the peer with this public-key pin (see fetch_request).
  std::string pinned_cert_sha256;
};

class ws_client {
 public:
  using on_message = std::function<void(std::string)>;
  /// Called once when the connection ends after it was open: the close reason or the error.
  using on_closed = std::function<void(const std::string& why)>;

  /// Connects and completes the handshake (blocking, up to connect_timeout). Errors as
  /// http_fetch's, and errc::unauthenticated / permission_denied / not_found when the server
  /// refuses the upgrade with 401 / 403 / 404 (details["status"], details["body"]).
  [[nodiscard]] static result<std::unique_ptr<ws_client>>
  connect(const ws_options& opts, on_message message, on_closed closed);
  virtual ~ws_client() = default;
  ws_client() = default;
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;
  ws_client(ws_client&&) = delete;
  ws_client& operator=(ws_client&&) = delete;

  /// Queues a binary message; false when the connection is closed.
  virtual bool send(std::string bytes) = 0;
  /// Starts a clean close (idempotent); the destructor closes and joins the thread too.
  virtual void close() = 0;
  [[nodiscard]] virtual bool open() const = 0;
};

} // namespace qx::net
