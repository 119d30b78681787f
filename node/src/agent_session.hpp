#pragma once

// The agent's side of its session with the control plane: one WebSocket to
// /api/v1/nodes/{id}/session, opened again with backoff whenever it drops. Up: Hello with
// every domain (after each Welcome, for reconciliation), heartbeats and telemetry on a timer,
// libvirt lifecycle events as they come, command results. Down: commands, run one at a time
// on a worker thread, each id once per epoch; a command of another epoch is dropped.

#include "qx/node/hypervisor.hpp"

#include <qx/base/error.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace qx::node {

struct session_settings {
  std::string control_plane_address; ///< http://host:port
  std::string node_id;
  std::string agent_key;
  std::string control_plane_cert_pin; ///< https: the key the control plane must present
  std::string libvirt_uri;
  std::string agent_version;
  std::string pools_root; ///< where pools without a path are created
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds max_backoff{5000};
  /// When the control plane stops acknowledging heartbeats for its lease (Welcome.lease_ms):
  /// "stop-vms" destroys the HA-protected domains (HA restarts them elsewhere after lease +
  /// fence bound); "none" leaves them running (a hardware watchdog's job then).
  std::string fence_action = "stop-vms";
  /// libvirt's test driver only: each VM's CPU demand from this file (telemetry.hpp).
  std::string test_demand_file;
};

struct session_state {
  bool connected = false;
  std::uint64_t epoch = 0;
  std::uint64_t commands_run = 0;
  std::uint64_t commands_dropped = 0; ///< stale epoch
  std::uint64_t reconnects = 0;
  std::string last_error;
  /// The cluster the control plane lists this node in, as its Welcome and Membership frames
  /// said (valid once `cluster_known`).
  std::string cluster_id;
  bool cluster_known = false;
  std::uint64_t fences = 0; ///< times the lease lapsed and the protected VMs were stopped
  std::int64_t last_fence_unix_ms = 0; ///< when the latest fence had stopped them (wall clock)
};

class agent_session {
 public:
  agent_session(hypervisor& hv, session_settings s);
  ~agent_session();
  agent_session(const agent_session&) = delete;
  agent_session& operator=(const agent_session&) = delete;
  agent_session(agent_session&&) = delete;
  agent_session& operator=(agent_session&&) = delete;

  /// Starts connecting (returns at once).
  void start();
  /// Tells the control plane the node leaves (when connected), closes, stops reconnecting.
  void leave(const std::string& reason);
  [[nodiscard]] session_state state() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace qx::node
