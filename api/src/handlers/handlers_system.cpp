// /api/v1/events, /api/v1/operations and /api/v1/alerts.
#include "event_json.hpp"
#include "handlers_common.hpp"

#include <charconv>

namespace qx::api {

namespace {

using actors::alert_aggregate;

status read_position(const http_request& req, const char* key, std::uint64_t& out) {
  const auto it = req.query.find(key);
  if (it == req.query.end())
    return {};
  const auto& v = it->second;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size())
    return invalid_field(key,
                         std::string{key} + " must be a log position (a non-negative integer)");
  return {};
}

status read_time(const http_request& req, const char* key, std::int64_t& out) {
  const auto it = req.query.find(key);
  if (it == req.query.end())
    return {};
  const auto t = parse_rfc3339(it->second);
  if (!t)
    return invalid_field(key,
                         std::string{key} + " must be an RFC 3339 time, e.g. 2026-11-23T08:00:00Z");
  out = *t;
  return {};
}

result<projections::event_query> event_query_of(const http_request& req) {
  projections::event_query q;
  for (const auto& [key, value] : req.query) {
    static constexpr std::string_view known[] = {"stream", "principal",    "type",       "fromTime",
                                                 "toTime", "fromPosition", "toPosition", "limit"};
    if (std::find(std::begin(known), std::end(known), key) == std::end(known))
      return invalid_field(key, "unknown query parameter " + key);
    if (value.size() > 256)
      return invalid_field(key, key + " is longer than 256 bytes");
  }
  auto get = [&](const char* k) {
    const auto it = req.query.find(k);
    return it == req.query.end() ? std::string{} : it->second;
  };
  q.stream = get("stream");
  q.principal = get("principal");
  q.type = get("type");
  auto p = page_of(req);
  if (!p)
    return p.error();
  q.limit = p->limit;
  status ok = read_time(req, "fromTime", q.from_time_ns);
  if (ok)
    ok = read_time(req, "toTime", q.to_time_ns);
  if (ok)
    ok = read_position(req, "fromPosition", q.from_position);
  if (ok)
    ok = read_position(req, "toPosition", q.to_position);
  if (!ok)
    return ok.error();
  return q;
}

void query_events(resource_context& ctx, const http_request& req, const path_params&,
                  responder respond) {
  auto q = event_query_of(req);
  if (!q) {
    respond(error_response(q.error()));
    return;
  }
  json items = json::array();
  std::uint64_t last = 0;
  for (const auto position : ctx.proj.index().find(*q)) {
    auto one = ctx.store.read_all(position, 1);
    if (!one) {
      respond(error_response(one.error()));
      return;
    }
    if (!one->empty())
      items.push_back(event_to_json(one->front()));
    last = position;
  }
  const bool full = items.size() == q->limit;
  respond(json_response(
      200, json{{"items", std::move(items)}, {"nextFromPosition", full ? last + 1 : 0}}));
}

void list_operations(resource_context& ctx, const http_request& req, const path_params&,
                     responder respond) {
  auto p = page_of(req);
  if (!p) {
    respond(error_response(p.error()));
    return;
  }
  for (const auto& [key, value] : req.query)
    if (key != "limit" && key != "pageToken") {
      respond(error_response(invalid_field(key, "unknown query parameter " + key)));
      return;
    }
  const auto at = ctx.proj.position();
  const auto ops = ctx.ops.list(p->after, p->limit + 1);
  json items = json::array();
  for (std::size_t i = 0; i < ops.size() && i < p->limit; ++i)
    items.push_back(to_json(ops[i]));
  auto resp = list_response(std::move(items), ops.size() > p->limit ? ops[p->limit - 1].id : "");
  resp.headers.emplace_back(log_position_header, std::to_string(at));
  respond(std::move(resp));
}

json alert_json(const projections::alert& a) {
  return json{{"id", a.id},
              {"rule", a.rule},
              {"severity", a.severity},
              {"state", a.state},
              {"target", a.target},
              {"message", a.message},
              {"raisedAt", rfc3339(a.raised_ns)},
              {"raisedPosition", a.raised_position},
              {"acknowledgedBy", a.acknowledged_by},
              {"resolvedBy", a.resolved_by},
              {"version", a.stream_version}};
}

/// One alert, with the version If-Match checks as its ETag and the position it reflects.
http_response alert_response(const projections::alert& a) {
  auto resp = json_response(200, alert_json(a));
  resp.headers.emplace_back("ETag", "\"" + std::to_string(a.stream_version) + "\"");
  resp.headers.emplace_back(log_position_header, std::to_string(a.position));
  return resp;
}

void list_alerts(resource_context& ctx, const http_request& req, const path_params&,
                 responder respond) {
  auto p = page_of(req);
  if (!p) {
    respond(error_response(p.error()));
    return;
  }
  std::string state;
  std::string severity;
  for (const auto& [key, value] : req.query) {
    if (key == "state")
      state = value;
    else if (key == "severity")
      severity = value;
    else if (key != "limit" && key != "pageToken") {
      respond(error_response(invalid_field(key, "unknown query parameter " + key)));
      return;
    }
  }
  const auto at = ctx.proj.position();
  const auto rows = ctx.proj.alert_model().list(p->after, p->limit + 1, state, severity);
  json items = json::array();
  for (std::size_t i = 0; i < rows.size() && i < p->limit; ++i)
    items.push_back(alert_json(rows[i]));
  auto resp = list_response(std::move(items), rows.size() > p->limit ? rows[p->limit - 1].id : "");
  resp.headers.emplace_back(log_position_header, std::to_string(at));
  respond(std::move(resp));
}

http_response alert_not_found(const std::string& id) {
  return error_response(error{errc::not_found, "alert " + id + " does not exist", {{"id", id}}});
}

/// Acknowledge or resolve: the alert must exist in the projection; the command lands in the
/// log on the alert's own stream.
template<class Command>
void alert_command(resource_context& ctx, const http_request& req, const path_params& p,
                   responder respond) {
  with_body(req, respond, {"comment"}, [&](const json& body) {
    const auto& id = p.at("id");
    const auto current = ctx.proj.alert_model().get(id);
    if (!current) {
      respond(alert_not_found(id));
      return;
    }
    if (current->state == "resolved") {
      respond(error_response(error{errc::failed_precondition,
                                   "alert " + id + " is resolved",
                                   {{"reason", "ALERT_RESOLVED"}}}));
      return;
    }
    Command cmd;
    if (auto ok = read_string(body, "comment", cmd.comment, false, 1024); !ok) {
      respond(error_response(ok.error()));
      return;
    }
    auto meta = meta_of(req);
    if (!meta) {
      respond(error_response(meta.error()));
      return;
    }
    const bool if_match = meta->expected_version.has_value();
    ctx.gw.send(actors::command_request<alert_aggregate>{id, cmd, std::move(*meta)},
                [&ctx, id, if_match, respond](actors::command_outcome o) {
                  if (!o) {
                    respond(error_response(o.error(), if_match));
                    return;
                  }
                  ctx.proj.when_applied(last_position(*o), [&ctx, id, respond] {
                    const auto a = ctx.proj.alert_model().get(id);
                    respond(a ? alert_response(*a) : alert_not_found(id));
                  });
                });
  });
}

} // namespace

