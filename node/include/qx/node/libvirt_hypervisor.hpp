#pragma once

#include "qx/base/error.hpp"
#include "qx/node/hypervisor.hpp"

#include <memory>
#include <string>

namespace qx::node {

/// Options of a libvirt connection.
struct libvirt_options {
  /// The `type` of defined domains ("kvm", "qemu", "test"). Default empty: chosen from the
  /// host's capabilities, "kvm" if offered, else "qemu", else the first type offered (the
  /// test driver offers only "test").
  std::string domain_type;
  /// When set, every domain defined gets a serial console whose output libvirt (virtlogd)
  /// appends to `<serial_log_dir>/<domain id>.serial.log`: the guest's boot messages, kept
  /// for operators. An absolute folder. Default empty: no serial console.
  std::string serial_log_dir;
};

/// Opens a hypervisor backed by libvirt at `uri`: "qemu:///system" in production,
/// "test:///default" or "test:///abs/path/host.xml" (see test_host.hpp) in tests.
///
/// The first call in a process initializes libvirt, installs an error handler that keeps
/// libvirt silent on stderr (errors come back as values instead) and registers libvirt's
/// default event loop. While any hypervisor from here is alive one thread runs that loop and
/// delivers lifecycle events; destroying the last one stops and joins it.
///
/// The result is safe to use from several threads: calls on one connection are serialized by
/// a mutex (libvirt's last-error slot is per thread, so each call reads its own error).
/// Event callbacks run on the event-loop thread without that mutex held, so they may call
/// back into the hypervisor.
[[nodiscard]] result<std::unique_ptr<hypervisor>> open_libvirt(const std::string& uri,
                                                               const libvirt_options& options);

/// open_libvirt with default options.
[[nodiscard]] result<std::unique_ptr<hypervisor>> open_libvirt(const std::string& uri);

} // namespace qx::node
