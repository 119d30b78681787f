#include "access_control.hpp"

#include <qx/actors/domain/access.hpp>
#include <qx/base/clock.hpp>
#include <qx/security/secrets.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace qx::api {

namespace {

namespace fs = std::filesystem;

error unauthenticated(std::string reason, std::string message) {
  return error{errc::unauthenticated, std::move(message), {{"reason", std::move(reason)}}};
}

result<std::string> load_or_create_key(const fs::path& file) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    return error{errc::io_error,
                 "cannot create " + file.parent_path().string() + ": " + ec.message()};
  if (!fs::exists(file)) {
    const auto key = security::random_token(32);
    const auto tmp = file.string() + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      return error{errc::io_error, "cannot write " + tmp};
    const bool written =
        ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!written || ::rename(tmp.c_str(), file.c_str()) != 0)
      return error{errc::io_error, "cannot write " + file.string()};
  }
  std::ifstream in{file};
  std::string key;
  std::getline(in, key);
  if (key.size() < 43 || key.size() > 128)
    return error{errc::corrupted,
                 file.string() + " does not hold a signing key",
                 {{"field", "signing-key"}}};
  return key;
}

} // namespace

std::int64_t now_seconds() {
  return system_clock().now_unix_ns() / 1'000'000'000;
}

result<std::unique_ptr<access_control>> access_control::open(const std::string& data_dir,
                                                             bool enabled) {
  auto key = load_or_create_key(fs::path{data_dir} / "auth" / "signing-key");
  if (!key)
    return std::move(key).error();
  // The key id names the key without revealing it: a prefix of its hash.
  auto signer = security::token_signer::make({{security::sha256_hex(*key).substr(0, 16), *key}});
  if (!signer)
    return std::move(signer).error();
  return std::unique_ptr<access_control>{new access_control(enabled, std::move(*signer))};
}

result<principal> access_control::authenticate(const projections::inventory& inv,
                                               std::string_view authorization,
                                               std::int64_t now) const {
  constexpr std::string_view scheme = "Bearer ";
  if (authorization.empty())
    return unauthenticated("TOKEN_MISSING", "this route needs Authorization: Bearer <token>");
  if (authorization.size() <= scheme.size() ||
      !std::equal(
          scheme.begin(), scheme.end(), authorization.begin(),
          [](unsigned char a, unsigned char b) { return std::tolower(a) == std::tolower(b); }))
    return unauthenticated("TOKEN_MALFORMED", "the Authorization scheme must be Bearer");
  auto claims = verified_.verify(authorization.substr(scheme.size()), now);
  if (!claims)
    return std::move(claims).error();
  // Read in place: the user's state (its hash, grants and live tokens) is not copied per request.
  enum class standing { live, disabled, revoked };
  const auto user = inv.read<actors::user_aggregate>(
      claims->subject, [&](const projections::resource<actors::user_aggregate>& u) {
        if (u.state.disabled())
          return standing::disabled;
        const auto live = u.state.tokens().find(claims->id);
        return live == u.state.tokens().end() || live->second.kind() != claims->kind
                   ? standing::revoked
                   : standing::live;
      });
  if (!user)
    return unauthenticated("USER_UNKNOWN", "the token's user does not exist");
  if (*user == standing::disabled)
    return unauthenticated("USER_DISABLED", "user " + claims->subject + " is disabled");
  if (*user == standing::revoked)
    return unauthenticated("TOKEN_REVOKED", "the token was revoked or has ended");
  return principal{claims->subject, claims->id, claims->kind};
}

std::string access_control::issue(const std::string& user, const std::string& kind,
                                  const std::string& token_id, std::int64_t issued_at,
                                  std::int64_t expires_at) const {
  return signer_.issue({user, kind, token_id, issued_at, issued_at, expires_at});
}

namespace {

/// The privileges the grants `grants` give on `object` (its ancestry `chain`, nearest first).
template<class Grants>
std::vector<std::string> privileges_from(const projections::inventory& inv, const Grants& grants,
                                         const std::vector<std::string>& chain) {
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const auto g = grants.find(chain[i]);
    // A grant on the object itself always applies; one above it only when it propagates.
    if (g == grants.end() || (i > 0 && !g->second.propagate()))
      continue;
    if (auto builtin = domain::access::builtin_role(g->second.role()))
      return *builtin;
    const auto custom = inv.get<actors::role_aggregate>(g->second.role());
    if (!custom)
      return {}; // a deleted custom role gives nothing, and hides nothing above it
    return {custom->state.privileges().begin(), custom->state.privileges().end()};
  }
  return {};
}

