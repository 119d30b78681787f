#pragma once

// The directory of one aggregate kind: routes commands by id, activates an aggregate on first
// use (its snapshot, then the events after it) and passivates aggregates idle for a while.

#include "qx/actors/actors.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <cstdint>

namespace qx::events {
class event_store;
} // namespace qx::events

namespace qx::actors {

struct directory_config {
  /// An aggregate with no message for this long is stopped; the next message reloads it.
  /// Default 5 minutes.
  caf::timespan idle_timeout = std::chrono::minutes{5};
  /// An aggregate saves a snapshot after this many of its events. Default 64; 0 disables.
  std::uint64_t snapshot_every = 64;
};

/// Checks the configuration; names the field at fault.
[[nodiscard]] status validate(const directory_config& cfg);

/// Spawns the directory for aggregate type `A` over `store`, which must outlive it. Its
/// aggregates are linked to it: sending it an exit message stops them all.
template<class A>
[[nodiscard]] directory_actor<A> spawn_directory(caf::actor_system& sys, events::event_store& store,
                                                 directory_config cfg = {});

} // namespace qx::actors
