#pragma once

// The network side of the server (Boost.Beast): accepts connections, reads HTTP/1.1 requests
// with limits, answers probes and /metrics, hands the rest to dispatch(), and runs WebSocket
// watchers. Beast stays inside net_server.cpp: it is the costliest file to compile.

#include "agent_registry.hpp"
#include "console_files.hpp"
#include "context.hpp"
#include "metrics.hpp"
#include "router.hpp"
#include "watch_hub.hpp"

#include <qx/api/server.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace qx::api {

struct net_dependencies {
  api_context& ctx;
  const router& routes;
  watch_hub& hub;
  metrics& stats;
  events::event_store& store;
  projections::host& proj;
  agent_registry& agents;
  const console_files& console;
  server_limits limits;
  std::string tls_cert_file; ///< PEM; empty: plain HTTP. With tls_key_file: HTTPS and WSS only.
  std::string tls_key_file;
};

class net_server {
 public:
  explicit net_server(net_dependencies deps);
  ~net_server();
  net_server(const net_server&) = delete;
  net_server& operator=(const net_server&) = delete;

  /// Binds and starts `threads` I/O threads; answers the port bound.
  [[nodiscard]] result<std::uint16_t> start(const std::string& host, std::uint16_t port,
                                            unsigned threads);
  /// Stops accepting and closes every connection.
  void stop_accepting();
  /// Stops the I/O threads and joins them.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace qx::api
