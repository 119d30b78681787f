#pragma once

#include "qx/events/types.hpp"

#include <string_view>

namespace qx::events::detail {

/// SHA-256 of `data` (OpenSSL; uses the CPU's SHA extensions where present).
[[nodiscard]] hash256 sha256(std::string_view data);

} // namespace qx::events::detail
