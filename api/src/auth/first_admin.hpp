#pragma once

#include "context.hpp"

#include <string>

namespace qx::api {

/// When the log has no live user: creates user "admin" with `password` (empty: a random one,
/// printed once on stdout) and grants it the admin role on the datacenter. Runs once the read
/// models have caught up; failures are logged, not fatal (the server still serves).
void create_first_admin(access_context& ctx, std::string password);

/// The first line of `path` (the admin password file): invalid_argument when it cannot be
/// read or the password is not 8..1024 bytes.
[[nodiscard]] result<std::string> read_password_file(const std::string& path);

} // namespace qx::api
