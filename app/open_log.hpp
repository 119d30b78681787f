#pragma once

// Opening the event log for the offline tools (`qvdc log`, `qvdc replay`).

#include <qx/events/event_store.hpp>

#include <memory>
#include <string>

namespace qx::app {

/// The log in `data_dir` (or, read-only, in `data_dir`/log: a `qvdc serve` data directory).
/// Read-only opens refuse a missing folder (404 naming data-dir)
/// rather than create an empty log, and can run beside a serving qvdc. `verify_tail`: check
/// the newest records' chain while opening (the verifier turns it off to report on a damaged
/// log itself).
[[nodiscard]] result<std::unique_ptr<events::event_store>>
open_log(const std::string& data_dir, bool read_only, bool verify_tail);

} // namespace qx::app
