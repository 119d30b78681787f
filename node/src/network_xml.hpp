#pragma once

#include "qx/base/error.hpp"
#include "qx/node/types.hpp"

#include <string>
#include <string_view>

/// Virtual network XML.
namespace qx::node::detail {

/// Checks a network spec: name, bridge, an IPv4 "address/prefix" whose address is a host of
/// its subnet, and a DHCP range inside the subnet (both ends or neither).
[[nodiscard]] status validate_network_spec(const network_spec& spec);

/// The libvirt network XML of a valid spec.
[[nodiscard]] result<std::string> network_xml(const network_spec& spec);

/// A network_info read from libvirt's network XML (`active` and `persistent` left false).
[[nodiscard]] result<network_info> parse_network_xml(std::string_view xml);

} // namespace qx::node::detail
