#pragma once

// What a node's agent must do, and what the log must say, given what happened: pure functions
// over the log's events, the inventory's states and the agent's reports, so that the node
// proxy actor stays plumbing and this is tested without threads or sockets.

#include "qx/actors/domain/vm.hpp"
#include <qx/agent/v1/session.pb.h>
#include <qx/events/types.hpp>
#include <qx/snapshots/v1/state.pb.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace qx::domain::agent_logic {

/// The disks of a VM as the agent needs them (volume → pool and size); a volume the
/// inventory does not know is left out.
using volume_lookup =
    std::function<std::optional<snapshots::v1::VolumeState>(const std::string& volume_id)>;

/// The command that brings libvirt to the VM's new recorded state after `e` (a VM event), for
/// the node the VM is on: define-and-start, shutdown, destroy, suspend, resume, reboot,
/// undefine. `vm` is the VM's state after the event. nullopt: nothing to do on a host.
[[nodiscard]] std::optional<agent::v1::Command> command_after(const events::recorded_event& e,
                                                              const snapshots::v1::VmState& vm,
                                                              const volume_lookup& volumes);

/// Text an agent reported (an error message), made fit for an event's reason, which the
/// domain checks as text: invalid UTF-8 escaped, control characters (a multi-line libvirt
/// message) replaced by spaces, at most 900 bytes, cut on a character boundary.
[[nodiscard]] std::string reason_text(std::string_view text);

/// The define-and-start command of a VM.
[[nodiscard]] agent::v1::Command define_and_start(const snapshots::v1::VmState& vm,
                                                  const volume_lookup& volumes);

/// How a libvirt lifecycle event moves the VM aggregate, given its recorded power state.
/// Started while starting → confirm_running; stopped or crashed while stopping →
/// confirm_stopped; while running, paused or starting → force_stop (reason says the host
/// stopped it); suspended while running → pause; resumed while paused → resume.
[[nodiscard]] std::optional<domain::vm::command> follow(const agent::v1::DomainEvent& ev,
                                                        const std::string& power);

/// A VM the log places on the reconnected node.
struct vm_on_node {
  snapshots::v1::VmState state;
  std::uint64_t version = 0;
};

/// One step of reconciliation: a record to append (with the version it was decided on) and/or
/// a command to send again.
struct reconcile_step {
  std::string vm_id;
  std::uint64_t version = 0;
  std::optional<domain::vm::command> record;
  std::optional<agent::v1::Command> resend;
};

/// After a (re)connect: compares libvirt's domains (hello) with the VMs the log has on the
/// node. A VM recorded running or paused but off or absent on the host is recorded stopped
/// (FOUND_STOPPED); one caught starting is started again, or confirmed when the host runs it;
/// one caught stopping is confirmed stopped, or asked again to shut down.
[[nodiscard]] std::vector<reconcile_step> reconcile(const agent::v1::Hello& hello,
                                                    const std::vector<vm_on_node>& vms,
                                                    const volume_lookup& volumes);

/// The commands that give a host a pool (at settings["path"] when set), a volume of it, a
/// network (its bridge named from the id, at most 15 characters as Linux wants).
[[nodiscard]] agent::v1::Command create_pool(const snapshots::v1::StoragePoolState& pool);
[[nodiscard]] agent::v1::Command create_volume(const snapshots::v1::VolumeState& volume);
[[nodiscard]] agent::v1::Command create_network(const std::string& network_id,
                                                const std::string& cidr);

/// Whether a DomainReport/DomainEvent state means the domain is off.
[[nodiscard]] bool is_off(const std::string& libvirt_state);

} // namespace qx::domain::agent_logic
