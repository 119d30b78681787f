#pragma once

// What the HTTP layer shares (dispatch, the gate, the audit of requests, the transport): the
// checks every route passes, the counters of work in flight, and the parts the server owns
// and lends to the handler groups. A handler never sees this: the router hands it its group's
// context (handler_contexts.hpp).

#include "denial_ledger.hpp"
#include "handler_contexts.hpp"
#include "idempotency.hpp"
#include "router.hpp"

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace qx::api {

struct api_context {
  struct parts {
    gateway& gw;
    projections::host& proj;
    events::event_store& store;
    operations& ops;
    idempotency_cache& idempotency;
    access_control& access;
    agent_registry& agents;
    blocking_pool& blocking;
    blocking_pool& hashing;
    std::string images_dir;
    std::size_t max_in_flight = 4096;
  };
  explicit api_context(parts p)
      : proj(p.proj), store(p.store), ops(p.ops), idempotency(p.idempotency), access(&p.access),
        max_in_flight(p.max_in_flight), resources{p.gw, p.proj, p.store, p.ops, renders},
        agent_handlers{resources, p.agents, p.blocking, node_tokens},
        access_handlers{resources, p.access, p.hashing, logins, audit},
        image_handlers{resources, std::move(p.images_dir)} {}

  projections::host& proj;
  events::event_store& store;
  operations& ops;
  idempotency_cache& idempotency;
  access_control* access = nullptr; ///< Authentication and authorization (never null in serve).
  std::size_t max_in_flight = 4096;
  render_cache renders;
  login_throttle logins;
  security::one_time_tokens node_tokens; ///< Tokens an operator gives a host to join.
  audit_trail audit;                     ///< The audit read model (GET /api/v1/audit).
  rate_limiter rates{0, 0};              ///< Per principal; rate 0: unlimited.
  /// Per address, for requests without a valid token (public routes, 401s); 0: unlimited.
  rate_limiter anonymous_rates{0, 0};
  denial_ledger denials;       ///< Anonymous refusals, audited per source and window.
  bool metrics_public = false; ///< /metrics without a token (--metrics-public).
  std::atomic<std::size_t> in_flight{0};
  /// Set when the server stops: requests still arriving on open connections are answered
  /// 503 at once, so the actors can drain instead of taking new work (a stop under load).
  std::atomic<bool> stopping{false};

  // The handler groups' contexts (handler_contexts.hpp), lent to the router's handlers.
  resource_context resources;
  agent_context agent_handlers;
  access_context access_handlers;
  image_context image_handlers;
  [[nodiscard]] route_groups groups() {
    return {&resources, &agent_handlers, &access_handlers, &image_handlers};
  }
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
