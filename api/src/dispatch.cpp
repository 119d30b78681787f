#include "context.hpp"
#include "responses.hpp"
#include "route_policy.hpp"
#include "router.hpp"

#include <qx/events/v1/access.pb.h>

#include <iostream>
#include <memory>

namespace qx::api {

namespace {

bool has_json_type(const std::string& content_type) {
  const auto semi = content_type.find(';');
  auto type = content_type.substr(0, semi);
  while (!type.empty() && type.back() == ' ')
    type.pop_back();
  return type == "application/json";
}

/// Decrements the in-flight count once, whenever the response goes out.
struct in_flight_slot {
  std::atomic<std::size_t>& count;
  explicit in_flight_slot(std::atomic<std::size_t>& c) : count(c) {}
  ~in_flight_slot() { count.fetch_sub(1); }
  in_flight_slot(const in_flight_slot&) = delete;
  in_flight_slot& operator=(const in_flight_slot&) = delete;
};

std::string code_of(const http_response& resp) {
  if (resp.status < 400)
    return {};
  const auto j = json::parse(resp.body, nullptr, false);
  if (j.is_discarded() || !j.contains("error") || !j["error"].contains("code"))
    return {};
  return j["error"]["code"].is_string() ? j["error"]["code"].get<std::string>() : std::string{};
}

} // namespace

void audit_then(api_context& ctx, const audit_info& info, http_response resp,
                std::function<void(http_response)> send) {
  events::v1::AuditRecorded a;
  a.set_principal(info.principal);
  a.set_remote(info.remote);
  a.set_method(info.method);
  a.set_path(info.path.substr(0, 1024));
  a.set_object(info.object);
  a.set_action(info.action);
  a.set_status(resp.status);
  a.set_code(code_of(resp));
  a.set_request_id(info.request_id);
  a.set_privilege(info.privilege);
  events::append_request req;
  req.stream = audit_stream;
  req.expected = events::expected_version::any();
  req.events.push_back({"qx.events.v1.AuditRecorded", a.SerializeAsString()});
  req.metadata.actor = info.principal;
  req.metadata.correlation_id = info.request_id;
  auto shared = std::make_shared<http_response>(std::move(resp));
  ctx.store.append_async(std::move(req), [shared, send = std::move(send), info](auto r) {
    if (!r)
      std::cerr << R"({"level":"error","msg":"audit append failed","request":")" << info.request_id
                << R"(","error":)" << json(r.error().to_string()) << "}\n";
    send(std::move(*shared));
  });
}

std::optional<http_response> gate(api_context& ctx, http_request& req, const std::string& pattern,
                                  const path_params& params, audit_info& info) {
  const auto policy = policy_of(req.method, pattern);
  info = audit_info{"anonymous",
                    req.remote,
                    req.method,
                    req.path,
                    policy ? access_control::object_of(policy->object, params) : "datacenter",
                    req.method + " " + pattern,
                    req.request_id,
                    policy ? policy->privilege : "none"};
  if (ctx.access == nullptr || !ctx.access->enabled())
    return std::nullopt;
  if (!policy)
    return error_response(403, "PERMISSION_DENIED", "no policy allows this route",
                          json{{"route", info.action}});
  if (policy->privilege != "public") {
    auto who = ctx.access->authenticate(ctx.proj.inv(), req.authorization, now_seconds());
    if (!who) {
      auto resp = error_response(who.error());
      resp.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="qvdc")");
      return resp;
    }
    req.user = who->user;
    req.token_id = who->token_id;
    req.principal = "user:" + who->user;
    info.principal = req.principal;
    // A list is open to every signed-in user and shows what they may read, as vSphere's
    // inventory does; the handler filters it.
    req.readable_only = policy->privilege == "list";
    if (policy->privilege != "authenticated" && policy->privilege != "list" &&
        !access_control::allowed(ctx.proj.inv(), req.user, policy->privilege, info.object))
      return error_response(403, "PERMISSION_DENIED",
                            req.principal + " lacks " + policy->privilege + " on " + info.object,
                            json{{"privilege", policy->privilege}, {"object", info.object}});
  }
  const auto bucket = req.user.empty() ? "anonymous@" + host_of(req.remote) : req.principal;
  if (!ctx.rates.allow(bucket)) {
    auto resp = error_response(429, "RATE_LIMITED", "too many requests from " + bucket,
                               json{{"principal", bucket}});
    resp.headers.emplace_back("Retry-After", "1");
    return resp;
  }
  return std::nullopt;
}

