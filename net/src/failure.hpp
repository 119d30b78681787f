#pragma once

// How a transport failure reads to a user: the registration error codes of the design guide.

#include <qx/base/error.hpp>

#include <boost/system/error_code.hpp>

#include <string>

namespace qx::net {

enum class phase { resolve, connect, tls, write, read };

/// The failure of `phase` against `target` as a qx::error with details["reason"].
[[nodiscard]] error failure_of(const boost::system::error_code& ec, phase at,
                               const std::string& target);

} // namespace qx::net
