// The user and role deciders: who can be created, what a grant and a token must look like,
// what ends a session, and the refusals that name the field or reason.
#include <qx/actors/domain/access.hpp>
#include <qx/actors/domain/role.hpp>
#include <qx/actors/domain/user.hpp>

#include <gtest/gtest.h>

#include <optional>

using namespace qx;
using namespace qx::domain;

namespace {

const std::string hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo";
const std::string token_a = "tokenAAAAAAAAAAAAAAA";
const std::string token_b = "tokenBBBBBBBBBBBBBBB";

template<class Ns>
result<typename Ns::state> run(typename Ns::state s, const typename Ns::command& c) {
  auto d = Ns::decide(s, c);
  if (!d)
    return std::move(d).error();
  for (const auto& ev : *d)
    Ns::evolve(s, ev);
  return s;
}

struct user_ns {
  using state = user::state;
  using command = user::command;
  static auto decide(const state& s, const command& c) { return user::decide(s, c); }
  static void evolve(state& s, const user::event& e) { user::evolve(s, e); }
};
struct role_ns {
  using state = role::state;
  using command = role::command;
  static auto decide(const state& s, const command& c) { return role::decide(s, c); }
  static void evolve(state& s, const role::event& e) { role::evolve(s, e); }
};

user::state alice() {
  auto s = run<user_ns>(user::initial("alice"), user::create{"Alice", hash});
  EXPECT_TRUE(s);
  return *s;
}

std::string field_of(const error& e) {
  const auto it = e.details.find("field");
  return it == e.details.end() ? "" : it->second;
}
std::string reason_of(const error& e) {
  const auto it = e.details.find("reason");
  return it == e.details.end() ? "" : it->second;
}

TEST(user_decider, create_checks_the_id_the_name_and_that_the_hash_is_argon2id) {
  EXPECT_TRUE(alice().created());
  EXPECT_EQ(field_of(run<user_ns>(user::initial("Alice!"), user::create{"A", hash}).error()), "id");
  EXPECT_EQ(field_of(run<user_ns>(user::initial("bob"), user::create{"", hash}).error()), "name");
  EXPECT_EQ(field_of(run<user_ns>(user::initial("bob"), user::create{"Bob", "plaintext"}).error()),
            "password_hash");
  EXPECT_EQ(run<user_ns>(alice(), user::create{"Again", hash}).error().code, errc::already_exists);
  EXPECT_EQ(run<user_ns>(user::initial("nobody"), user::enable{}).error().code, errc::not_found);
}

TEST(user_decider, a_password_change_ends_sessions_but_keeps_api_tokens) {
  auto s = *run<user_ns>(alice(), user::issue_token{token_a, "session", "", 100, 1000});
  s = *run<user_ns>(s, user::issue_token{token_b, "api", "backup script", 100, 100000});
  ASSERT_EQ(s.tokens_size(), 2);
  s = *run<user_ns>(s, user::change_password{hash});
  EXPECT_EQ(s.tokens().count(token_a), 0u);
  EXPECT_EQ(s.tokens().count(token_b), 1u);
}

TEST(user_decider, tokens_are_unique_live_and_revocable_once) {
  auto s = *run<user_ns>(alice(), user::issue_token{token_a, "session", "", 100, 1000});
  EXPECT_EQ(reason_of(run<user_ns>(s, user::issue_token{token_a, "api", "", 100, 1000}).error()),
            "TOKEN_EXISTS");
  EXPECT_EQ(field_of(run<user_ns>(s, user::issue_token{"short", "api", "", 100, 1000}).error()),
            "token_id");
  EXPECT_EQ(field_of(run<user_ns>(s, user::issue_token{token_b, "root", "", 100, 1000}).error()),
            "kind");
  EXPECT_EQ(field_of(run<user_ns>(s, user::issue_token{token_b, "api", "", 100, 100}).error()),
            "expires_at");
  s = *run<user_ns>(s, user::revoke_token{token_a});
  EXPECT_EQ(s.tokens_size(), 0);
  EXPECT_EQ(reason_of(run<user_ns>(s, user::revoke_token{token_a}).error()), "TOKEN_NOT_FOUND");
  // Tokens expired before a newer one was issued are dropped, so the state stays small.
  s = *run<user_ns>(s, user::issue_token{token_a, "session", "", 100, 200});
  s = *run<user_ns>(s, user::issue_token{token_b, "session", "", 300, 900});
  EXPECT_EQ(s.tokens().count(token_a), 0u);
  EXPECT_EQ(s.tokens().count(token_b), 1u);
}

TEST(user_decider, grants_name_an_object_and_a_role) {
  auto s = *run<user_ns>(alice(), user::grant{"cluster/c1", "operator", true});
  EXPECT_EQ(s.grants().at("cluster/c1").role(), "operator");
  s = *run<user_ns>(s, user::grant{"cluster/c1", "viewer", false});
  EXPECT_EQ(s.grants().at("cluster/c1").role(), "viewer") << "a second grant replaces the first";
  for (const char* bad : {"", "cluster", "cluster/", "rack/r1", "vm/a/b", "datacenter/x"})
    EXPECT_EQ(field_of(run<user_ns>(s, user::grant{bad, "viewer", true}).error()), "object") << bad;
  EXPECT_EQ(field_of(run<user_ns>(s, user::grant{"datacenter", "Admin!", true}).error()), "role");
  s = *run<user_ns>(s, user::revoke_grant{"cluster/c1"});
  EXPECT_EQ(s.grants_size(), 0);
  EXPECT_EQ(reason_of(run<user_ns>(s, user::revoke_grant{"cluster/c1"}).error()),
            "GRANT_NOT_FOUND");
}

TEST(user_decider, disable_enable_and_delete) {
  auto s = *run<user_ns>(alice(), user::disable{"left the company"});
  EXPECT_TRUE(s.disabled());
  EXPECT_EQ(reason_of(run<user_ns>(s, user::disable{}).error()), "USER_DISABLED");
  s = *run<user_ns>(s, user::enable{});
  EXPECT_EQ(reason_of(run<user_ns>(s, user::enable{}).error()), "USER_ENABLED");
  s = *run<user_ns>(s, user::issue_token{token_a, "api", "", 100, 1000});
  s = *run<user_ns>(s, user::remove{});
  EXPECT_TRUE(s.deleted());
  EXPECT_EQ(s.tokens_size(), 0);
  EXPECT_EQ(reason_of(run<user_ns>(s, user::enable{}).error()), "DELETED");
}

TEST(role_decider, custom_roles_hold_known_privileges_and_builtins_are_fixed) {
  auto s = run<role_ns>(role::initial("vm-power"), role::create{{"read", "vm.power"}});
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->privileges_size(), 2);
  s = run<role_ns>(*s, role::update{{"read"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->privileges_size(), 1);
  EXPECT_EQ(reason_of(run<role_ns>(role::initial("admin"), role::create{{"read"}}).error()),
            "ROLE_BUILTIN");
  EXPECT_EQ(field_of(run<role_ns>(role::initial("r"), role::create{{"read", "root"}}).error()),
            "privileges");
  EXPECT_EQ(field_of(run<role_ns>(role::initial("r"), role::create{{"read", "read"}}).error()),
            "privileges");
  EXPECT_EQ(field_of(run<role_ns>(role::initial("r"), role::create{{}}).error()), "privileges");
  EXPECT_EQ(field_of(run<role_ns>(role::initial("Bad Name"), role::create{{"read"}}).error()),
            "id");
}

TEST(access, builtin_roles_nest_viewer_in_operator_in_admin) {
  const auto admin = *access::builtin_role("admin");
  const auto op = *access::builtin_role("operator");
  const auto viewer = *access::builtin_role("viewer");
  for (const auto& p : viewer)
    EXPECT_NE(std::find(op.begin(), op.end(), p), op.end()) << p;
  for (const auto& p : op)
    EXPECT_NE(std::find(admin.begin(), admin.end(), p), admin.end()) << p;
  EXPECT_EQ(std::find(op.begin(), op.end(), "access.manage"), op.end());
  EXPECT_FALSE(access::builtin_role("root"));
}

} // namespace
