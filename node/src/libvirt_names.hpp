#pragma once

#include "qx/node/types.hpp"

#include <string_view>

/// libvirt's numeric states, reasons and event details as our enums and stable lower-case names.
/// Numbers a newer libvirt adds come out as "unknown" rather than failing.
namespace qx::node::detail {

/// virDomainState → domain_state.
[[nodiscard]] domain_state state_from_libvirt(int state) noexcept;

/// The reason code of a virDomainState ("booted", "user", "destroyed", ...).
[[nodiscard]] std::string_view reason_name(int state, int reason) noexcept;

/// virDomainEventType → domain_event_type.
[[nodiscard]] domain_event_type event_type_from_libvirt(int event) noexcept;

/// The detail code of a lifecycle event ("booted", "destroyed", "paused", ...).
[[nodiscard]] std::string_view event_detail_name(int event, int detail) noexcept;

/// virStoragePoolState → "inactive", "building", "running", "degraded", "inaccessible".
[[nodiscard]] std::string_view pool_state_name(int state) noexcept;

} // namespace qx::node::detail
