#pragma once

// The control plane's side of the node agents' sessions. One node proxy actor per node stands
// for its session: it numbers sessions (epochs), closes an older session when a newer one
// opens (never two live sessions per node), turns the log's events into commands for the
// agent (ids unique per node, stamped with the epoch), records what the agent reports (libvirt
// events, command results, reconciliation after a reconnect) under the principal
// "agent:<node id>", and marks the node connected or disconnected. CAF stays in
// agent_registry.cpp; the WebSocket (Beast) stays in net_server.cpp behind agent_link.

#include "gateway.hpp"

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

/// One open session, as the proxy sees it: frames out, and a way to end it.
class agent_link {
 public:
  virtual ~agent_link() = default;
  agent_link() = default;
  agent_link(const agent_link&) = delete;
  agent_link& operator=(const agent_link&) = delete;
  agent_link(agent_link&&) = delete;
  agent_link& operator=(agent_link&&) = delete;
  /// Queues one binary message (a serialized ControlFrame).
  virtual void send(std::string bytes) = 0;
  virtual void close(const std::string& reason) = 0;
};

class agent_registry {
 public:
  agent_registry(caf::actor_system& sys, gateway& gw, const projections::inventory& inv);
  ~agent_registry();
  agent_registry(const agent_registry&) = delete;
  agent_registry& operator=(const agent_registry&) = delete;

  /// A session of `node_id` opened: answers its epoch (greater than any before it). The proxy
  /// welcomes the agent, closes the node's previous session and records the node connected.
  std::uint64_t attach(const std::string& node_id, std::shared_ptr<agent_link> link);
  /// A binary message from the session of `epoch`.
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
