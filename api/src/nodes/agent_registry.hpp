#pragma once

// The API's side of the node agents' sessions: the adapter between the WebSocket transport
// (api/src/transport/agent_session_ws.hpp) and the node proxy actors (qx/actors/node_proxy.hpp,
// one per node, which hold the session logic). It numbers sessions (epochs), decodes the
// agent's frames, spawns the proxies and gives them what they need from the API: the gateway
// for their records, the inventory for what they read, and a status board that it renders as
// JSON for GET /api/v1/nodes/{id}/agent. It also turns the log's events into commands for the
// agents (what to send is domain/agent_logic's) and routes them to the nodes' proxies. CAF
// stays in agent_registry.cpp; the WebSocket (Beast) in net_server.cpp behind agent_link.

#include "gateway.hpp"

#include <qx/actors/agent_link.hpp>
#include <qx/events/types.hpp>
#include <qx/projections/inventory.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace caf {
class actor_system;
}

namespace qx::api {

/// One open session, as its node proxy sees it (the transport implements it).
using actors::agent_link;

class agent_registry {
 public:
  agent_registry(caf::actor_system& sys, gateway& gw, const projections::inventory& inv);
  ~agent_registry();
  agent_registry(const agent_registry&) = delete;
  agent_registry& operator=(const agent_registry&) = delete;

  /// A session of `node_id` opened: answers its epoch (greater than any before it). The proxy
  /// welcomes the agent, closes the node's previous session and records the node connected.
  std::uint64_t attach(const std::string& node_id, std::shared_ptr<agent_link> link);
  /// A binary message from the session of `epoch`: an agent::v1::AgentFrame, handed to the
  /// proxy decoded (one that does not parse is logged and dropped).
  void frame(const std::string& node_id, std::uint64_t epoch, std::string bytes);
  /// The session of `epoch` ended (a newer one may already be live).
  void closed(const std::string& node_id, std::uint64_t epoch, const std::string& why);
  /// After the read models applied `e` (live, not during replay): commands for the agents.
  void on_event(const events::recorded_event& e);
  /// The node's session and latest telemetry as JSON; null when it never connected.
  [[nodiscard]] nlohmann::json status(const std::string& node_id) const;
  /// Nodes with a live session.
  [[nodiscard]] std::size_t connected() const;
  /// Stops the proxies (before the actor system goes).
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace qx::api
