#pragma once

// What a node's agent must do, and what the log must say, given what happened: pure functions
// over the log's events, the inventory's states and the agent's reports, so that the node
// proxy actor (qx/actors/node_proxy.hpp) stays plumbing and this is tested without threads or
// sockets. The simulator reconciles its simulated agents with the same functions.

#include "qx/actors/domain/node.hpp"
#include "qx/actors/domain/vm.hpp"
#include <qx/agent/v1/session.pb.h>
#include <qx/events/types.hpp>
#include <qx/snapshots/v1/state.pb.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace qx::domain::agent_logic {

/// The disks of a VM as the agent needs them (volume → pool and size); a volume the
/// inventory does not know is left out.
using volume_lookup =
    std::function<std::optional<snapshots::v1::VolumeState>(const std::string& volume_id)>;

/// A command for a node's agent, with the VM it concerns ("" for none) and its kind, which says
/// what a failure of it means: "start", "resend", "migrate", a DomainAction's action
/// ("shutdown", "destroy", ...), or "infrastructure".
struct agent_command {
  agent::v1::Command command;
  std::string vm_id;
  std::string kind;
};

/// A record for a VM aggregate decided from what an agent reported: the command, the version
/// it was decided on (nullopt: whatever the version), and the causation to record.
struct vm_record {
  std::string vm_id;
  domain::vm::command command;
  std::optional<std::uint64_t> version;
  std::string cause;
};

/// The libvirt URI of a node's host as its agent last said it ("" when unknown).
using uri_lookup = std::function<std::string(const std::string& node_id)>;

/// The command that brings libvirt to the VM's new recorded state after `e` (a VM event), for
/// the node the VM is on: define-and-start, shutdown, destroy, suspend, resume, reboot,
/// undefine. `vm` is the VM's state after the event. nullopt: nothing to do on a host.
[[nodiscard]] std::optional<agent::v1::Command> command_after(const events::recorded_event& e,
                                                              const snapshots::v1::VmState& vm,
                                                              const volume_lookup& volumes);

/// What a failure of `c` means: "start" for a define-and-start, "migrate" for a migration, a
/// DomainAction's action, else "infrastructure".
[[nodiscard]] std::string kind_of(const agent::v1::Command& c);

/// The command for the VM's node after VM event `e` (command_after, and live migration to the
/// target's URI from `uris` on VmMigrationStarted), with its kind. `vm` is the VM's state
/// after the event.
[[nodiscard]] std::optional<agent_command> for_vm_event(const events::recorded_event& e,
                                                        const snapshots::v1::VmState& vm,
                                                        const volume_lookup& volumes,
                                                        const uri_lookup& uris);

/// Text an agent reported (an error message), made fit for an event's reason, which the
/// domain checks as text: invalid UTF-8 escaped, control characters (a multi-line libvirt
/// message) replaced by spaces, at most 900 bytes, cut on a character boundary.
[[nodiscard]] std::string reason_text(std::string_view text);

/// The define-and-start command of a VM.
[[nodiscard]] agent::v1::Command define_and_start(const snapshots::v1::VmState& vm,
                                                  const volume_lookup& volumes);

/// A VM as the read models hold it: its state and version.
struct vm_on_node {
  snapshots::v1::VmState state;
  std::uint64_t version = 0;
};

/// How a libvirt lifecycle event moves the VM aggregate, given its recorded power state.
/// Started while starting → confirm_running; stopped or crashed while stopping →
/// confirm_stopped; while running, paused or starting → force_stop (reason says the host
/// stopped it); suspended while running → pause; resumed while paused → resume.
[[nodiscard]] std::optional<domain::vm::command> follow(const agent::v1::DomainEvent& ev,
                                                        const std::string& power);

/// What to record after libvirt on node `node_id` reported `ev` about VM `vm` (its recorded
/// state; nullopt when the log does not know it): follow(), under the causation
/// "libvirt:<kind>:<detail>". Nothing for a domain that is not a VM of the log on that node
/// (one defined by hand, or a VM that moved away).
[[nodiscard]] std::optional<vm_record> after_domain_event(const std::string& node_id,
                                                          const agent::v1::DomainEvent& ev,
                                                          const std::optional<vm_on_node>& vm);

/// What to record after the agent answered `res` to a command about VM `vm_id` ("" for none)
/// of kind `kind` (agent_command); `vm` is the VM's recorded state now (nullopt when the log
/// does not know it). A migration that succeeded completes it; a start (or its resend) that
/// failed while the VM is still starting records it stopped (START_FAILED); a migration that
/// failed while migrating records it failed. Causation "agent-result".
[[nodiscard]] std::optional<vm_record> after_result(const std::string& vm_id,
                                                    const std::string& kind,
                                                    const agent::v1::CommandResult& res,
                                                    const std::optional<vm_on_node>& vm);

/// The node record when its agent says it leaves: disconnected, reason "LEFT: <reason>".
[[nodiscard]] domain::node::command after_leaving(const agent::v1::Leaving& leaving);

/// The node record when its live session ends for `why`: disconnected, reason
/// "AGENT_SESSION_CLOSED: <why>".
[[nodiscard]] domain::node::command after_session_closed(const std::string& why);

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

/// What the read models hold that a host may need.
struct infrastructure {
  std::vector<snapshots::v1::StoragePoolState> pools;
  std::vector<snapshots::v1::VolumeState> volumes;
  std::vector<snapshots::v1::NetworkState> networks;
};

/// The commands that give node `node_id` the pools assigned to it, the volumes of those pools
/// and every network, in that order (pools before their volumes), kind "infrastructure".
[[nodiscard]] std::vector<agent_command> infrastructure_for(const std::string& node_id,
                                                            const infrastructure& known);

/// The command that removes a volume from a host.
[[nodiscard]] agent::v1::Command delete_volume(const std::string& pool_id,
                                               const std::string& volume_id);

/// Whether a DomainReport/DomainEvent state means the domain is off.
[[nodiscard]] bool is_off(const std::string& libvirt_state);

} // namespace qx::domain::agent_logic
