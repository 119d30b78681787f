#pragma once

#include <caf/atom.hpp>

namespace qx::actors {

using get_atom = caf::atom_constant<caf::atom("get")>;             ///< read state
using appended_atom = caf::atom_constant<caf::atom("appended")>;   ///< an append finished
using idle_atom = caf::atom_constant<caf::atom("idle")>;           ///< passivation check
using passivate_atom = caf::atom_constant<caf::atom("passivate")>; ///< ask to stop when idle
using stats_atom = caf::atom_constant<caf::atom("stats")>;         ///< counters
using attach_atom = caf::atom_constant<caf::atom("attach")>;       ///< an agent session opened
using frame_atom = caf::atom_constant<caf::atom("frame")>;         ///< a frame from an agent
using closed_atom = caf::atom_constant<caf::atom("closed")>;       ///< an agent session ended
using membership_atom = caf::atom_constant<caf::atom("member")>;   ///< a node's cluster changed

} // namespace qx::actors
