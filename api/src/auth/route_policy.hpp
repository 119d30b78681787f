#pragma once

// What each route needs: a privilege on an object. A route absent from the table is denied to
// everyone (deny by default); the table is tested against the router so no route is missed.

#include "router.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace qx::api {

struct route_policy {
  /// "public": no authentication (login, health, a host joining with its registration
  /// token); "authenticated": any signed-in user; "list": any signed-in user, the list
  /// showing the items the user may "read"; otherwise a privilege of
  /// domain::access::all_privileges().
  std::string privilege;
  /// The object it is checked on: "datacenter" or "<kind>/{param}" ("vm/{id}").
  std::string object;
};

/// The policy of `method` on route `pattern`, nullopt when there is none (denied).
[[nodiscard]] std::optional<route_policy> policy_of(std::string_view method,
                                                    std::string_view pattern);

} // namespace qx::api
