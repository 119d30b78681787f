#pragma once

#include <caf/atom.hpp>

namespace qx::actors {

using get_atom = caf::atom_constant<caf::atom("get")>;             ///< read state
using appended_atom = caf::atom_constant<caf::atom("appended")>;   ///< an append finished
using idle_atom = caf::atom_constant<caf::atom("idle")>;           ///< passivation check
using passivate_atom = caf::atom_constant<caf::atom("passivate")>; ///< ask to stop when idle
using stats_atom = caf::atom_constant<caf::atom("stats")>;         ///< counters

} // namespace qx::actors
