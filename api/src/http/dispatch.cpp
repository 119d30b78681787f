#include "context.hpp"
#include "request_text.hpp"
#include "responses.hpp"
#include "route_policy.hpp"
#include "router.hpp"

#include <qx/base/log.hpp>
#include <qx/base/utf8.hpp>
#include <qx/events/v1/access.pb.h>

#include <cctype>
#include <chrono>
#include <iostream>
#include <memory>

namespace qx::api {

namespace {

/// Media types are case-insensitive (RFC 9110, 8.3.1); parameters may follow.
bool has_json_type(const std::string& content_type) {
  const auto semi = content_type.find(';');
  auto type = content_type.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
    type.pop_back();
  for (auto& c : type)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
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

namespace {

/// Appends one audit record; `done` runs when it is durable (or failed, which is logged).
void append_audit(api_context& ctx, events::v1::AuditRecorded a, std::function<void()> done) {
  events::append_request req;
  req.stream = audit_stream;
  req.expected = events::expected_version::any();
  req.metadata.actor = a.principal();
  req.metadata.correlation_id = a.request_id();
  req.events.push_back({"qx.events.v1.AuditRecorded", a.SerializeAsString()});
  ctx.store.append_async(std::move(req),
                         [request = a.request_id(), done = std::move(done)](auto r) {
                           if (!r)
                             log::error("audit", "audit append failed",
                                        {{"request", request}, {"error", r.error().to_string()}});
                           if (done)
                             done();
                         });
}

events::v1::AuditRecorded record_of(const denial_record& d) {
  events::v1::AuditRecorded a;
  a.set_principal("anonymous");
  a.set_remote(d.remote);
  a.set_method(d.method);
  a.set_path(d.path);
  a.set_object("datacenter");
  a.set_action(d.action);
  a.set_status(d.status);
  a.set_code(d.code);
  a.set_request_id(d.request_id);
  a.set_privilege("none");
  a.set_count(d.count);
  a.set_first_unix_ns(d.first_ns);
  return a;
}

} // namespace

void record_denials(api_context& ctx, std::vector<denial_record> due, std::function<void()> done) {
  if (due.empty()) {
    if (done)
      done();
    return;
  }
  // `done` runs once every due record is durable.
  auto left = std::make_shared<std::atomic<std::size_t>>(due.size());
  auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
  for (const auto& d : due)
    append_audit(ctx, record_of(d), [left, shared_done] {
      if (left->fetch_sub(1) == 1 && *shared_done)
        (*shared_done)();
    });
}

void audit_then(api_context& ctx, const audit_info& info, http_response resp,
                std::function<void(http_response)> send) {
  // Every text of the record is carried escaped and bounded (recorded_text): what the store
  // holds must read back, and a request that came here may hold any byte (issue 15).
  auto shared = std::make_shared<http_response>(std::move(resp));
  auto answer = [shared, send = std::move(send)] {
    send(std::move(*shared));
  };
  if (info.principal == "anonymous" && shared->status >= 400) {
    denial_record d;
    d.source = host_of(info.remote);
    d.status = shared->status;
    d.first_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
    d.method = recorded_text(info.method, 16);
    d.path = recorded_text(info.path, 1024);
    d.action = recorded_text(info.action, 256);
    d.code = code_of(*shared);
    d.request_id = recorded_text(info.request_id, 128);
    d.remote = recorded_text(info.remote, 64);
    record_denials(ctx, ctx.denials.note(std::move(d), denial_ledger::clock::now()),
                   std::move(answer));
    return;
  }
  events::v1::AuditRecorded a;
  a.set_principal(info.principal);
  a.set_remote(recorded_text(info.remote, 64));
  a.set_method(recorded_text(info.method, 16));
  a.set_path(recorded_text(info.path, 1024));
  a.set_object(recorded_text(info.object, 256));
  a.set_action(recorded_text(info.action, 256));
  a.set_status(shared->status);
  a.set_code(code_of(*shared));
  a.set_request_id(recorded_text(info.request_id, 128));
  a.set_privilege(info.privilege);
  a.set_count(1);
  append_audit(ctx, std::move(a), std::move(answer));
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
  // Requests without a valid token draw from their address's bucket: one without any token
  // before anything else is done for it, one whose token fails once the signature check has
  // refused it (a signed-in user behind the same address is never limited by the others).
  const auto address = host_of(req.remote);
  const auto anonymous_limited = [&] {
    auto resp = error_response(429, "RATE_LIMITED",
                               "too many requests without a valid token from " + address,
                               json{{"address", address}});
    resp.headers.emplace_back("Retry-After", "1");
    return resp;
  };
  if (policy->privilege == "public" && !ctx.anonymous_rates.allow(address))
    return anonymous_limited();
  if (policy->privilege != "public") {
    const bool no_token = req.authorization.empty();
    if (no_token && !ctx.anonymous_rates.allow(address))
      return anonymous_limited();
    auto who = ctx.access->authenticate(ctx.proj.inv(), req.authorization, now_seconds());
    if (!who) {
      if (!no_token && !ctx.anonymous_rates.allow(address))
        return anonymous_limited();
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
  const auto bucket = req.user.empty() ? "anonymous@" + address : req.principal;
  if (!req.user.empty() && !ctx.rates.allow(bucket)) {
    auto resp = error_response(429, "RATE_LIMITED", "too many requests from " + bucket,
                               json{{"principal", bucket}});
    resp.headers.emplace_back("Retry-After", "1");
    return resp;
  }
  return std::nullopt;
}

void dispatch(api_context& ctx, const router& routes, http_request req,
              std::function<void(http_response, const std::string& route)> respond) {
  if (ctx.stopping.load()) {
    auto resp = error_response(503, "SHUTTING_DOWN", "the server is stopping");
    resp.headers.emplace_back("Connection", "close");
    respond(std::move(resp), "unmatched");
    return;
  }
  const bool writes = req.method != "GET" && req.method != "HEAD";
  const bool auditing = ctx.access != nullptr && ctx.access->enabled();
  std::optional<http_response> early = refuse_malformed_text(req);
  router::match m;
  if (!early) {
    m = routes.find(req.method, req.path);
    if (m.found == nullptr && !m.allow.empty()) {
      early =
          error_response(405, "METHOD_NOT_ALLOWED", req.method + " is not allowed on " + req.path,
                         json{{"allow", m.allow}});
      early->headers.emplace_back("Allow", m.allow);
    } else if (m.found == nullptr) {
      early = error_response(404, "NOT_FOUND", "no route for " + req.path);
    }
  }
  if (early) {
    // A mutating request is audited even when nothing answers it (a probe is worth a record).
    if (!auditing || !writes) {
      respond(std::move(*early), "unmatched");
      return;
    }
    audit_info info{"anonymous",    req.remote,   req.method,
                    req.path,       "datacenter", req.method + " (no route)",
                    req.request_id, "none"};
    if (is_clean_text(req.authorization, true) && !req.authorization.empty())
      if (auto who = ctx.access->authenticate(ctx.proj.inv(), req.authorization, now_seconds()))
        info.principal = "user:" + who->user;
    audit_then(ctx, info, std::move(*early),
               [respond](http_response r) { respond(std::move(r), "unmatched"); });
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
  if (auditing) {
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
  found->fn(ctx.groups(), req, m.params, std::move(done));
}

} // namespace qx::api
