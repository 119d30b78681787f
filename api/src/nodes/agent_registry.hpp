#pragma once

// The API's side of the node agents' sessions: the adapter between the WebSocket transport
// (api/src/transport/agent_session_ws.hpp) and the agent hub (qx/actors/agent_hub.hpp), which
// owns the node proxies, numbers the sessions and routes the log's events to them. Here: the
// agent's frames decoded (one that does not parse is logged and dropped), the hub's
// dependencies implemented with the API's parts (the gateway for records, the inventory for
// what the proxies read), and a node's status rendered as the JSON of
// GET /api/v1/nodes/{id}/agent.

#include "gateway.hpp"

#include <qx/actors/agent_hub.hpp>
#include <qx/actors/agent_link.hpp>
#include <qx/events/types.hpp>
#include <qx/projections/inventory.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace qx::api {

/// One open session, as its node proxy sees it (the transport implements it).
using actors::agent_link;

class agent_registry {
 public:
  /// Heartbeats and telemetry go to `signals` (the DRS and HA reactors) when set; agents are
  /// given HA's `lease` to fence themselves by (0: never).
  agent_registry(caf::actor_system& sys, gateway& gw, const projections::inventory& inv,
                 std::shared_ptr<actors::host_signals> signals = {},
                 std::chrono::milliseconds lease = std::chrono::milliseconds{0});

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
  /// Every node's session counters (for the metrics).
  [[nodiscard]] std::vector<std::pair<std::string, actors::agent_status>> statuses() const;
  /// Stops the proxies (before the actor system goes).
  void stop();

 private:
  actors::agent_hub hub_;
};

} // namespace qx::api
