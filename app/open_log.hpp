#pragma once

// Opening the event log for the offline tools (`qvdc log`, `qvdc replay`).

#include <qx/events/event_store.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace qx::app {

// Exit codes of the offline tools: 0 done, 1 the log is broken (`qvdc log verify` found a
// fault), 2 the command could not run (bad argument, no log, unknown stream).
inline constexpr int exit_ok = 0;
inline constexpr int exit_broken = 1;
inline constexpr int exit_failed = 2;

/// Prints "qvdc <tool>: <error>" on stderr; answers exit_failed.
int report_failure(std::string_view tool, const error& err);

/// The log in `data_dir` (or, read-only, in `data_dir`/log: a `qvdc serve` data directory).
/// Read-only opens refuse a missing folder (404 naming data-dir)
/// rather than create an empty log, and can run beside a serving qvdc. `verify_tail`: check
/// the newest records' chain while opening (the verifier turns it off to report on a damaged
/// log itself).
[[nodiscard]] result<std::unique_ptr<events::event_store>>
open_log(const std::string& data_dir, bool read_only, bool verify_tail);

} // namespace qx::app
