#pragma once

// The DRS and HA reactors as actors: thin shells around drs::controller and ha::controller.
// They are fed the log (events_atom, in order, by whoever follows the store: the server's
// subscription or the simulator), heartbeats and demand; they append their decisions to the
// log under their own principal and send commands to the datacenter coordinator like any
// client. Their timers run on the actor clock, so under CAF's deterministic scheduler they run
// on virtual time.

#include "qx/actors/actors.hpp"
#include "qx/actors/drs/controller.hpp"
#include "qx/actors/ha/controller.hpp"

#include <qx/events/event_store.hpp>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace qx::actors {

using events_atom = caf::atom_constant<caf::atom("events")>;       ///< log events, in order
using demand_atom = caf::atom_constant<caf::atom("demand")>;       ///< VM demand measures
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>; ///< nodes heard from now
using tick_atom = caf::atom_constant<caf::atom("tick")>;           ///< the reactor's timer
using what_if_atom = caf::atom_constant<caf::atom("whatif")>;      ///< DRS: plan, change nothing
using approve_atom = caf::atom_constant<caf::atom("approve")>;     ///< DRS: apply a recommendation
using reject_atom = caf::atom_constant<caf::atom("reject")>;       ///< DRS: drop a recommendation
using place_atom = caf::atom_constant<caf::atom("place")>;         ///< DRS: placement scope
using pending_atom = caf::atom_constant<caf::atom("pending")>;     ///< DRS: recommendations
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;   ///< HA: a host shut down
using maintenance_atom = caf::atom_constant<caf::atom("maint")>;   ///< DRS: evacuate a node
using admit_atom = caf::atom_constant<caf::atom("admit")>;         ///< HA: admission control
using live_atom = caf::atom_constant<caf::atom("live")>;           ///< the log is replayed: act
using status_atom = caf::atom_constant<caf::atom("status")>;       ///< a cluster's DRS / HA now

/// One VM's measured demand: vCPUs busy and memory touched.
struct vm_demand {
  std::string vm_id;
  double cpu = 0;
  double memory_mib = 0;
};

// clang-format off
using drs_actor = caf::typed_actor<
  // The store finished appending the records of decision `ticket` (internal).
  caf::reacts_to<appended_atom, std::uint64_t, status>,
  caf::reacts_to<events_atom, std::vector<events::recorded_event>>,
  caf::reacts_to<demand_atom, std::vector<vm_demand>>,
  caf::reacts_to<tick_atom>,
  caf::reacts_to<live_atom>,
  // (node, enable, principal): evacuate the node at once, then put it in maintenance; or end
  // its maintenance and bring its VMs back. Answered once the decision is durable; NODE_DOWN
  // for a node not connected.
  caf::replies_to<maintenance_atom, std::string, bool, std::string>::with<status>,
  // What DRS would do in a cluster now.
  caf::replies_to<what_if_atom, std::string>::with<domain::drs::pass>,
  // (cluster, recommendation id, principal): answered once the decision is durable.
  caf::replies_to<approve_atom, std::string, std::string, std::string>::with<status>,
  caf::replies_to<reject_atom, std::string, std::string, std::string>::with<status>,
  // (cluster, vm, node or ""): where the rules let the VM start or migrate; the caller sends
  // the start or migration with that scope to the coordinator.
  caf::replies_to<place_atom, std::string, std::string, std::string>::with<
      result<placement_scope>>,
  caf::replies_to<pending_atom, std::string>::with<std::vector<drs::recommendation>>,
  caf::replies_to<status_atom, std::string>::with<result<drs::cluster_status>>>;

using ha_actor = caf::typed_actor<
  caf::reacts_to<appended_atom, std::uint64_t, status>,
  caf::reacts_to<events_atom, std::vector<events::recorded_event>>,
  caf::reacts_to<heartbeat_atom, std::vector<std::string>>,
  caf::reacts_to<tick_atom>,
  caf::reacts_to<live_atom>,
  // A host is being shut down on purpose: answered once its policy's commands are sent.
  caf::replies_to<shutdown_atom, std::string>::with<bool>,
  // (cluster, vcpus, memory MiB): may this start go ahead under admission control?
  caf::replies_to<admit_atom, std::string, std::uint32_t, std::uint64_t>::with<bool>,
  caf::replies_to<status_atom, std::string>::with<result<ha::cluster_status>>>;
// clang-format on

/// The DRS reactor; a pass every `interval` on the actor clock, each published on `board`
/// when given.
[[nodiscard]] drs_actor spawn_drs(caf::actor_system& sys, events::event_store& store,
                                  datacenter_actor coordinator, drs::config cfg,
                                  std::chrono::milliseconds interval,
                                  std::shared_ptr<drs::stats_board> board = nullptr);

/// The HA reactor; a tick every `interval` on the actor clock.
[[nodiscard]] ha_actor spawn_ha(caf::actor_system& sys, events::event_store& store,
                                datacenter_actor coordinator, ha::config cfg,
                                std::chrono::milliseconds interval);

} // namespace qx::actors
