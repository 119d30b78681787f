#pragma once

// What each group of handlers reaches: a resource handler the gateway, the read models, the
// log, the operations and the render cache; the agent, access and image handlers that and what
// only they need. The router hands each handler its group's context (router.hpp), so a handler
// cannot reach what its group does not declare here; the server (context.hpp) owns the parts.
// (route_groups, in router.hpp, points at one of each.)

#include "access_control.hpp"
#include "agent_registry.hpp"
#include "audit_trail.hpp"
#include "blocking_pool.hpp"
#include "gateway.hpp"
#include "login_throttle.hpp"
#include "operations.hpp"
#include "render_cache.hpp"

#include <qx/events/event_store.hpp>
#include <qx/projections/host.hpp>
#include <qx/security/one_time_tokens.hpp>

#include <string>

namespace qx::api {

/// Inventory resources (VMs, nodes, clusters, storage, networks, system routes).
struct resource_context {
  gateway& gw;
  projections::host& proj;
  events::event_store& store; ///< ?asOf= reads fold the log
  operations& ops;
  render_cache& renders;
};

/// Node agents: registration, join tokens, discovery.
struct agent_context : resource_context {
  agent_context(resource_context r, agent_registry& a, blocking_pool& b,
                security::one_time_tokens& t)
      : resource_context(r), agents(a), blocking(b), node_tokens(t) {}
  agent_registry& agents;                 ///< The node agents' sessions.
  blocking_pool& blocking;                ///< Where discovery waits for hosts (and replays run).
  security::one_time_tokens& node_tokens; ///< Tokens an operator gives a host to join.
  std::string advertise_url;              ///< This control plane's URL as the agents reach it.
  std::string tls_pin; ///< With TLS: the certificate's public-key pin agents check at join.
};

/// Users, roles, grants, tokens, login and the audit trail.
struct access_context : resource_context {
  access_context(resource_context r, access_control& a, blocking_pool& h, login_throttle& l,
                 audit_trail& t)
      : resource_context(r), access(a), hashing(h), logins(l), audit(t) {}
  access_control& access;
  blocking_pool& hashing; ///< Where passwords are hashed and checked (bounded).
  login_throttle& logins;
  audit_trail& audit; ///< The audit read model (GET /api/v1/audit).
};

/// Image uploads: the files go to `images_dir` (<data dir>/images).
struct image_context : resource_context {
  image_context(resource_context r, std::string dir)
      : resource_context(r), images_dir(std::move(dir)) {}
  std::string images_dir;
};

} // namespace qx::api
