#include "qx/actors/domain/role.hpp"

#include "overloaded.hpp"
#include "qx/actors/domain/access.hpp"

#include <set>

namespace qx::domain::role {

namespace {

using namespace events::v1;
using detail::overloaded;

decision<event> defined(const state& s, const std::vector<std::string>& privileges) {
  if (auto ok = access::check_role_name("id", s.id()); !ok)
    return ok.error();
  if (access::builtin_role(s.id()))
    return refused("ROLE_BUILTIN", "role " + s.id() + " is built in and cannot change");
  if (privileges.empty() || privileges.size() > 32)
    return invalid_field("privileges", "a role has 1..32 privileges");
  std::set<std::string> seen;
  for (const auto& p : privileges) {
    if (!access::is_privilege(p))
      return invalid_field("privileges", "unknown privilege " + p.substr(0, 64));
    if (!seen.insert(p).second)
      return invalid_field("privileges", "privilege " + p + " is listed twice");
  }
  RoleDefined ev;
  ev.set_id(s.id());
  for (const auto& p : privileges)
    ev.add_privileges(p);
  std::vector<event> out;
  out.emplace_back(std::move(ev));
  return out;
}

} // namespace

state initial(std::string_view id) {
  return initial_state<state>(id);
}

std::string_view name_of(const command& c) {
  static constexpr const char* names[] = {"create", "update", "remove"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[c.index()];
}

decision<event> decide(const state& s, const command& c) {
  if (auto refusal = lifecycle_refusal(kind, s, std::holds_alternative<create>(c)))
    return *refusal;
  return std::visit(overloaded{
                        [&](const create& cmd) { return defined(s, cmd.privileges); },
                        [&](const update& cmd) { return defined(s, cmd.privileges); },
                        [&](const remove&) -> decision<event> {
                          RoleDeleted ev;
                          ev.set_id(s.id());
                          std::vector<event> out;
                          out.emplace_back(std::move(ev));
                          return out;
                        },
                    },
                    c);
}

void evolve(state& s, const event& e) {
  std::visit(overloaded{
                 [&](const RoleDefined& ev) {
                   s.set_created(true);
                   s.mutable_privileges()->CopyFrom(ev.privileges());
                 },
                 [&](const RoleDeleted&) { s.set_deleted(true); },
             },
             e);
}

} // namespace qx::domain::role
