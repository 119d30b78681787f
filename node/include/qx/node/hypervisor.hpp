#pragma once

#include "qx/base/error.hpp"
#include "qx/node/subscription.hpp"
#include "qx/node/types.hpp"

#include <functional>
#include <string>
#include <vector>

namespace qx::node {

/// The side effect "a hypervisor host", kept close to libvirt's driver table so the libvirt
/// implementation stays a thin translation and a simulated host can stand in for it.
///
/// Every call answers a value or a qx::error, never throws:
/// - errc::invalid_argument: a malformed input; details["field"] names it ("id", "title",
///   "disks[0].path", ...). Nothing was changed.
/// - errc::not_found: the domain, pool, volume, network or snapshot does not exist.
/// - errc::already_exists: the thing to define exists already.
/// - errc::failed_precondition: not allowed in the current state; details["reason"] is a
///   stable token ("INVALID_POWER_STATE" with details["state"], "HAS_SNAPSHOTS",
///   "VOLUME_SHRINK_REFUSED", "INVALID_POOL_STATE", "INVALID_NETWORK_STATE", ...).
/// - errc::unavailable with details["reason"] = "NOT_SUPPORTED": this hypervisor cannot do it
///   (migration and volume resize with libvirt's test driver).
/// - errc::io_error: anything else the hypervisor reported.
/// Errors from libvirt keep libvirt's message text and carry details["libvirt_code"].
///
/// Implementations are safe to call from several threads.
class hypervisor {
 public:
  virtual ~hypervisor() = default;
  hypervisor() = default;
  hypervisor(const hypervisor&) = delete;
  hypervisor& operator=(const hypervisor&) = delete;
  hypervisor(hypervisor&&) = delete;
  hypervisor& operator=(hypervisor&&) = delete;

  // -- host -----------------------------------------------------------------------------------

  /// Hostname, CPUs, memory and versions of the host.
  [[nodiscard]] virtual result<host_info> host() = 0;

  // -- domains --------------------------------------------------------------------------------

  /// Defines a persistent domain (not started); already_exists if the id is taken.
  [[nodiscard]] virtual status define_domain(const domain_spec& spec) = 0;
  /// The persistent definition of a domain, read back from the hypervisor.
  [[nodiscard]] virtual result<domain_spec> describe_domain(const std::string& id) = 0;
  /// Boots a defined domain; failed_precondition INVALID_POWER_STATE if it is active.
  [[nodiscard]] virtual status start_domain(const std::string& id) = 0;
  /// Asks the guest to power off (ACPI); the domain may take time to stop.
  [[nodiscard]] virtual status shutdown_domain(const std::string& id) = 0;
  /// Powers off at once, like pulling the plug. The definition stays.
  [[nodiscard]] virtual status destroy_domain(const std::string& id) = 0;
  /// Asks the guest to reboot.
  [[nodiscard]] virtual status reboot_domain(const std::string& id) = 0;
  /// Pauses the vCPUs of a running domain.
  [[nodiscard]] virtual status suspend_domain(const std::string& id) = 0;
  /// Resumes a paused domain.
  [[nodiscard]] virtual status resume_domain(const std::string& id) = 0;
  /// Removes the definition (an active domain keeps running until it stops).
  [[nodiscard]] virtual status undefine_domain(const std::string& id,
                                               const undefine_options& options) = 0;
  /// The power state and its reason.
  [[nodiscard]] virtual result<domain_status> query_state(const std::string& id) = 0;
  /// CPU time, memory and vCPUs.
  [[nodiscard]] virtual result<domain_stats> query_stats(const std::string& id) = 0;
  /// All domains, active or defined, sorted by id.
  [[nodiscard]] virtual result<std::vector<domain_summary>> list_domains() = 0;
  /// Moves a running domain to the host at `destination_uri` (a libvirt URI such as
  /// "qemu+tls://node-2/system").
  [[nodiscard]] virtual status migrate_domain(const std::string& id,
                                              const std::string& destination_uri,
                                              const migrate_options& options) = 0;

  // -- snapshots ------------------------------------------------------------------------------

  [[nodiscard]] virtual status create_snapshot(const std::string& domain_id,
                                               const snapshot_spec& spec) = 0;
  /// The domain's snapshots, sorted by name.
  [[nodiscard]] virtual result<std::vector<snapshot_info>>
  list_snapshots(const std::string& domain_id) = 0;
  [[nodiscard]] virtual status revert_snapshot(const std::string& domain_id,
                                               const std::string& name) = 0;
  /// Deletes one snapshot; its children are re-parented.
  [[nodiscard]] virtual status delete_snapshot(const std::string& domain_id,
                                               const std::string& name) = 0;

  // -- storage --------------------------------------------------------------------------------

  /// Defines a directory pool, builds it (creates the folder) and starts it. On failure of a
  /// later step the definition is removed again.
  [[nodiscard]] virtual status define_pool(const pool_spec& spec) = 0;
  /// All pools, sorted by name.
  [[nodiscard]] virtual result<std::vector<pool_info>> list_pools() = 0;
  /// Stops a pool (its files stay).
  [[nodiscard]] virtual status destroy_pool(const std::string& name) = 0;
  /// Removes the definition of a stopped pool (its files stay).
  [[nodiscard]] virtual status undefine_pool(const std::string& name) = 0;

  [[nodiscard]] virtual result<volume_info> create_volume(const std::string& pool,
                                                          const volume_spec& spec) = 0;
  /// Grows a volume to `capacity_bytes`; shrinking is refused (failed_precondition
  /// VOLUME_SHRINK_REFUSED) since it destroys guest data.
  [[nodiscard]] virtual status resize_volume(const std::string& pool, const std::string& name,
                                             std::uint64_t capacity_bytes) = 0;
  [[nodiscard]] virtual status delete_volume(const std::string& pool, const std::string& name) = 0;
  /// The pool's volumes, sorted by name.
  [[nodiscard]] virtual result<std::vector<volume_info>> list_volumes(const std::string& pool) = 0;

  // -- networks -------------------------------------------------------------------------------

  /// Defines a network (not started).
  [[nodiscard]] virtual status define_network(const network_spec& spec) = 0;
  [[nodiscard]] virtual status start_network(const std::string& name) = 0;
  /// All networks, sorted by name.
  [[nodiscard]] virtual result<std::vector<network_info>> list_networks() = 0;
  /// Stops a network.
  [[nodiscard]] virtual status destroy_network(const std::string& name) = 0;
  /// Removes the definition of a network.
  [[nodiscard]] virtual status undefine_network(const std::string& name) = 0;

  // -- events ---------------------------------------------------------------------------------

  /// Calls `on_event` for every lifecycle event of every domain of this host until the
  /// returned handle ends. Callbacks run on the event-loop thread, one at a time, in the
  /// order libvirt reports the events; they should return quickly. An inactive handle
  /// (active() false) means the registration failed (out of memory).
  [[nodiscard]] virtual subscription
  subscribe(std::function<void(const domain_event&)> on_event) = 0;
};

} // namespace qx::node
