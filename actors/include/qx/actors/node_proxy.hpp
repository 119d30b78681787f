#pragma once

// The node proxy: the control plane's side of one node agent's session, one actor per node
// (interface `node_proxy_actor` in actors.hpp). It
// - numbers nothing itself: whoever accepts sessions gives each an epoch greater than any
//   before it; the proxy keeps the live one, closes the one a newer session replaces (never
//   two live sessions per node), and ignores frames and closes of any other epoch;
// - sends the agent commands (ids unique per node, stamped with the epoch) and forgets those
//   of a session that ended: the reconciliation after the next connect derives them again;
// - records what the agent reports (libvirt events, command results, a Hello's domains, its
//   leaving) under the principal "agent:<node id>", and the node connected or disconnected;
// - publishes the session's counters and the agent's latest host facts, heartbeat and
//   telemetry on a status board.
// What to send and what to record is decided by domain/agent_logic (pure); the proxy is the
// plumbing. It knows nothing of HTTP or the read models: its dependencies are the interfaces
// below, which the API implements (api/src/nodes/agent_registry.cpp) and tests fake. The agent
// hub (agent_hub.hpp) spawns one per node and routes the log's events to it.

#include "qx/actors/actors.hpp"
#include "qx/actors/agent_link.hpp"
#include "qx/actors/aggregates.hpp"
#include "qx/actors/domain/agent_logic.hpp"
#include "qx/actors/messages.hpp"

#include <qx/agent/v1/session.pb.h>

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qx::actors {

/// Where the proxy's records go: commands for the VM and node aggregates, answered once
/// through `k` (on any thread; the proxy's continuations touch no actor state).
class command_sink {
 public:
  virtual ~command_sink() = default;
  command_sink() = default;
  command_sink(const command_sink&) = delete;
  command_sink& operator=(const command_sink&) = delete;
  command_sink(command_sink&&) = delete;
  command_sink& operator=(command_sink&&) = delete;
  virtual void send(command_request<vm_aggregate> req, std::function<void(command_outcome)> k) = 0;
  virtual void send(command_request<node_aggregate> req,
                    std::function<void(command_outcome)> k) = 0;
};

/// What the proxy reads of the read models. Called from the proxy's thread: thread-safe.
class agent_view {
 public:
  virtual ~agent_view() = default;
  agent_view() = default;
  agent_view(const agent_view&) = delete;
  agent_view& operator=(const agent_view&) = delete;
  agent_view(agent_view&&) = delete;
  agent_view& operator=(agent_view&&) = delete;
  /// The cluster node `node_id` is in ("" for none, or an unknown node).
  [[nodiscard]] virtual std::string cluster_of(const std::string& node_id) const = 0;
  /// VM `vm_id`'s state and version; nullopt when unknown or deleted.
  [[nodiscard]] virtual std::optional<domain::agent_logic::vm_on_node>
  vm(const std::string& vm_id) const = 0;
  /// The VMs the log places on node `node_id`.
  [[nodiscard]] virtual std::vector<domain::agent_logic::vm_on_node>
  vms_on(const std::string& node_id) const = 0;
  /// Volume `volume_id`; nullopt when unknown or deleted.
  [[nodiscard]] virtual std::optional<snapshots::v1::VolumeState>
  volume(const std::string& volume_id) const = 0;
  /// The pools, volumes and networks a host may need.
  [[nodiscard]] virtual domain::agent_logic::infrastructure infrastructure() const = 0;
  /// For routing the log's events (agent_hub): the last state of a VM, volume or pool, deleted
  /// ones included; nullopt when never made.
  [[nodiscard]] virtual std::optional<snapshots::v1::VmState>
  vm_even_deleted(const std::string& vm_id) const = 0;
  [[nodiscard]] virtual std::optional<snapshots::v1::VolumeState>
  volume_even_deleted(const std::string& volume_id) const = 0;
  [[nodiscard]] virtual std::optional<snapshots::v1::StoragePoolState>
  pool_even_deleted(const std::string& pool_id) const = 0;
};

/// A node's session and what its agent last said, as the proxy publishes it.
struct agent_status {
  bool connected = false;             ///< A session is live.
  std::uint64_t epoch = 0;            ///< The latest session's epoch.
  std::uint64_t frames_in = 0;        ///< Frames handled from live sessions.
  std::uint64_t commands_sent = 0;    ///< Commands sent to the agent.
  std::uint64_t commands_pending = 0; ///< Sent on the live session, not answered yet.
  std::uint64_t command_failures = 0; ///< Commands the agent answered with a failure.
  /// From the latest Hello: the host's facts and how many domains libvirt listed.
  std::optional<agent::v1::HostFacts> host;
  std::uint64_t domains = 0;
  std::optional<agent::v1::Heartbeat> heartbeat; ///< The latest heartbeat.
  std::optional<agent::v1::Telemetry> telemetry; ///< The latest telemetry.
};

/// Where the proxy publishes its node's status after every change (called from the proxy's
/// thread; the board is read by others, so an implementation locks).
class status_board {
 public:
  virtual ~status_board() = default;
  status_board() = default;
  status_board(const status_board&) = delete;
  status_board& operator=(const status_board&) = delete;
  status_board(status_board&&) = delete;
  status_board& operator=(status_board&&) = delete;
  virtual void publish(const std::string& node_id, const agent_status& status) = 0;
};

/// Where the proxy passes what keeps HA and DRS informed (reactor_wiring.hpp implements it):
/// every heartbeat and Hello (the node is alive) and every telemetry sample. Called from the
/// proxy's thread.
class host_signals {
 public:
  virtual ~host_signals() = default;
  host_signals() = default;
  host_signals(const host_signals&) = delete;
  host_signals& operator=(const host_signals&) = delete;
  host_signals(host_signals&&) = delete;
  host_signals& operator=(host_signals&&) = delete;
  virtual void heard(const std::string& node_id) = 0;
  virtual void measured(const std::string& node_id, const agent::v1::Telemetry& t) = 0;
};

struct node_proxy_config {
  /// The node the proxy stands for. Required.
  std::string node_id;
  /// How often the agent is asked (in its Welcome) to send a heartbeat. Default 1 s.
  std::chrono::milliseconds heartbeat_interval{1000};
  /// HA's lease, told the agent in its Welcome: it fences itself when no heartbeat it sent in
  /// the last `lease` was acknowledged (the proxy acknowledges each). 0: it never fences.
  std::chrono::milliseconds lease{0};
};

/// Checks the configuration; names the field at fault.
[[nodiscard]] status validate(const node_proxy_config& cfg);

/// What the proxy works with; each must be set but `signals` (null: no reactors listen).
/// Shared: the proxy may outlive its spawner for the moment its exit takes.
struct node_proxy_dependencies {
  std::shared_ptr<command_sink> commands;
  std::shared_ptr<const agent_view> view;
  std::shared_ptr<status_board> board;
  std::shared_ptr<host_signals> signals{};
};

/// Spawns the proxy of `cfg.node_id`; an invalid configuration or a missing dependency
/// answers an error and spawns nothing. An exit message (anon_send_exit) stops it and closes
/// its live session.
[[nodiscard]] result<node_proxy_actor>
spawn_node_proxy(caf::actor_system& sys, node_proxy_config cfg, node_proxy_dependencies deps);

} // namespace qx::actors
