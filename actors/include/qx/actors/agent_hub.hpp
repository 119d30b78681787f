#pragma once

// The control plane's side of every node agent: one node proxy actor per node
// (qx/actors/node_proxy.hpp), spawned when the node's first session opens. The hub numbers
// sessions (epochs), hands each proxy its session's frames, routes the log's events to the
// nodes they concern (domain/agent_routing, pure) and keeps the status each proxy publishes.
// Whoever accepts sessions (the API's WebSocket adapter) and whoever reads the log (the
// server's subscription) call it from their own threads: it is thread-safe. It knows nothing
// of HTTP, WebSocket or the read models: those arrive as the interfaces in node_proxy.hpp.

#include "qx/actors/node_proxy.hpp"

#include <qx/events/types.hpp>

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qx::actors {

class agent_hub {
 public:
  /// `commands` and `view` must be set; the proxies use them (and the hub's status board),
  /// pass heartbeats and telemetry to `signals` when set, and give each agent HA's `lease`
  /// (node_proxy_config::lease; 0: agents never fence themselves).
  agent_hub(caf::actor_system& sys, std::shared_ptr<command_sink> commands,
            std::shared_ptr<const agent_view> view, std::shared_ptr<host_signals> signals = {},
            std::chrono::milliseconds lease = std::chrono::milliseconds{0});
  ~agent_hub();
  agent_hub(const agent_hub&) = delete;
  agent_hub& operator=(const agent_hub&) = delete;
  agent_hub(agent_hub&&) = delete;
  agent_hub& operator=(agent_hub&&) = delete;

  /// A session of `node_id` opened: answers its epoch, greater than any before it (in this
  /// process and, by the clock, in earlier ones). The proxy welcomes the agent, closes the
  /// node's previous session and records the node connected. After stop(), the session is
  /// closed at once.
  std::uint64_t attach(const std::string& node_id, std::shared_ptr<agent_link> link);
  /// A frame from the session of `epoch` (frames of any other session change nothing).
  void frame(const std::string& node_id, std::uint64_t epoch, agent::v1::AgentFrame f);
  /// The session of `epoch` ended (a newer one may already be live).
  void closed(const std::string& node_id, std::uint64_t epoch, const std::string& why);
  /// After the read models applied `e` (live, in log order): commands for the agents.
  void on_event(const events::recorded_event& e);

  /// What node `node_id`'s proxy last published; nullopt when it never had a session.
  [[nodiscard]] std::optional<agent_status> status(const std::string& node_id) const;
  /// Every node's status, by node id (for the metrics).
  [[nodiscard]] std::vector<std::pair<std::string, agent_status>> statuses() const;
  /// Nodes with a live session.
  [[nodiscard]] std::size_t connected() const;

  /// Stops the proxies (each closes its live session); call before the actor system goes.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace qx::actors
