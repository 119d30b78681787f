#pragma once

#include "qx/base/error.hpp"

#include <string>
#include <string_view>

namespace qx::events {

/// Renders a payload as JSON using the compiled-in schema of `type` (e.g.
/// "qx.events.v1.VmCreated"). errc::not_found for a type this build does not know,
/// errc::corrupted when the bytes do not decode as that type.
[[nodiscard]] result<std::string> payload_to_json(std::string_view type, std::string_view payload);

/// Lower-case hex of bytes (hashes in dumps and reports).
[[nodiscard]] std::string to_hex(std::string_view bytes);

} // namespace qx::events
