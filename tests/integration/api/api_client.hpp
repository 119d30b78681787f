#pragma once

// The test client: cpprestsdk's http_client and websocket_callback_client (an HTTP and
// WebSocket implementation independent of the server's Beast) behind a small interface, so
// that only api_client.cpp pays for cpprestsdk's heavy headers. Bodies go out and come back as
// raw bytes: a test can send anything and compare answers byte for byte.

#include <cpprest/json.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qx::test {

struct header_less {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct api_response {
  unsigned status = 0;
  std::map<std::string, std::string, header_less> headers; ///< Names compare case-insensitively.
  std::string body;

  /// The body parsed as JSON (null, and a test failure, when it is not JSON).
  [[nodiscard]] web::json::value json() const;
  /// A header's value, "" when absent.
  [[nodiscard]] std::string header(const std::string& name) const;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

class api_client {
 public:
  explicit api_client(const std::string& base_url,
                      std::chrono::seconds timeout = std::chrono::seconds{30});
  ~api_client();
  api_client(const api_client&) = delete;
  api_client& operator=(const api_client&) = delete;

  /// One request; `target` is the path with its query, already percent-encoded. A body, when
  /// given, goes out with `content_type`. Throws on a transport error.
  api_response send(const std::string& method, const std::string& target,
                    std::optional<std::string> body = std::nullopt, const header_list& headers = {},
                    const std::string& content_type = "application/json");

  /// Many requests at once (each on the client's connection pool); answers in order. A
  /// transport error answers status 0 with the error's text as body.
  struct request {
    std::string method;
    std::string target;
    std::optional<std::string> body;
    header_list headers;
  };
  std::vector<api_response> send_all(const std::vector<request>& requests);

  api_response get(const std::string& target, const header_list& headers = {}) {
    return send("GET", target, std::nullopt, headers);
  }
  api_response post(const std::string& target, std::optional<std::string> body = std::nullopt,
                    const header_list& headers = {}) {
    return send("POST", target, std::move(body), headers);
  }
  api_response patch(const std::string& target, std::string body, const header_list& headers = {}) {
    return send("PATCH", target, std::move(body), headers);
  }
  api_response put(const std::string& target, std::string body, const header_list& headers = {}) {
    return send("PUT", target, std::move(body), headers);
  }
  api_response del(const std::string& target, const header_list& headers = {}) {
    return send("DELETE", target, std::nullopt, headers);
  }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A WebSocket watcher on /api/v1/watch that keeps every text frame it receives (parsed), in
/// order. The frames arrive on cpprestsdk's threads.
class watch_client {
 public:
  /// Connects to `ws_base` + "/api/v1/watch?" + `query`; throws when the upgrade fails.
  watch_client(const std::string& ws_base, const std::string& query);
  ~watch_client();
  watch_client(const watch_client&) = delete;
  watch_client& operator=(const watch_client&) = delete;

  /// WebSocket messages received (with batch=N one message holds several frames).
  [[nodiscard]] std::size_t messages() const;
  /// A copy of the frames received so far (those of a batch message one by one).
  [[nodiscard]] std::vector<web::json::value> frames() const;
  /// Highest event position received (0 for none).
  [[nodiscard]] std::uint64_t last_position() const;
  /// Waits until an event frame with position >= `position` arrived; false on timeout.
  bool wait_for_position(std::uint64_t position, std::chrono::milliseconds timeout);
  /// Waits until `pred(frames)`; false on timeout.
  bool wait_for(const std::function<bool(const std::vector<web::json::value>&)>& pred,
                std::chrono::milliseconds timeout);
  /// Stops keeping frames (those arriving later are dropped), returns what was kept, and
  /// closes the connection.
  std::vector<web::json::value> detach();
  /// Whether the server closed the connection, and with which code (0 when it did not).
  [[nodiscard]] bool closed() const;
  [[nodiscard]] int close_code() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

/// Percent-encodes a query value.
[[nodiscard]] std::string url_encode(const std::string& s);

} // namespace qx::test
