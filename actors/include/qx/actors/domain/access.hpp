#pragma once

// The vocabulary of authorization, shared by the user and role aggregates and the API's
// policy: privileges, the built-in roles, and the objects a role is granted on.

#include <qx/base/error.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qx::domain::access {

/// Every privilege a role can hold. "read" lets one see an object; the others change things.
[[nodiscard]] const std::vector<std::string>& all_privileges();
[[nodiscard]] bool is_privilege(std::string_view p);

/// The built-in roles: admin (every privilege), operator (read, VM power and VM changes,
/// volumes, images, alerts), viewer (read). nullopt for another name.
[[nodiscard]] std::optional<std::vector<std::string>> builtin_role(std::string_view name);

/// A role name: [a-z][a-z0-9_-]{0,63}.
[[nodiscard]] status check_role_name(std::string_view field, std::string_view name);

/// "datacenter", or "<kind>/<id>" with kind cluster|node|vm|pool|network and an id of
/// 1..64 printable ASCII characters without '/'.
[[nodiscard]] status check_object(std::string_view field, std::string_view object);

/// A user id (also the login name): [a-z0-9][a-z0-9._-]{0,63}.
[[nodiscard]] status check_user_id(std::string_view field, std::string_view id);

} // namespace qx::domain::access