void dispatch(api_context& ctx, const router& routes, http_request req,
              std::function<void(http_response, const std::string& route)> respond) {
  auto m = routes.find(req.method, req.path);
  if (m.found == nullptr) {
    if (!m.allow.empty()) {
      auto resp =
          error_response(405, "METHOD_NOT_ALLOWED", req.method + " is not allowed on " + req.path,
                         json{{"allow", m.allow}});
      resp.headers.emplace_back("Allow", m.allow);
      respond(std::move(resp), "unmatched");
      return;
    }
    respond(error_response(404, "NOT_FOUND", "no route for " + req.path), "unmatched");
    return;
  }
  const std::string& pattern = m.found->pattern;
  if (!ctx.proj.caught_up()) {
    auto resp = error_response(503, "NOT_READY", "the read models are replaying the log",
                               json{{"position", ctx.proj.position()}});
    resp.headers.emplace_back("Retry-After", "1");
    respond(std::move(resp), pattern);
    return;
  }
  const bool writes = req.method != "GET";
  if (ctx.access != nullptr && ctx.access->enabled()) {
    audit_info info;
    if (auto refusal = gate(ctx, req, pattern, m.params, info)) {
      audit_then(ctx, info, std::move(*refusal),
                 [respond, pattern](http_response r) { respond(std::move(r), pattern); });
      return;
    }
    if (writes) {
      auto inner = std::move(respond);
      respond = [&ctx, info, inner](http_response resp, const std::string& route) {
        audit_then(ctx, info, std::move(resp),
                   [inner, route](http_response r) { inner(std::move(r), route); });
      };
    }
  }
  // The upload route takes multipart/form-data and checks it itself.
  if (writes && !req.body.empty() && !has_json_type(req.content_type) &&
      pattern != "/api/v1/images/upload") {
    respond(error_response(415, "UNSUPPORTED_MEDIA_TYPE", "bodies must be application/json",
                           json{{"contentType", req.content_type}}),
            pattern);
    return;
  }
  if (writes && ctx.in_flight.fetch_add(1) >= ctx.max_in_flight) {
    ctx.in_flight.fetch_sub(1);
    auto resp = error_response(429, "TOO_MANY_REQUESTS", "too many commands in flight",
                               json{{"limit", ctx.max_in_flight}});
    resp.headers.emplace_back("Retry-After", "1");
    respond(std::move(resp), pattern);
    return;
  }
  auto slot = writes ? std::make_shared<in_flight_slot>(ctx.in_flight) : nullptr;
  std::string key;
  std::string fingerprint;
  if (req.method == "POST" && !req.idempotency_key.empty()) {
    if (req.idempotency_key.size() > 255) {
      respond(error_response(400, "INVALID_ARGUMENT", "Idempotency-Key is at most 255 bytes",
                             json{{"field", "Idempotency-Key"}}),
              pattern);
      return;
    }
    key = req.principal + "\n" + req.idempotency_key;
    fingerprint = req.method + " " + req.path + "\n" + stable_hash(req.body);
    if (auto hit = ctx.idempotency.find(key, fingerprint)) {
      if (!hit->same_request) {
        respond(error_response(422, "IDEMPOTENCY_KEY_REUSED",
                               "this Idempotency-Key was used for another request",
                               json{{"field", "Idempotency-Key"}}),
                pattern);
        return;
      }
      hit->response.headers.emplace_back("Idempotent-Replayed", "true");
      respond(std::move(hit->response), pattern);
      return;
    }
  }
  const auto* found = m.found;
  responder done = [&ctx, key, fingerprint, pattern, slot, respond](http_response resp) {
    if (!key.empty() && resp.status < 500 && resp.status != 429)
      ctx.idempotency.store(key, fingerprint, resp);
    respond(std::move(resp), pattern);
  };
  found->fn(ctx, req, m.params, std::move(done));
}

} // namespace qx::api
