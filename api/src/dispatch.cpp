#include "context.hpp"
#include "responses.hpp"
#include "router.hpp"

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

} // namespace

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
