#pragma once

// The VM aggregate: its commands, events, decide() and evolve().
//
// Power states and the legal moves (anything else is refused with INVALID_POWER_STATE):
//   (none)   --create-->            defined
//   defined|stopped --start(node)--> starting --confirm_running--> running
//   running  --stop-->               stopping --confirm_stopped--> stopped
//   starting|running|paused|stopping|migrating|error --force_stop--> stopped
//   running  --pause--> paused --resume--> running;  running --reboot--> running
//   running  --migrate(target)--> migrating --complete_migration--> running (on target)
//                                           --fail_migration-->     running (on source)
//   any but deleted --mark_error--> error (power::in_error)
//   defined|stopped|error --remove--> deleted
// Snapshots: created in defined, running, paused, stopped; reverted only when stopped or
// defined; deleted any time but deleted.

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/vm.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <string>
#include <variant>

namespace qx::domain::vm {

namespace power {
inline constexpr const char* defined = "defined";
inline constexpr const char* starting = "starting";
inline constexpr const char* running = "running";
inline constexpr const char* paused = "paused";
inline constexpr const char* stopping = "stopping";
inline constexpr const char* stopped = "stopped";
inline constexpr const char* migrating = "migrating";
inline constexpr const char* in_error = "error";
inline constexpr const char* deleted = "deleted";
} // namespace power

using state = snapshots::v1::VmState;

struct create {
  events::v1::VmSpec spec;
};
/// Power on at `node_id`, where placement has already reserved the capacity.
struct start {
  std::string node_id;
};
/// The hypervisor reports the VM running (after start or resume).
struct confirm_running {};
struct stop {};
/// The hypervisor reports the VM off (after stop).
struct confirm_stopped {};
struct force_stop {
  std::string reason;
};
struct pause {};
struct resume {};
struct reboot {};
struct migrate {
  std::string target_node_id;
};
struct complete_migration {};
struct fail_migration {
  std::string reason;
};
struct mark_error {
  std::string reason;
};
struct create_snapshot {
  std::string name;
  std::string description;
};
struct revert_snapshot {
  std::string name;
};
struct delete_snapshot {
  std::string name;
};
struct remove {};

using command = std::variant<create, start, confirm_running, stop, confirm_stopped, force_stop,
                             pause, resume, reboot, migrate, complete_migration, fail_migration,
                             mark_error, create_snapshot, revert_snapshot, delete_snapshot, remove>;

using event = std::variant<events::v1::VmCreated, events::v1::VmPowerStateChanged,
                           events::v1::VmRebooted, events::v1::VmMigrationStarted,
                           events::v1::VmMigrated, events::v1::VmMigrationFailed,
                           events::v1::VmSnapshotCreated, events::v1::VmSnapshotReverted,
                           events::v1::VmSnapshotDeleted, events::v1::VmDeleted>;

inline constexpr const char* kind = "vm";
inline constexpr const char* stream_prefix = "vm-";

/// A fresh state for VM `id` (not yet created).
[[nodiscard]] state initial(std::string_view id);

[[nodiscard]] decision<event> decide(const state& s, const command& c);

void evolve(state& s, const event& e);

/// The command's name, for logs and error details ("start", "migrate", ...).
[[nodiscard]] std::string_view name_of(const command& c);

/// Checks a VM spec: name, 1..512 vCPUs, 16 MiB..16 TiB memory, ids, priority 0..5.
[[nodiscard]] status validate_spec(const events::v1::VmSpec& spec);

} // namespace qx::domain::vm
