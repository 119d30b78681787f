#pragma once

// The role aggregate: a custom role, a named set of privileges. Stream "role-<name>". The
// built-in roles (admin, operator, viewer) are not aggregates and cannot be defined.
//
//   create   name access::check_role_name, not built-in (ROLE_BUILTIN); privileges: 1..32
//            known privileges (access::all_privileges), no duplicates
//   update   same checks; replaces the set
//   remove   deletes (grants of it then give nothing)

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/access.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <string>
#include <variant>
#include <vector>

namespace qx::domain::role {

using state = snapshots::v1::RoleState;

struct create {
  std::vector<std::string> privileges;
};
struct update {
  std::vector<std::string> privileges;
};
struct remove {};

using command = std::variant<create, update, remove>;
using event = std::variant<events::v1::RoleDefined, events::v1::RoleDeleted>;

inline constexpr const char* kind = "role";
inline constexpr const char* stream_prefix = "role-";

[[nodiscard]] state initial(std::string_view id);
[[nodiscard]] decision<event> decide(const state& s, const command& c);
void evolve(state& s, const event& e);
[[nodiscard]] std::string_view name_of(const command& c);

} // namespace qx::domain::role
