#pragma once

// The host API's HTTP/1.1 server (Boost.Beast): limits on headers (16 KiB) and bodies
// (1 MiB), 30 s to read a request, keep-alive. Handlers may block (a join waits for the
// control plane), so each runs on one of the server's few I/O threads.

#include "qx/node/host_api.hpp"

#include <qx/base/error.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace qx::node {

using host_handler = std::function<host_response(const host_request&)>;

class host_server {
 public:
  [[nodiscard]] static result<std::unique_ptr<host_server>>
  start(const std::string& host, std::uint16_t port, host_handler handler, unsigned threads = 2);
  virtual ~host_server() = default;
  host_server() = default;
  host_server(const host_server&) = delete;
  host_server& operator=(const host_server&) = delete;
  host_server(host_server&&) = delete;
  host_server& operator=(host_server&&) = delete;
  [[nodiscard]] virtual std::uint16_t port() const = 0;
  virtual void stop() = 0;
};

} // namespace qx::node
