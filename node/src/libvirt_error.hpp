#pragma once

#include "qx/base/error.hpp"

#include <libvirt/virterror.h>

#include <string_view>

namespace qx::node::detail {

/// The last libvirt error of the calling thread as a qx::error, then cleared. `operation` names
/// the libvirt call (details["operation"]); `precondition_reason` is the details["reason"] given
/// when libvirt says the operation is not valid in the current state.
///
/// Mapping: no domain/pool/volume/network/snapshot → not_found; already exists → already_exists;
/// operation invalid → failed_precondition; no support, operation or argument unsupported →
/// unavailable with reason NOT_SUPPORTED; invalid argument, XML error, invalid MAC →
/// invalid_argument; anything else → io_error. The message is libvirt's text as is.
[[nodiscard]] qx::error last_libvirt_error(std::string_view operation,
                                           std::string_view precondition_reason);

/// The libvirt error code of a mapped error (details["libvirt_code"]), or -1.
[[nodiscard]] int libvirt_code(const qx::error& e);

/// Drops the calling thread's libvirt error after a failure that is expected (a lookup that
/// answers "absent").
void clear_libvirt_error() noexcept;

/// A libvirt error handler that prints nothing: errors are read with virGetLastError after each
/// call, and printing them too would only add noise. Installed process-wide by the event loop
/// and per connection (so a caller that replaced the process-wide one changes nothing).
void ignore_libvirt_error(void* user_data, virErrorPtr error);

} // namespace qx::node::detail
