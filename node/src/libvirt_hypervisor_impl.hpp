#pragma once

#include "event_hub.hpp"
#include "event_loop.hpp"
#include "libvirt_handles.hpp"
#include "qx/node/hypervisor.hpp"
#include "qx/node/libvirt_hypervisor.hpp"

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace qx::node::detail {

/// The hypervisor over one libvirt connection. Its calls are split by subject over
/// libvirt_hypervisor.cpp (connection, host, events), libvirt_domains.cpp (domains, snapshots,
/// migration), libvirt_storage.cpp and libvirt_networks.cpp.
///
/// Every public call takes `mutex_` for its whole duration. The event callback never takes it.
class libvirt_hypervisor final : public hypervisor {
 public:
  /// `options` with the domain type already chosen.
  libvirt_hypervisor(std::shared_ptr<event_loop> loop, conn_ptr conn, libvirt_options options);
  ~libvirt_hypervisor() override;
  libvirt_hypervisor(const libvirt_hypervisor&) = delete;
  libvirt_hypervisor& operator=(const libvirt_hypervisor&) = delete;
  libvirt_hypervisor(libvirt_hypervisor&&) = delete;
  libvirt_hypervisor& operator=(libvirt_hypervisor&&) = delete;

  /// Registers the lifecycle callback; an error if the driver offers no events.
  [[nodiscard]] status register_events();

  result<host_info> host() override;

  status define_domain(const domain_spec& spec) override;
  result<domain_spec> describe_domain(const std::string& id) override;
  status start_domain(const std::string& id) override;
  status shutdown_domain(const std::string& id) override;
  status destroy_domain(const std::string& id) override;
  status reboot_domain(const std::string& id) override;
  status suspend_domain(const std::string& id) override;
  status resume_domain(const std::string& id) override;
  status undefine_domain(const std::string& id, const undefine_options& options) override;
  result<domain_status> query_state(const std::string& id) override;
  result<domain_stats> query_stats(const std::string& id) override;
  result<std::vector<domain_summary>> list_domains() override;
  status migrate_domain(const std::string& id, const std::string& destination_uri,
                        const migrate_options& options) override;

  status create_snapshot(const std::string& domain_id, const snapshot_spec& spec) override;
  result<std::vector<snapshot_info>> list_snapshots(const std::string& domain_id) override;
  status revert_snapshot(const std::string& domain_id, const std::string& name) override;
  status delete_snapshot(const std::string& domain_id, const std::string& name) override;

  status define_pool(const pool_spec& spec) override;
  result<std::vector<pool_info>> list_pools() override;
  status destroy_pool(const std::string& name) override;
  status undefine_pool(const std::string& name) override;
  result<volume_info> create_volume(const std::string& pool, const volume_spec& spec) override;
  status resize_volume(const std::string& pool, const std::string& name,
                       std::uint64_t capacity_bytes) override;
  status delete_volume(const std::string& pool, const std::string& name) override;
  result<std::vector<volume_info>> list_volumes(const std::string& pool) override;

  status define_network(const network_spec& spec) override;
  status start_network(const std::string& name) override;
  result<std::vector<network_info>> list_networks() override;
  status destroy_network(const std::string& name) override;
  status undefine_network(const std::string& name) override;

  subscription subscribe(std::function<void(const domain_event&)> on_event) override;

 private:
  // Lookups by name; the caller holds mutex_. invalid_argument for a malformed name,
  // not_found when absent.
  result<domain_ptr> find_domain(const std::string& id);
  result<snapshot_ptr> find_snapshot(virDomainPtr dom, const std::string& name);
  result<pool_ptr> find_pool(const std::string& name);
  result<volume_ptr> find_volume(virStoragePoolPtr pool, const std::string& name);
  result<network_ptr> find_network(const std::string& name);

  // A power operation: `call` on the domain; when libvirt refuses and the domain's state is
  // one `refused_in` names, the answer is failed_precondition INVALID_POWER_STATE.
  status power_op(std::string_view operation, const std::string& id,
                  const std::function<int(virDomainPtr)>& call,
                  const std::function<bool(domain_state)>& refused_in);

  // Declared first, destroyed last: the event loop outlives the connection.
  std::shared_ptr<event_loop> loop_;
  std::mutex mutex_;
  conn_ptr conn_;
  libvirt_options options_;
  std::shared_ptr<event_hub> hub_ = std::make_shared<event_hub>();
  int callback_id_ = -1;
};

/// Runs `body`, turning an exception (out of memory, a failed thread start) into an io_error:
/// no exception leaves the library.
template<class Body>
auto shielded(std::string_view operation, Body&& body) noexcept -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return qx::error{errc::io_error, std::string{operation} + " failed: " + e.what()};
  } catch (...) {
    return qx::error{errc::io_error, std::string{operation} + " failed"};
  }
}

/// Whether the domain has a live instance (running, blocked, paused, shutting down, suspended).
[[nodiscard]] bool is_active(domain_state s) noexcept;

} // namespace qx::node::detail
