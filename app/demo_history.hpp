#pragma once

#include <qx/events/event_store.hpp>

namespace qx::app {

/// Appends a small datacenter's history (a cluster, three hosts, a pool, VMs powered on) so a
/// new user has a log to look at. Idempotent: every append carries a fixed command id.
[[nodiscard]] status append_demo_history(events::event_store& store);

} // namespace qx::app
