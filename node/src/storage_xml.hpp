#pragma once

#include "qx/base/error.hpp"
#include "qx/node/types.hpp"

#include <string>
#include <string_view>

/// Storage pool and volume XML.
namespace qx::node::detail {

/// `<pool type='dir'>` with the target folder, after checking the spec.
[[nodiscard]] result<std::string> pool_xml(const pool_spec& spec);

/// The target folder of a pool, read from libvirt's pool XML.
[[nodiscard]] result<std::string> parse_pool_target(std::string_view xml);

/// `<volume>` with capacity in bytes and format, after checking the spec.
[[nodiscard]] result<std::string> volume_xml(const volume_spec& spec);

/// The format of a volume ("raw", "qcow2", ...), read from libvirt's volume XML.
[[nodiscard]] result<std::string> parse_volume_format(std::string_view xml);

} // namespace qx::node::detail
