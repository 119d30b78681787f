#pragma once

#include "qx/base/error.hpp"
#include "qx/node/types.hpp"

#include <string>
#include <string_view>

/// Domain and snapshot XML, written with a structured writer and read with a parser.
namespace qx::node::detail {

/// Checks every field of `spec`; invalid_argument names the first field at fault.
[[nodiscard]] status validate_domain_spec(const domain_spec& spec);

/// The libvirt domain XML of a valid spec, with `<domain type='domain_type'>`. A non-empty
/// `serial_log` adds a serial console (a pty) whose output libvirt appends to that file.
[[nodiscard]] result<std::string> domain_xml(const domain_spec& spec, std::string_view domain_type,
                                             std::string_view serial_log = {});

/// A domain_spec read back from libvirt's domain XML. Devices this interface does not model
/// (consoles, controllers, ...) are left out.
[[nodiscard]] result<domain_spec> parse_domain_xml(std::string_view xml);

/// The snapshot XML of a spec, after checking it.
[[nodiscard]] result<std::string> snapshot_xml(const snapshot_spec& spec);

/// A snapshot_info read from libvirt's snapshot XML (`current` is left false).
[[nodiscard]] result<snapshot_info> parse_snapshot_xml(std::string_view xml);

} // namespace qx::node::detail
