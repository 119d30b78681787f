#include "qx/actors/domain/user.hpp"

#include "overloaded.hpp"
#include "qx/actors/domain/access.hpp"

namespace qx::domain::user {

namespace {

using namespace events::v1;
using detail::overloaded;

constexpr auto one = &one_event<event>;

status check_hash(const std::string& hash) {
  if (hash.rfind("$argon2id$", 0) != 0 || hash.size() > 256)
    return invalid_field("password_hash", "the password hash must be an argon2id PHC string");
  return {};
}

status check_token_id(const std::string& id) {
  if (id.size() < 16 || id.size() > 64)
    return invalid_field("token_id", "a token id has 16..64 characters");
  for (const char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return invalid_field("token_id", "a token id is base64url");
  return {};
}

} // namespace

state initial(std::string_view id) {
  return initial_state<state>(id);
}

std::string_view name_of(const command& c) {
  static constexpr const char* names[] = {"create",      "change_password", "disable",
                                          "enable",      "grant",           "revoke_grant",
                                          "issue_token", "revoke_token",    "remove"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[c.index()];
}

decision<event> decide(const state& s, const command& c) {
  if (auto refusal = lifecycle_refusal(kind, s, std::holds_alternative<create>(c)))
    return *refusal;
  return std::visit(
      overloaded{
          [&](const create& cmd) -> decision<event> {
            if (auto ok = access::check_user_id("id", s.id()); !ok)
              return ok.error();
            if (auto ok = check_name("name", cmd.name, 128); !ok)
              return ok.error();
            if (auto ok = check_hash(cmd.password_hash); !ok)
              return ok.error();
            UserCreated ev;
            ev.set_id(s.id());
            ev.set_name(cmd.name);
            ev.set_password_hash(cmd.password_hash);
            return one(std::move(ev));
          },
          [&](const change_password& cmd) -> decision<event> {
            if (auto ok = check_hash(cmd.password_hash); !ok)
              return ok.error();
            UserPasswordChanged ev;
            ev.set_id(s.id());
            ev.set_password_hash(cmd.password_hash);
            return one(std::move(ev));
          },
          [&](const disable& cmd) -> decision<event> {
            if (s.disabled())
              return refused("USER_DISABLED", "user " + s.id() + " is disabled already");
            if (!cmd.reason.empty())
              if (auto ok = check_text("reason", cmd.reason, 512); !ok)
                return ok.error();
            UserDisabled ev;
            ev.set_id(s.id());
            ev.set_reason(cmd.reason);
            return one(std::move(ev));
          },
          [&](const enable&) -> decision<event> {
            if (!s.disabled())
              return refused("USER_ENABLED", "user " + s.id() + " is not disabled");
            UserEnabled ev;
            ev.set_id(s.id());
            return one(std::move(ev));
          },
          [&](const grant& cmd) -> decision<event> {
            if (auto ok = access::check_object("object", cmd.object); !ok)
              return ok.error();
            if (auto ok = access::check_role_name("role", cmd.role); !ok)
              return ok.error();
            UserRoleGranted ev;
            ev.set_id(s.id());
            ev.set_object(cmd.object);
            ev.set_role(cmd.role);
            ev.set_propagate(cmd.propagate);
            return one(std::move(ev));
          },
          [&](const revoke_grant& cmd) -> decision<event> {
            if (s.grants().count(cmd.object) == 0)
              return refused("GRANT_NOT_FOUND", "user " + s.id() + " has no role on " + cmd.object,
                             {{"object", cmd.object}});
            UserRoleRevoked ev;
            ev.set_id(s.id());
            ev.set_object(cmd.object);
            return one(std::move(ev));
          },
          [&](const issue_token& cmd) -> decision<event> {
            if (auto ok = check_token_id(cmd.token_id); !ok)
              return ok.error();
            if (cmd.kind != "session" && cmd.kind != "api")
              return invalid_field("kind", "a token is a session or an api token");
            if (!cmd.name.empty())
              if (auto ok = check_name("name", cmd.name, 128); !ok)
                return ok.error();
            if (cmd.expires_at <= cmd.issued_at)
              return invalid_field("expires_at", "a token expires after it is issued");
            if (s.tokens().count(cmd.token_id) != 0)
              return refused("TOKEN_EXISTS", "token " + cmd.token_id + " exists already");
            UserTokenIssued ev;
            ev.set_id(s.id());
            ev.set_token_id(cmd.token_id);
            ev.set_kind(cmd.kind);
            ev.set_name(cmd.name);
            ev.set_issued_at(cmd.issued_at);
            ev.set_expires_at(cmd.expires_at);
            return one(std::move(ev));
          },
          [&](const revoke_token& cmd) -> decision<event> {
            if (s.tokens().count(cmd.token_id) == 0)
              return error{errc::not_found,
                           "user " + s.id() + " has no live token " + cmd.token_id,
                           {{"reason", "TOKEN_NOT_FOUND"}, {"tokenId", cmd.token_id}}};
            UserTokenRevoked ev;
            ev.set_id(s.id());
            ev.set_token_id(cmd.token_id);
            return one(std::move(ev));
          },
          [&](const remove&) -> decision<event> {
            UserDeleted ev;
            ev.set_id(s.id());
            return one(std::move(ev));
          },
      },
      c);
}

void evolve(state& s, const event& e) {
  std::visit(overloaded{
                 [&](const UserCreated& ev) {
                   s.set_created(true);
                   s.set_name(ev.name());
                   s.set_password_hash(ev.password_hash());
                 },
                 [&](const UserPasswordChanged& ev) {
                   s.set_password_hash(ev.password_hash());
                   auto& tokens = *s.mutable_tokens();
                   for (auto it = tokens.begin(); it != tokens.end();)
                     it = it->second.kind() == "session" ? tokens.erase(it) : std::next(it);
                 },
                 [&](const UserDisabled&) { s.set_disabled(true); },
                 [&](const UserEnabled&) { s.set_disabled(false); },
                 [&](const UserDeleted&) {
                   s.set_deleted(true);
                   s.clear_tokens();
                 },
                 [&](const UserRoleGranted& ev) {
                   auto& g = (*s.mutable_grants())[ev.object()];
                   g.set_role(ev.role());
                   g.set_propagate(ev.propagate());
                 },
                 [&](const UserRoleRevoked& ev) { s.mutable_grants()->erase(ev.object()); },
                 [&](const UserTokenIssued& ev) {
                   auto& tokens = *s.mutable_tokens();
                   // Tokens that had expired when this one was issued are gone for good.
                   for (auto it = tokens.begin(); it != tokens.end();)
                     it = it->second.expires_at() < ev.issued_at() ? tokens.erase(it)
                                                                   : std::next(it);
                   auto& t = tokens[ev.token_id()];
                   t.set_kind(ev.kind());
                   t.set_name(ev.name());
                   t.set_issued_at(ev.issued_at());
                   t.set_expires_at(ev.expires_at());
                 },
                 [&](const UserTokenRevoked& ev) { s.mutable_tokens()->erase(ev.token_id()); },
             },
             e);
}

} // namespace qx::domain::user
