#pragma once

#include "qx/base/clock.hpp"
#include "qx/events/event_store.hpp"

#include <memory>

namespace qx::events {

struct memory_store_options {
  /// Commit time source; the simulator passes its virtual clock. Default: the wall clock.
  clock* time_source = nullptr;
  append_limits limits;
};

/// The event log in memory, for the simulator and tests. Same contract as the RocksDB store
/// and the same record bytes (hash chain included); appends complete before append_async
/// returns, so a single-threaded caller sees a deterministic order.
[[nodiscard]] std::unique_ptr<event_store> make_memory_store(memory_store_options opts = {});

} // namespace qx::events