/// The grants of `user` (copied: they are few), nullopt for no such user.
using user_grants = std::decay_t<decltype(std::declval<actors::user_aggregate::state>().grants())>;
std::optional<user_grants> grants_of(const projections::inventory& inv, const std::string& user) {
  return inv.read<actors::user_aggregate>(
      user,
      [](const projections::resource<actors::user_aggregate>& u) { return u.state.grants(); });
}

/// The parent object ("<parent_prefix><id>") `field` of resource `id` names, read in place;
/// "datacenter" when the resource is unknown or the field is empty.
template<class A>
std::string parent_of(const projections::inventory& inv, std::string_view id,
                      std::string_view parent_prefix,
                      const std::string& (A::state::*field)() const) {
  const auto p = inv.read<A>(
      id, [&](const projections::resource<A>& r) { return (r.state.*field)(); }, true);
  return p && !p->empty() ? std::string{parent_prefix} + *p : std::string{"datacenter"};
}

bool holds(const std::vector<std::string>& held, std::string_view privilege) {
  return std::find(held.begin(), held.end(), privilege) != held.end();
}

} // namespace

std::vector<std::string> access_control::ancestry(const projections::inventory& inv,
                                                  std::string_view object) {
  std::vector<std::string> out;
  std::string current{object};
  if (current.starts_with("volume/")) {
    // The volume is a level of its own below its pool: a grant on the pool that does not
    // propagate is the pool's alone.
    out.push_back(current);
    current = parent_of<actors::volume_aggregate>(inv, current.substr(7), "pool/",
                                                  &actors::volume_aggregate::state::pool_id);
  }
  if (current.starts_with("vm/")) {
    out.push_back(current);
    current = parent_of<actors::vm_aggregate>(inv, current.substr(3), "node/",
                                              &actors::vm_aggregate::state::node_id);
  }
  if (current.starts_with("node/")) {
    out.push_back(current);
    current = parent_of<actors::node_aggregate>(inv, current.substr(5), "cluster/",
                                                &actors::node_aggregate::state::cluster_id);
  }
  if (current != "datacenter")
    out.push_back(current);
  out.emplace_back("datacenter");
  return out;
}

std::vector<std::string> access_control::privileges_on(const projections::inventory& inv,
                                                       const std::string& user,
                                                       std::string_view object) {
  const auto grants = grants_of(inv, user);
  return grants ? privileges_from(inv, *grants, ancestry(inv, object)) : std::vector<std::string>{};
}

list_visibility access_control::visibility(const projections::inventory& inv,
                                           const std::string& user) {
  auto found = grants_of(inv, user);
  if (!found)
    return {false, [](std::string_view) {
              return false;
            }};
  // Every object is readable when a propagating grant on the datacenter gives read and no
  // grant nearer to any object takes it away (the nearest grant wins).
  auto shared = std::make_shared<const user_grants>(std::move(*found));
  const auto& grants = *shared;
  const auto dc = grants.find("datacenter");
  bool all = dc != grants.end() && dc->second.propagate() &&
             holds(privileges_from(inv, grants, {"datacenter"}), "read");
  for (const auto& g : grants)
    all = all && holds(privileges_from(inv, grants, {g.first}), "read");
  if (all)
    return {true, [](std::string_view) {
              return true;
            }};
  return {false, [&inv, shared](std::string_view object) {
            return holds(privileges_from(inv, *shared, ancestry(inv, object)), "read");
          }};
}

std::string access_control::object_name(std::string_view kind, std::string_view id) {
  static constexpr std::pair<std::string_view, std::string_view> names[] = {
      {actors::vm_aggregate::kind, "vm/"},
      {actors::node_aggregate::kind, "node/"},
      {actors::cluster_aggregate::kind, "cluster/"},
      {actors::storage_pool_aggregate::kind, "pool/"},
      {actors::volume_aggregate::kind, "volume/"},
      {actors::network_aggregate::kind, "network/"}};
  for (const auto& [k, prefix] : names)
    if (k == kind)
      return std::string{prefix} + std::string{id};
  return "datacenter";
}

bool access_control::allowed(const projections::inventory& inv, const std::string& user,
                             std::string_view privilege, std::string_view object) {
  return holds(privileges_on(inv, user, object), privilege);
}

std::string access_control::object_of(std::string_view object_template, const path_params& params) {
  std::string out{object_template};
  const auto open = out.find('{');
  const auto close = out.find('}');
  if (open == std::string::npos || close == std::string::npos || close < open)
    return out;
  const auto name = out.substr(open + 1, close - open - 1);
  const auto it = params.find(name);
  return out.substr(0, open) + (it == params.end() ? std::string{} : it->second) +
         out.substr(close + 1);
}

} // namespace qx::api
