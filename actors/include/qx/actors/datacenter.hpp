#pragma once

// The datacenter: the one entry point for commands, holding the rules that span aggregates.
// Each such rule is a short saga of single-aggregate commands, never a distributed lock:
//
// - start a VM: placement reads the VM, its volumes' pools and the candidate nodes, picks a
//   node, *reserves* capacity on the node aggregate (which refuses what does not fit, so two
//   concurrent starts cannot both take the last slot), then records the VM's start; if the
//   VM refuses, the reservation is released.
// - a VM that stops (stop confirmed, forced off, deleted) releases its node's reservation;
//   migration reserves on the target first and releases the side it leaves.
// - a node joins a cluster first on the node aggregate (at most one cluster), then on the
//   cluster; if the cluster refuses, the node leaves again.
// - a volume takes space on its pool before it is created; it gives it back when deleted.
// - a pool is assigned only to a registered node.
//
// Between two steps another command may interleave; every step re-checks its own
// invariant, so the worst case is a refused command and a released reservation, never an
// overcommitted node.

#include "qx/actors/actors.hpp"
#include "qx/actors/aggregates.hpp"
#include "qx/actors/directory.hpp"
#include "qx/actors/message_types.hpp"

#include <caf/fwd.hpp>

#include <set>
#include <string>

namespace qx::actors {

/// The directories (for reads) and the coordinator (for commands).
struct datacenter {
  datacenter_actor coordinator;
  directory_actor<vm_aggregate> vms;
  directory_actor<node_aggregate> nodes;
  directory_actor<cluster_aggregate> clusters;
  directory_actor<storage_pool_aggregate> pools;
  directory_actor<volume_aggregate> volumes;
  directory_actor<network_aggregate> networks;
  directory_actor<security_group_aggregate> security_groups;
  directory_actor<image_aggregate> images;
  directory_actor<alert_aggregate> alerts;
  directory_actor<user_aggregate> users;
  directory_actor<role_aggregate> roles;
};

/// Spawns every directory and the coordinator over `store`. The coordinator learns the
/// registered nodes from the log once (a scan of node registrations), then from the
/// registrations it routes. Stop everything with `shutdown`.
[[nodiscard]] result<datacenter>
spawn_datacenter(caf::actor_system& sys, events::event_store& store, directory_config cfg = {});

/// Sends an exit message to the coordinator and every directory (and so every aggregate).
void shutdown(const datacenter& dc);

} // namespace qx::actors