void add_system_routes(router& r) {
  r.add("GET", "/api/v1/events", query_events);
  r.add("GET", "/api/v1/operations", list_operations);
  r.add("GET", "/api/v1/operations/{id}",
        [](resource_context& ctx, const http_request&, const path_params& p, responder respond) {
          const auto at = ctx.proj.position();
          const auto op = ctx.ops.get(p.at("id"));
          auto resp = op ? json_response(200, to_json(*op))
                         : error_response(error{errc::not_found,
                                                "operation " + p.at("id") + " does not exist",
                                                {{"id", p.at("id")}}});
          resp.headers.emplace_back(log_position_header, std::to_string(at));
          respond(std::move(resp));
        });
  r.add("GET", "/api/v1/alerts", list_alerts);
  r.add("GET", "/api/v1/alerts/{id}",
        [](resource_context& ctx, const http_request&, const path_params& p, responder respond) {
          const auto a = ctx.proj.alert_model().get(p.at("id"));
          respond(a ? alert_response(*a) : alert_not_found(p.at("id")));
        });
  r.add("POST", "/api/v1/alerts/{id}/acknowledge", alert_command<domain::alert::acknowledge>);
  r.add("POST", "/api/v1/alerts/{id}/resolve", alert_command<domain::alert::resolve>);
}

} // namespace qx::api
