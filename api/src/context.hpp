#pragma once

// What the handlers share: the actors (through the gateway), the read models, the log, the
// operations and the idempotency cache.

#include "agent_registry.hpp"
#include "blocking_pool.hpp"
#include "gateway.hpp"
#include "idempotency.hpp"
#include "operations.hpp"
#include "render_cache.hpp"

#include <qx/events/event_store.hpp>
#include <qx/projections/host.hpp>
#include <qx/security/one_time_tokens.hpp>

#include <atomic>
#include <cstddef>
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
  render_cache renders;
  std::atomic<std::size_t> in_flight{0};
};

/// Answers `req`: routing (404/405), the checks every route shares (readiness 503, content
/// type 415, in-flight cap 429, Idempotency-Key replay), then the handler. `respond` gets the
/// response and the route's pattern (for metrics; "unmatched" when none).
void dispatch(api_context& ctx, const class router& routes, http_request req,
              std::function<void(http_response, const std::string& route)> respond);

} // namespace qx::api
