#pragma once

// Which node agents an event of the log concerns, and what each must be told: the VM's node
// (or, once it stopped, the node it last ran on, where libvirt still defines it), a pool's
// nodes for its volumes, the node a pool was assigned to, every node with a session for a new
// network, and a node's new cluster after it joined or left one. Pure: the node proxies'
// owner (qx/actors/agent_hub.hpp) reads the read models through `routing_reads` and delivers
// what `route` answers.

#include "qx/actors/domain/agent_logic.hpp"

#include <qx/events/types.hpp>
#include <qx/snapshots/v1/state.pb.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qx::domain::agent_logic {

/// What routing reads of the read models after the event was applied. Deleted records are
/// answered too (a deleted VM or volume must still be removed from its host).
struct routing_reads {
  std::function<std::optional<snapshots::v1::VmState>(const std::string& vm_id)> vm;
  std::function<std::optional<snapshots::v1::VolumeState>(const std::string& volume_id)> volume;
  std::function<std::optional<snapshots::v1::StoragePoolState>(const std::string& pool_id)> pool;
  /// The cluster a node is in ("" for none, or an unknown node).
  std::function<std::string(const std::string& node_id)> cluster_of;
  /// A VM's disks as define-and-start needs them (live volumes only).
  volume_lookup live_volumes;
  /// A migration's destination.
  uri_lookup libvirt_uris;
  /// The nodes that have a proxy (a session now or before): a new network goes to each.
  std::function<std::vector<std::string>()> nodes;
};

/// A command for one node's agent.
struct addressed_command {
  std::string node_id;
  agent_command command;
};

/// A node's cluster changed: its agent is told (its own status names that cluster).
struct membership_change {
  std::string node_id;
  std::string cluster_id;
};

/// What one event means for the agents.
struct routed {
  std::vector<addressed_command> commands;
  std::optional<membership_change> membership;
};

/// Routes the log's events in order. It remembers the node each VM last ran on, so that it
/// must see every VM event after it was made (live, after the read models applied it).
class event_router {
 public:
  [[nodiscard]] routed route(const events::recorded_event& e, const routing_reads& reads);

 private:
  routed route_vm(const events::recorded_event& e, const std::string& vm_id,
                  const routing_reads& reads);

  std::map<std::string, std::string> last_node_; ///< VM id → the node it last ran on
};

} // namespace qx::domain::agent_logic
