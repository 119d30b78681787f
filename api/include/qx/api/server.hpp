#pragma once

// `qvdc serve`: the HTTP/1.1 + WebSocket server on one port, the actors and the projections
// behind it, over one data directory.

#include <qx/base/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace rocksdb {
class FileSystem;
} // namespace rocksdb

namespace qx::api {

/// Limits, with their defaults (docs/operations.md lists them too).
struct server_limits {
  std::size_t max_header_bytes = std::size_t{16} << 10U;
  std::size_t max_body_bytes = std::size_t{1} << 20U;
  /// A whole POST /api/v1/images/upload body: the largest image (1 TiB) and its framing.
  std::uint64_t max_upload_bytes = (std::uint64_t{1} << 40U) + (std::uint64_t{1} << 20U);
  std::chrono::seconds idle_timeout{60};      ///< A keep-alive connection with no request.
  std::chrono::seconds request_timeout{30};   ///< Reading one request, headers and body.
  std::chrono::seconds handshake_timeout{10}; ///< WebSocket upgrade.
  std::size_t max_connections = 10'000;       ///< Beyond: 503 and close.
  std::size_t max_in_flight = 4096;           ///< Commands waiting for the actors; beyond: 429.
  std::size_t max_ws_message_bytes = std::size_t{64} << 10U; ///< Frames a watcher may send us.
  std::size_t watch_queue_events = 4096; ///< Events a watcher may lag before overflow.
  /// How often watchers with batch=N get the frames published meanwhile, as one message.
  std::chrono::milliseconds watch_batch_window{20};
  std::chrono::seconds ping_interval{20};
};

struct server_options {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080; ///< 0: any free port (printed at start).
  std::string data_dir = "./var/qvdc";
  unsigned io_threads = 2;
  server_limits limits;
  /// Stand in for node agents (until qx-node exists): confirm VM power transitions at once,
  /// under the principal "system:hypervisor-stand-in".
  bool hypervisor_stand_in = false;
  /// With the stand-in: each VM it confirms running is measured busy on this share of its
  /// vCPUs, with all its memory touched (the demand DRS balances; there is no telemetry without
  /// agents). Negative: no measure (DRS sees no demand).
  double stand_in_demand = -1;
  /// This control plane's URL as node agents reach it (given to them at registration).
  /// Default: http://<listen host>:<port bound>.
  std::string advertise_url;
  /// Authentication, authorization and the audit trail. Off (`--no-auth`): every request is
  /// "anonymous" and allowed, and nothing is audited: for tests and demos on loopback only.
  bool auth = true;
  /// The first admin's password (a file holding it, first line), used when the log has no
  /// user yet. Empty: a random one, printed once on stdout.
  std::string admin_password_file;
  /// Requests per second and burst per principal (0: unlimited).
  double rate_limit = 200;
  double rate_burst = 400;
  /// Requests per second and burst per address for requests without a valid token (public
  /// routes, refused tokens), checked before the token is (0: unlimited).
  double anonymous_rate_limit = 20;
  double anonymous_rate_burst = 200;
  /// How long an operation (VM start, migration, evacuation ...) may run before it fails
  /// with TIMED_OUT: every operation ends.
  std::chrono::seconds operation_timeout{600};
  /// Serve /metrics without a token (default: a token with read on the datacenter).
  bool metrics_public = false;
  /// HTTPS and WSS only (no plain HTTP on the port). The certificate and key are PEM files;
  /// left empty they are <data_dir>/tls/cert.pem and key.pem, made self-signed when absent.
  bool tls = false;
  std::string tls_cert_file;
  std::string tls_key_file;
  /// DRS and HA (docs/operations.md, "DRS and HA"): a heartbeat keeps a node alive for
  /// `ha_lease`; an agent whose lease lapsed stops its protected VMs within `ha_fence_bound`,
  /// so HA restarts them elsewhere only after lease + fence bound. DRS passes every
  /// `drs_interval`. With the hypervisor stand-in no host can fail: HA watches no lease.
  std::chrono::milliseconds ha_lease{15'000};
  std::chrono::milliseconds ha_fence_bound{10'000};
  std::chrono::milliseconds drs_interval{std::chrono::minutes{5}};
  /// The file system the log is written through. Default (null): the machine's. The
  /// power-loss test of the whole server puts a power_cut_fs here (tests/integration/api).
  std::shared_ptr<rocksdb::FileSystem> log_file_system;
  /// The built web console (scripts/build-console) served at /. Empty: none; `/` says how to
  /// get one. A folder without index.html fails the start when `console_required`, else `/`
  /// says what is wrong with it.
  std::string console_dir;
  bool console_required = false;
};

class server {
 public:
  /// Opens the data directory, replays the projections and starts listening.
  [[nodiscard]] static result<std::unique_ptr<server>> start(server_options opts);
  virtual ~server() = default;
  /// The port actually bound.
  [[nodiscard]] virtual std::uint16_t port() const = 0;
  /// With TLS, the certificate's public-key pin ("sha256:<hex>") agents check when they join;
  /// "" without TLS.
  [[nodiscard]] virtual std::string tls_pin() const = 0;
  /// Stops accepting, closes connections, stops the actors and closes the log.
  virtual void stop() = 0;
  /// Blocks until stop() (from another thread or a signal handler).
  virtual void wait() = 0;
};

} // namespace qx::api
