#pragma once

// The user aggregate: someone who logs in to the API. Stream "user-<id>", the id being the
// login name.
//
// Commands and their refusals (before create every command is NOT_FOUND, create twice is
// ALREADY_EXISTS, a deleted user refuses everything with reason DELETED):
//   create           id [a-z0-9][a-z0-9._-]{0,63}; name 1..128; password_hash an argon2id PHC
//                    string (hashed by the caller, off the actor)
//   change_password  ends the user's sessions; API tokens stay
//   disable/enable   a disabled user's tokens are refused until enabled (USER_DISABLED twice,
//                    USER_ENABLED twice)
//   grant            object (access::check_object), role (access::check_role_name), propagate;
//                    replaces an earlier grant on the same object
//   revoke_grant     GRANT_NOT_FOUND when there is none on the object
//   issue_token      token_id unique (TOKEN_EXISTS), kind session|api, expires after issued;
//                    tokens that expired before it are dropped from the state
//   revoke_token     TOKEN_NOT_FOUND when it is not live
//   remove           deletes; its tokens die with it

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/access.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <cstdint>
#include <string>
#include <variant>

namespace qx::domain::user {

using state = snapshots::v1::UserState;

struct create {
  std::string name;
  std::string password_hash;
};
struct change_password {
  std::string password_hash;
};
struct disable {
  std::string reason;
};
struct enable {};
struct grant {
  std::string object;
  std::string role;
  bool propagate = true;
};
struct revoke_grant {
  std::string object;
};
struct issue_token {
  std::string token_id;
  std::string kind; ///< session, api
  std::string name;
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
};
struct revoke_token {
  std::string token_id;
};
struct remove {};

using command = std::variant<create, change_password, disable, enable, grant, revoke_grant,
                             issue_token, revoke_token, remove>;
using event =
    std::variant<events::v1::UserCreated, events::v1::UserPasswordChanged, events::v1::UserDisabled,
                 events::v1::UserEnabled, events::v1::UserDeleted, events::v1::UserRoleGranted,
                 events::v1::UserRoleRevoked, events::v1::UserTokenIssued,
                 events::v1::UserTokenRevoked>;

inline constexpr const char* kind = "user";
inline constexpr const char* stream_prefix = "user-";

[[nodiscard]] state initial(std::string_view id);
[[nodiscard]] decision<event> decide(const state& s, const command& c);
void evolve(state& s, const event& e);
[[nodiscard]] std::string_view name_of(const command& c);

} // namespace qx::domain::user
