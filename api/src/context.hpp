#pragma once

// What the handlers share: the actors (through the gateway), the read models, the log, the
// operations and the idempotency cache.

#include "access_control.hpp"
#include "agent_registry.hpp"
#include "audit_trail.hpp"
#include "blocking_pool.hpp"
#include "denial_ledger.hpp"
#include "gateway.hpp"
#include "idempotency.hpp"
#include "login_throttle.hpp"
#include "operations.hpp"
#include "render_cache.hpp"
#include "router.hpp"

#include <qx/events/event_store.hpp>
#include <qx/projections/host.hpp>
#include <qx/security/one_time_tokens.hpp>

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace qx::api {

struct api_context {
  api_context(gateway& g, projections::host& p, events::event_store& s, operations& o,
              idempotency_cache& i, std::size_t max)
      : gw(g), proj(p), store(s), ops(o), idempotency(i), max_in_flight(max) {}

  gateway& gw;
  projections::host& proj;
  events::event_store& store;
  operations& ops;
  idempotency_cache& idempotency;
  std::size_t max_in_flight = 4096;
  std::string images_dir;                ///< Where uploaded images are kept (<data dir>/images).
  agent_registry* agents = nullptr;      ///< The node agents' sessions.
  blocking_pool* blocking = nullptr;     ///< Where discovery waits for hosts.
  security::one_time_tokens node_tokens; ///< Tokens an operator gives a host to join.
  std::string advertise_url;             ///< This control plane's URL as the agents reach it.
  std::string tls_pin; ///< With TLS: the certificate's public-key pin agents check at join.
  render_cache renders;
  access_control* access = nullptr; ///< Authentication and authorization (never null in serve).
  blocking_pool* hashing = nullptr; ///< Where passwords are hashed and checked (bounded).
  login_throttle logins;
  rate_limiter rates{0, 0}; ///< Per principal; rate 0: unlimited.
  /// Per address, for requests without a valid token (public routes, 401s); 0: unlimited.
  rate_limiter anonymous_rates{0, 0};
  denial_ledger denials;       ///< Anonymous refusals, audited per source and window.
  bool metrics_public = false; ///< /metrics without a token (--metrics-public).
  audit_trail audit;           ///< The audit read model (GET /api/v1/audit).
  std::atomic<std::size_t> in_flight{0};
  /// Set when the server stops: requests still arriving on open connections are answered
  /// 503 at once, so the actors can drain instead of taking new work (a stop under load).
  std::atomic<bool> stopping{false};
};

/// What the audit record of a request says besides its outcome.
struct audit_info {
  std::string principal;
  std::string remote;
  std::string method;
  std::string path;
  std::string object;
  std::string action;
  std::string request_id;
  std::string privilege;
};

/// Authentication, authorization and the rate limit of `req` on route `pattern`: the refusal
/// to send (401, 403, 429), or nullopt with req.principal/user/token_id set. Fills `info`
/// for the audit record either way. Always nullopt when authentication is off.
[[nodiscard]] std::optional<http_response> gate(api_context& ctx, http_request& req,
                                                const std::string& pattern,
                                                const path_params& params, audit_info& info);

/// Appends the audit record of `resp` to the log's "audit" stream, then sends it: the trail
/// holds the request before its answer leaves (a failed append is logged; the answer still
/// goes out, since what it reports has happened).
void audit_then(api_context& ctx, const audit_info& info, http_response resp,
                std::function<void(http_response)> send);

/// Appends the aggregated records of anonymous refusals in `due`; `done` (may be empty) runs
/// once they are durable.
void record_denials(api_context& ctx, std::vector<denial_record> due,
                    std::function<void()> done = {});

/// Answers `req`: routing (404/405), the checks every route shares (readiness 503, content
/// type 415, in-flight cap 429, Idempotency-Key replay), then the handler. `respond` gets the
/// response and the route's pattern (for metrics; "unmatched" when none).
void dispatch(api_context& ctx, const class router& routes, http_request req,
              std::function<void(http_response, const std::string& route)> respond);

} // namespace qx::api
