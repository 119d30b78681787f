#pragma once

// Every typed actor interface of the system, one line of comment per handler.

#include "qx/actors/aggregates.hpp"
#include "qx/actors/atoms.hpp"
#include "qx/actors/messages.hpp"

#include <qx/events/types.hpp>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace qx::agent::v1 {
class AgentFrame;
} // namespace qx::agent::v1
namespace qx::domain::agent_logic {
struct agent_command;
} // namespace qx::domain::agent_logic

namespace qx::actors {

class agent_link;

/// The answer of the event store to one append, delivered back to the aggregate.
struct append_done {
  std::uint64_t ticket = 0;
  result<events::append_result> outcome;
};

/// Counters of a directory.
struct directory_stats {
  std::uint64_t active = 0;       ///< Aggregates in memory now.
  std::uint64_t activations = 0;  ///< Aggregates loaded since start.
  std::uint64_t passivations = 0; ///< Aggregates stopped for idleness.
  std::uint64_t routed = 0;       ///< Messages routed.
};

/// One aggregate instance (a VM, a node, ...).
template<class A>
using aggregate_actor = caf::typed_actor<
    // Decide a command, append its events, apply them once durable, answer.
    typename caf::replies_to<command_request<A>>::template with<command_outcome>,
    // Answer the current state and version.
    typename caf::replies_to<get_atom>::template with<state_outcome<A>>,
    // The store finished an append this actor asked for (internal).
    caf::reacts_to<appended_atom, append_done>,
    // Check whether the actor has been idle long enough to passivate (internal).
    caf::reacts_to<idle_atom>>;

/// Routes by id to aggregate actors of one kind, activating and passivating them.
template<class A>
using directory_actor = caf::typed_actor<
    // Route a command to the aggregate named by its id.
    typename caf::replies_to<command_request<A>>::template with<command_outcome>,
    // Read the state of aggregate `id`.
    typename caf::replies_to<get_atom, std::string>::template with<state_outcome<A>>,
    // Aggregate `id`, having handled `n` messages, asks to stop; true when nothing is in flight.
    typename caf::replies_to<passivate_atom, std::string, std::uint64_t>::template with<bool>,
    // Counters.
    typename caf::replies_to<stats_atom>::template with<directory_stats>>;

/// The datacenter coordinator: the entry point for commands (see datacenter.hpp).
// clang-format off
using datacenter_actor = caf::typed_actor<
  // Start a VM with placement and a capacity reservation.
  caf::replies_to<start_vm>::with<placement_outcome>,
  // Migrate a VM with a reservation on the target.
  caf::replies_to<migrate_vm>::with<placement_outcome>,
  // Commands for one aggregate, with the cross-aggregate rules above applied.
  caf::replies_to<command_request<vm_aggregate>>::with<command_outcome>,
  caf::replies_to<command_request<node_aggregate>>::with<command_outcome>,
  caf::replies_to<command_request<cluster_aggregate>>::with<command_outcome>,
  caf::replies_to<command_request<storage_pool_aggregate>>::with<command_outcome>,
  caf::replies_to<command_request<volume_aggregate>>::with<command_outcome>,
  caf::replies_to<command_request<network_aggregate>>::with<command_outcome>,
  caf::replies_to<command_request<security_group_aggregate>>::with<command_outcome>,
  caf::replies_to<command_request<image_aggregate>>::with<command_outcome>,
  caf::replies_to<command_request<alert_aggregate>>::with<command_outcome>,
  caf::replies_to<command_request<user_aggregate>>::with<command_outcome>,
  caf::replies_to<command_request<role_aggregate>>::with<command_outcome>>;
// clang-format on

/// The control plane's side of one node agent's session (see node_proxy.hpp).
// clang-format off
using node_proxy_actor = caf::typed_actor<
  // Session `epoch` opened: close the session it replaces, welcome the agent, record the node connected.
  caf::reacts_to<attach_atom, std::shared_ptr<agent_link>, std::uint64_t>,
  // A frame the agent sent on session `epoch`; ignored unless that session is the live one.
  caf::reacts_to<frame_atom, std::uint64_t, agent::v1::AgentFrame>,
  // Session `epoch` ended (why); unless it is the live one, nothing changes.
  caf::reacts_to<closed_atom, std::uint64_t, std::string>,
  // The node is now in cluster `id` ("" for none): tell the live session.
  caf::reacts_to<membership_atom, std::string>,
  // Send a command to the live session, numbered and stamped with its epoch (none live: dropped).
  caf::reacts_to<domain::agent_logic::agent_command>>;
// clang-format on

} // namespace qx::actors
