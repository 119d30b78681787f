// Users, roles, grants, tokens, login: /api/v1/auth/*, /api/v1/users/*, /api/v1/roles/*.
// Passwords are hashed and checked on the hashing pool (bounded: a login flood queues there,
// answered 429 when full, and never holds an I/O thread or an actor).
#include "access_control.hpp"
#include "event_json.hpp"
#include "handlers_common.hpp"
#include "login_throttle.hpp"

#include <qx/actors/domain/access.hpp>
#include <qx/security/password_hash.hpp>
#include <qx/security/secrets.hpp>

#include <algorithm>
#include <charconv>

namespace qx::api {

namespace {

using actors::role_aggregate;
using actors::user_aggregate;
namespace user = domain::user;
namespace role = domain::role;

/// What a login for an unknown user is checked against, so the answer takes as long as for a
/// known one. Made on the first such login (on the hashing thread), not at every start.
const std::string& dummy_hash() {
  static const std::string hash = [] {
    auto h = security::hash_password(security::random_token(16));
    return h ? *h : std::string{};
  }();
  return hash;
}

http_response busy() {
  auto resp =
      error_response(429, "TOO_MANY_REQUESTS", "password hashing is saturated", json::object());
  resp.headers.emplace_back("Retry-After", "1");
  return resp;
}

/// Hashes `password` on the hashing pool, then calls `k(hash)` there.
void with_hash(access_context& ctx, std::string password, responder respond,
               std::function<void(std::string, responder)> k) {
  const bool queued = ctx.hashing.post([password = std::move(password), respond, k]() mutable {
    auto h = security::hash_password(password);
    if (!h) {
      respond(error_response(h.error()));
      return;
    }
    k(std::move(*h), std::move(respond));
  });
  if (!queued)
    respond(busy());
}

/// Sends `cmd` to user `id`, then calls `k` once the read model shows it.
void user_command(access_context& ctx, const http_request& req, const std::string& id,
                  user::command cmd, std::function<void()> k, responder respond) {
  auto meta = meta_of(req);
  if (!meta) {
    respond(error_response(meta.error()));
    return;
  }
  ctx.gw.send(actors::command_request<user_aggregate>{id, std::move(cmd), std::move(*meta)},
              [&ctx, k = std::move(k), respond](actors::command_outcome o) {
                if (!o) {
                  respond(error_response(o.error()));
                  return;
                }
                ctx.proj.when_applied(last_position(*o), k);
              });
}

/// A new token for `user_id`: recorded on the user (so it can be revoked), then signed.
void issue_token(access_context& ctx, const http_request& req, const std::string& user_id,
                 const std::string& kind, const std::string& name, std::int64_t ttl,
                 unsigned status, responder respond) {
  const auto token_id = security::random_token(24);
  const auto issued = now_seconds();
  user_command(
      ctx, req, user_id, user::issue_token{token_id, kind, name, issued, issued + ttl},
      [&ctx, user_id, kind, token_id, issued, ttl, status, respond] {
        respond(json_response(
            status, json{{"token", ctx.access.issue(user_id, kind, token_id, issued, issued + ttl)},
                         {"tokenId", token_id},
                         {"kind", kind},
                         {"user", user_id},
                         {"expiresAt", rfc3339((issued + ttl) * 1'000'000'000LL)}}));
      },
      respond);
}

void login(access_context& ctx, const http_request& req, const path_params&, responder respond) {
  with_body(req, respond, {"user", "password"}, [&](const json& b) {
    std::string id;
    std::string password;
    status ok = read_string(b, "user", id, true, 64);
    if (ok)
      ok = read_string(b, "password", password, true, security::max_password_bytes);
    if (!ok) {
      respond(error_response(ok.error()));
      return;
    }
    if (const auto wait = ctx.logins.blocked(id, req.remote); wait.count() > 0) {
      auto resp =
          error_response(429, "LOGIN_THROTTLED", "too many failed logins; wait before trying again",
                         json{{"retryAfterSeconds", wait.count()}});
      resp.headers.emplace_back("Retry-After", std::to_string(wait.count()));
      respond(std::move(resp));
      return;
    }
    const auto u = ctx.proj.inv().get<user_aggregate>(id);
    // An unknown user costs the same hash as a known one: timing does not tell who exists.
    const std::string stored = u ? u->state.password_hash() : std::string{};
    const bool usable = u && !u->state.disabled();
    const bool queued = ctx.hashing.post([&ctx, req, id, password, stored, usable, respond] {
      if (!security::verify_password(stored.empty() ? dummy_hash() : stored, password) || !usable) {
        ctx.logins.failed(id, req.remote);
        respond(
            error_response(401, "LOGIN_FAILED", "unknown user or wrong password", json::object()));
        return;
      }
      ctx.logins.succeeded(id, req.remote);
      http_request as_user = req;
      as_user.principal = "user:" + id;
      issue_token(ctx, as_user, id, "session", "", access_control::session_seconds, 200, respond);
    });
    if (!queued)
      respond(busy());
  });
}

void logout(access_context& ctx, const http_request& req, const path_params&, responder respond) {
  if (req.user.empty()) {
    respond(error_response(409, "NOT_SIGNED_IN", "authentication is off", json::object()));
    return;
  }
  // Logout takes no fields; a body that is not an empty JSON object is refused before the
  // token is revoked, as every route refuses what it cannot read.
  if (!req.body.empty()) {
    auto body = body_of(req);
    if (!body) {
      respond(error_response(body.error()));
      return;
    }
    if (auto ok = only_fields(*body, {}); !ok) {
      respond(error_response(ok.error()));
      return;
    }
  }
  user_command(
      ctx, req, req.user, user::revoke_token{req.token_id},
      [respond] {
        respond(http_response{204, "", "application/json", {}});
      },
      respond);
}

/// Users other than `except`, enabled, who may manage access on the datacenter.
bool another_access_manager(const access_context& ctx, const std::string& except) {
  const auto& inv = ctx.proj.inv();
  for (const auto& u : inv.list<user_aggregate>("", 100'000))
    if (u.state.id() != except && !u.state.disabled() &&
        access_control::allowed(inv, u.state.id(), "access.manage", "datacenter"))
      return true;
  return false;
}

/// The 409 that keeps user management reachable: the last enabled user who may manage access
/// cannot be deleted or disabled, and nobody removes their own grant that lets them manage
/// access (vCenter refuses removing the last administrator the same way).
std::optional<http_response> last_admin_refusal(const access_context& ctx, const http_request& req,
                                                const std::string& target,
                                                const std::string* revoked_object) {
  const auto& inv = ctx.proj.inv();
  if (!ctx.access.enabled())
    return std::nullopt;
  const auto u = inv.get<user_aggregate>(target);
  if (!u || u->state.disabled() ||
      !access_control::allowed(inv, target, "access.manage", "datacenter"))
    return std::nullopt;
  if (revoked_object != nullptr) {
    const auto g = u->state.grants().find(*revoked_object);
    if (g == u->state.grants().end())
      return std::nullopt;
    auto privileges = domain::access::builtin_role(g->second.role());
    if (!privileges)
      if (const auto custom = inv.get<role_aggregate>(g->second.role()))
        privileges.emplace(custom->state.privileges().begin(), custom->state.privileges().end());
    if (!privileges ||
        std::find(privileges->begin(), privileges->end(), "access.manage") == privileges->end())
      return std::nullopt;
    if (target == req.user)
      return error_response(409, "SELF_ADMIN_GRANT",
                            "you cannot remove your own grant that lets you manage access; "
                            "ask another administrator",
                            json{{"reason", "SELF_ADMIN_GRANT"}, {"object", *revoked_object}});
  }
  if (another_access_manager(ctx, target))
    return std::nullopt;
  return error_response(409, "LAST_ADMIN",
                        "user " + target +
                            " is the last enabled user who may manage access; grant another "
                            "user admin on the datacenter first",
                        json{{"reason", "LAST_ADMIN"}, {"user", target}});
}

/// `inner`, unless it would leave nobody to manage access.
template<class Inner>
auto guard_last_admin(Inner inner) {
  return [inner = std::move(inner)](access_context& ctx, const http_request& req,
                                    const path_params& p, responder respond) {
    if (auto refusal = last_admin_refusal(ctx, req, p.at("id"), nullptr)) {
      respond(std::move(*refusal));
      return;
    }
    inner(ctx, req, p, std::move(respond));
  };
}

json grants_json(const user::state& s) {
  json out = json::array();
  for (const auto& [object, g] : s.grants())
    out.push_back({{"object", object}, {"role", g.role()}, {"propagate", g.propagate()}});
  return out;
}

void me(access_context& ctx, const http_request& req, const path_params&, responder respond) {
  const auto u = ctx.proj.inv().get<user_aggregate>(req.user);
  respond(json_response(200, json{{"principal", req.principal},
                                  {"user", req.user},
                                  {"name", u ? u->state.name() : ""},
                                  {"tokenId", req.token_id},
                                  {"grants", u ? grants_json(u->state) : json::array()}}));
}

void create_user(access_context& ctx, const http_request& req, const path_params&,
                 responder respond) {
  with_body(req, respond, {"id", "name", "password"}, [&](const json& b) {
    std::string id;
    std::string name;
    std::string password;
    status ok = read_string(b, "id", id, true, 64);
    if (ok)
      ok = domain::access::check_user_id("id", id);
    if (ok)
      ok = read_string(b, "name", name, false, 128);
    if (ok)
      ok = read_string(b, "password", password, true, security::max_password_bytes + 1);
    if (!ok) {
      respond(error_response(ok.error()));
      return;
    }
    if (name.empty())
      name = id;
    with_hash(ctx, password, respond, [&ctx, req, id, name](std::string hash, responder r) {
      write<user_aggregate>(ctx, req, id, user::create{name, std::move(hash)}, 201, std::move(r));
    });
  });
}

void change_password(access_context& ctx, const http_request& req, const path_params& p,
                     responder respond) {
  with_body(req, respond, {"password"}, [&](const json& b) {
    std::string password;
    if (auto ok = read_string(b, "password", password, true, security::max_password_bytes + 1);
        !ok) {
      respond(error_response(ok.error()));
      return;
    }
    with_hash(ctx, password, respond, [&ctx, req, id = p.at("id")](std::string hash, responder r) {
      write<user_aggregate>(ctx, req, id, user::change_password{std::move(hash)}, 200,
                            std::move(r));
    });
  });
}

bool role_exists(const access_context& ctx, const std::string& name) {
  return domain::access::builtin_role(name) || ctx.proj.inv().get<role_aggregate>(name);
}

result<user::command> grant_of(const access_context& ctx, const json& b) {
  user::grant g;
  status ok = read_string(b, "object", g.object, true, 128);
  if (ok)
    ok = read_string(b, "role", g.role, true, 64);
  if (ok)
    ok = read_bool(b, "propagate", g.propagate);
  if (!ok)
    return ok.error();
  if (!role_exists(ctx, g.role))
    return error{errc::invalid_argument, "role " + g.role + " does not exist", {{"field", "role"}}};
  return user::command{std::move(g)};
}

void grant(access_context& ctx, const http_request& req, const path_params& p, responder respond) {
  with_body(req, respond, {"object", "role", "propagate"}, [&](const json& b) {
    auto cmd = grant_of(ctx, b);
    if (!cmd) {
      respond(error_response(cmd.error()));
      return;
    }
    write<user_aggregate>(ctx, req, p.at("id"), std::move(*cmd), 200, respond);
  });
}

void revoke_grant(access_context& ctx, const http_request& req, const path_params& p,
                  responder respond) {
  const auto object = req.query.find("object");
  if (object == req.query.end()) {
    respond(
        error_response(400, "INVALID_ARGUMENT", "object is required", json{{"field", "object"}}));
    return;
  }
  if (auto refusal = last_admin_refusal(ctx, req, p.at("id"), &object->second)) {
    respond(std::move(*refusal));
    return;
  }
  write<user_aggregate>(ctx, req, p.at("id"), user::revoke_grant{object->second}, 200, respond);
}

void new_api_token(access_context& ctx, const http_request& req, const path_params& p,
                   responder respond) {
  with_body(req, respond, {"name", "ttlSeconds"}, [&](const json& b) {
    std::string name;
    std::uint64_t ttl = 90ULL * 24 * 3600;
    status ok = read_string(b, "name", name, false, 128);
    if (ok)
      ok = read_u64(b, "ttlSeconds", ttl, false);
    if (ok && (ttl < 60 || ttl > 366ULL * 24 * 3600))
      ok = error{errc::invalid_argument, "ttlSeconds is 60 .. 31622400", {{"field", "ttlSeconds"}}};
    if (!ok) {
      respond(error_response(ok.error()));
      return;
    }
    if (!ctx.proj.inv().get<user_aggregate>(p.at("id"))) {
      respond(not_found<user_aggregate>(p.at("id")));
      return;
    }
    issue_token(ctx, req, p.at("id"), "api", name, static_cast<std::int64_t>(ttl), 201, respond);
  });
}

void revoke_token(access_context& ctx, const http_request& req, const path_params& p,
                  responder respond) {
  write<user_aggregate>(ctx, req, p.at("id"), user::revoke_token{p.at("tokenId")}, 200, respond);
}

result<std::vector<std::string>> privileges_of(const json& b) {
  const auto it = b.find("privileges");
  if (it == b.end() || !it->is_array() || it->size() > 64)
    return error{errc::invalid_argument,
                 "privileges is an array of privilege names",
                 {{"field", "privileges"}}};
  std::vector<std::string> out;
  for (const auto& p : *it) {
    if (!p.is_string())
      return error{errc::invalid_argument, "privileges are strings", {{"field", "privileges"}}};
    out.push_back(p.get<std::string>());
  }
  return out;
}

json role_json(const std::string& id, const std::vector<std::string>& privileges, bool builtin) {
  return {{"id", id}, {"privileges", privileges}, {"builtin", builtin}};
}

void list_roles(access_context& ctx, const http_request&, const path_params&, responder respond) {
  const auto at = ctx.proj.position();
  json items = json::array();
  for (const char* b : {"admin", "operator", "viewer"})
    items.push_back(role_json(b, *domain::access::builtin_role(b), true));
  for (const auto& r : ctx.proj.inv().list<role_aggregate>("", 10'000))
    items.push_back(
        role_json(r.state.id(), {r.state.privileges().begin(), r.state.privileges().end()}, false));
  auto resp = list_response(std::move(items), "");
  resp.headers.emplace_back(log_position_header, std::to_string(at));
  respond(std::move(resp));
}

void get_role(access_context& ctx, const http_request& req, const path_params& p,
              responder respond) {
  if (auto b = domain::access::builtin_role(p.at("id"))) {
    auto resp = json_response(200, role_json(p.at("id"), *b, true));
    resp.headers.emplace_back(log_position_header, std::to_string(ctx.proj.position()));
    respond(std::move(resp));
    return;
  }
  read_one<role_aggregate>(ctx, req, p.at("id"), respond);
}

void audit(access_context& ctx, const http_request& req, const path_params&, responder respond) {
  auto p = page_of(req);
  if (!p) {
    respond(error_response(p.error()));
    return;
  }
  audit_query q;
  q.limit = p->limit;
  if (req.query.contains("pageToken")) {
    const auto& after = p->after;
    const auto r = std::from_chars(after.data(), after.data() + after.size(), q.after_position);
    if (r.ec != std::errc{} || r.ptr != after.data() + after.size()) {
      respond(error_response(400, "INVALID_ARGUMENT", "pageToken is not one of ours",
                             json{{"field", "pageToken"}}));
      return;
    }
  }
  for (const auto& [key, value] : req.query) {
    if (key == "principal") {
      q.principal = value;
    } else if (key == "object") {
      q.object = value;
    } else if (key == "from" || key == "to") {
      const auto t = parse_rfc3339(value);
      if (!t) {
        respond(error_response(400, "INVALID_ARGUMENT", key + " must be an RFC 3339 time",
                               json{{"field", key}}));
        return;
      }
      (key == "from" ? q.from_ns : q.to_ns) = *t;
    } else if (key != "limit" && key != "pageToken") {
      respond(error_response(400, "INVALID_ARGUMENT", "unknown query parameter " + key,
                             json{{"field", key}}));
      return;
    }
  }
  const auto at = ctx.proj.position();
  const auto rows = ctx.audit.query(q);
  json items = json::array();
  for (std::size_t i = 0; i < rows.size() && i < q.limit; ++i) {
    const auto& a = rows[i];
    items.push_back({{"position", a.position},
                     {"time", rfc3339(a.time_unix_ns)},
                     {"principal", a.principal},
                     {"remote", a.remote},
                     {"method", a.method},
                     {"path", a.path},
                     {"object", a.object},
                     {"action", a.action},
                     {"privilege", a.privilege},
                     {"status", a.status},
                     {"code", a.code},
                     {"requestId", a.request_id},
                     {"count", a.count},
                     {"firstTime", rfc3339(a.first_unix_ns)}});
  }
  auto resp = list_response(std::move(items), rows.size() > q.limit
                                                  ? std::to_string(rows[q.limit - 1].position)
                                                  : std::string{});
  resp.headers.emplace_back(log_position_header, std::to_string(at));
  respond(std::move(resp));
}

} // namespace

void add_access_routes(router& r) {
  r.add("GET", "/api/v1/audit", audit);
  r.add("POST", "/api/v1/auth/login", login);
  r.add("POST", "/api/v1/auth/logout", logout);
  r.add("GET", "/api/v1/auth/me", me);
  list_route<user_aggregate>(r, "/api/v1/users");
  r.add("POST", "/api/v1/users", create_user);
  r.add(
      "DELETE", "/api/v1/users/{id}",
      guard_last_admin(command_route<user_aggregate>({}, 200, [](const json&, const path_params&) {
        return result<user::command>{user::remove{}};
      })));
  r.add("POST", "/api/v1/users/{id}/password", change_password);
  r.add("POST", "/api/v1/users/{id}/disable",
        guard_last_admin(
            command_route<user_aggregate>({"reason"}, 200, [](const json& b, const path_params&) {
              user::disable c;
              if (auto ok = read_string(b, "reason", c.reason, false, 512); !ok)
                return result<user::command>{ok.error()};
              return result<user::command>{std::move(c)};
            })));
  r.add("POST", "/api/v1/users/{id}/enable",
        command_route<user_aggregate>({}, 200, [](const json&, const path_params&) {
          return result<user::command>{user::enable{}};
        }));
  r.add("POST", "/api/v1/users/{id}/grants", grant);
  r.add("DELETE", "/api/v1/users/{id}/grants", revoke_grant);
  r.add("POST", "/api/v1/users/{id}/tokens", new_api_token);
  r.add("DELETE", "/api/v1/users/{id}/tokens/{tokenId}", revoke_token);
  r.add("GET", "/api/v1/roles", list_roles);
  r.add("GET", "/api/v1/roles/{id}", get_role);
  r.add("POST", "/api/v1/roles",
        command_route<role_aggregate>({"id", "privileges"}, 201,
                                      [](const json& b, const path_params&) {
                                        auto p = privileges_of(b);
                                        if (!p)
                                          return result<role::command>{p.error()};
                                        return result<role::command>{role::create{std::move(*p)}};
                                      }));
  r.add("PUT", "/api/v1/roles/{id}",
        command_route<role_aggregate>({"privileges"}, 200, [](const json& b, const path_params&) {
          auto p = privileges_of(b);
          if (!p)
            return result<role::command>{p.error()};
          return result<role::command>{role::update{std::move(*p)}};
        }));
  r.add("DELETE", "/api/v1/roles/{id}",
        command_route<role_aggregate>({}, 200, [](const json&, const path_params&) {
          return result<role::command>{role::remove{}};
        }));
}

} // namespace qx::api
