// GET /api/v1/datacenter?asOf=: every resource as it was at a log position or a time, the
// console's time travel. The same fold as `qvdc replay` (replay.cpp); it reads the log from
// the start, so it runs on the blocking pool, never on an I/O thread.

#include "handler_contexts.hpp"
#include "handlers_common.hpp"
#include "responses.hpp"
#include "router.hpp"

#include <qx/api/replay.hpp>

namespace qx::api {

namespace {

/// What a reader of the datacenter may see of a replay: not the users and roles (their own
/// routes ask for more than read on the datacenter).
constexpr std::string_view hidden_kinds[] = {"user", "role"};

void datacenter_as_of(agent_context& ctx, const http_request& req, const path_params& /*p*/,
                      responder respond) {
  const auto* as_of = as_of_of(req);
  if (as_of == nullptr) {
    respond(error_response(error{errc::invalid_argument,
                                 "asOf is required: a log position or an RFC 3339 time",
                                 {{"field", "asOf"}}}));
    return;
  }
  auto bound = parse_replay_bound(*as_of, "asOf", ctx.store.head().position);
  if (!bound) {
    respond(error_response(bound.error()));
    return;
  }
  auto shared = std::make_shared<responder>(std::move(respond));
  const bool queued = ctx.blocking.post([&ctx, until = *bound, shared] {
    auto text = replay_datacenter(ctx.store, until);
    if (!text) {
      (*shared)(error_response(text.error()));
      return;
    }
    auto body = json::parse(*text);
    for (const auto kind : hidden_kinds)
      body["resources"].erase(std::string{kind});
    const auto position = body.value("position", std::uint64_t{0});
    auto resp = json_response(200, body);
    resp.headers.emplace_back(log_position_header, std::to_string(position));
    (*shared)(std::move(resp));
  });
  if (!queued) {
    auto resp = error_response(503, "BUSY", "too many replays and discoveries waiting");
    resp.headers.emplace_back("Retry-After", "1");
    (*shared)(std::move(resp));
  }
}

} // namespace

void add_history_routes(router& r) {
  r.add("GET", "/api/v1/datacenter", datacenter_as_of);
}

} // namespace qx::api
