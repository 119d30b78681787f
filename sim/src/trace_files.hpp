#pragma once

// Which file of a `folder` workload each VM plays, chosen once when the scenario is read, so
// that a run never opens a file the scenario check did not see.

#include "qx/sim/scenario.hpp"

#include <qx/base/error.hpp>

#include <filesystem>

namespace qx::sim::detail {

/// Sets `workload.file` of every VM (and every VM an add_vm step adds) whose workload is a
/// folder. Refused, naming the VM's field ("vms[3].workload.path"): no file for the VM, or a
/// file that resolves outside `base` (a symlink pointing out of the scenario's folder).
[[nodiscard]] status assign_trace_files(scenario& s, const std::filesystem::path& base);

} // namespace qx::sim::detail
