#pragma once

// What every resource handler does the same way: read the body, build the command metadata,
// send a command and answer with the resource once the read model shows it, read one
// resource, list with filters and pages.

#include "access_control.hpp"
#include "handler_contexts.hpp"
#include "idempotency.hpp"
#include "json_codec.hpp"
#include "replay_fold.hpp"
#include "resource_json.hpp"
#include "responses.hpp"
#include "router.hpp"

#include <google/protobuf/descriptor.h>
#include <qx/actors/domain/node.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <utility>
#include <vector>

#include <string>

namespace qx::api {

/// The body as a JSON object (400 MALFORMED_JSON otherwise); an empty body is {}.
[[nodiscard]] result<json> body_of(const http_request& req);

/// Runs `f(body)` when the body is a JSON object with only `allowed` fields.
template<class F>
void with_body(const http_request& req, responder& respond,
               std::initializer_list<std::string_view> allowed, F&& f) {
  auto body = body_of(req);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  if (auto ok = only_fields(*body, allowed); !ok) {
    respond(error_response(ok.error()));
    return;
  }
  f(*body);
}

/// Principal, idempotency key, correlation id and If-Match of `req` (400 on a bad If-Match).
[[nodiscard]] result<actors::command_meta> meta_of(const http_request& req);

/// The id of a resource to create: body "id" if given (checked), else one derived from the
/// Idempotency-Key, else a random one.
[[nodiscard]] result<std::string> new_id(const json& body, const http_request& req);

/// Checks an id from a path or a body: 1..64 of [A-Za-z0-9._-].
[[nodiscard]] status check_id(std::string_view field, std::string_view id);

template<class A>
[[nodiscard]] http_response resource_response(unsigned status, const projections::resource<A>& r) {
  auto resp = json_response(status, render(r));
  resp.headers.emplace_back("ETag", "\"" + std::to_string(r.version) + "\"");
  return resp;
}

/// 404 for resource `id` of kind A.
template<class A>
[[nodiscard]] http_response not_found(const std::string& id) {
  return error_response(
      error{errc::not_found, std::string{A::kind} + " " + id + " does not exist", {{"id", id}}});
}

/// Resource `id` of kind A as the read model has it; nullopt after answering 404.
template<class A>
[[nodiscard]] std::optional<projections::resource<A>>
found_or_404(resource_context& ctx, const std::string& id, responder& respond) {
  auto r = ctx.proj.inv().get<A>(id);
  if (!r)
    respond(not_found<A>(id));
  return r;
}

/// Answers with resource `id` once the read model has applied `position`.
template<class A>
void answer_when_applied(resource_context& ctx, std::uint64_t position, std::string id,
                         unsigned status, responder respond) {
  ctx.proj.when_applied(position, [&ctx, id = std::move(id), status, respond = std::move(respond)] {
    const auto r = ctx.proj.inv().get<A>(id, true);
    respond(r ? resource_response<A>(status, *r) : not_found<A>(id));
  });
}

/// The last log position a command reply covers (0 when it wrote nothing).
[[nodiscard]] inline std::uint64_t last_position(const actors::command_reply& r) {
  return r.events == 0 ? r.first_position : r.first_position + r.events - 1;
}

/// Sends `cmd` to aggregate `id` and answers with the resource (status `ok_status`).
template<class A>
void write(resource_context& ctx, const http_request& req, std::string id, typename A::command cmd,
           unsigned ok_status, responder respond) {
  auto meta = meta_of(req);
  if (!meta) {
    respond(error_response(meta.error()));
    return;
  }
  const bool if_match = meta->expected_version.has_value();
  ctx.gw.send(actors::command_request<A>{id, std::move(cmd), std::move(*meta)},
              [&ctx, id, ok_status, if_match, respond](actors::command_outcome o) {
                if (!o) {
                  respond(error_response(o.error(), if_match));
                  return;
                }
                answer_when_applied<A>(ctx, last_position(*o), id, ok_status, respond);
              });
}

/// The header that says which log position a read reflects: `qvdc replay --until` that
/// position (or `?as_of=` it) shows the same body.
inline constexpr const char* log_position_header = "X-Log-Position";

/// GET of one resource as it was at `as_of` (a position or an RFC 3339 time): its stream
/// folded up to there. 404 when it did not exist then.
template<class A>
void read_one_as_of(resource_context& ctx, const std::string& id, const std::string& as_of,
                    const responder& respond) {
  auto bound = parse_replay_bound(as_of, "asOf", ctx.store.head().position);
  if (!bound) {
    respond(error_response(bound.error()));
    return;
  }
  auto r = fold_stream<A>(ctx.store, id, *bound);
  if (!r) {
    respond(error_response(r.error()));
    return;
  }
  if (!*r || !projections::is_live((*r)->state)) {
    respond(error_response(error{errc::not_found,
                                 std::string{A::kind} + " " + id + " did not exist as of " + as_of,
                                 {{"id", id}, {"asOf", as_of}}}));
    return;
  }
  auto resp = resource_response<A>(200, **r);
  resp.headers.emplace_back(log_position_header, std::to_string((*r)->position));
  respond(std::move(resp));
}

/// The ?asOf= of a read (also spelled as_of), if given.
[[nodiscard]] const std::string* as_of_of(const http_request& req);

/// GET of one resource, rendered once per version; with ?asOf=, as it was then.
template<class A>
void read_one(resource_context& ctx, const http_request& req, const std::string& id,
              const responder& respond) {
  if (const auto* as_of = as_of_of(req)) {
    read_one_as_of<A>(ctx, id, *as_of, respond);
    return;
  }
  const auto stamp = ctx.proj.inv().stamp_of<A>(id);
  std::shared_ptr<const std::string> body;
  if (stamp)
    body = ctx.renders.find(A::kind, id, stamp->version);
  if (!body) {
    const auto r = ctx.proj.inv().get<A>(id);
    if (!r) {
      respond(not_found<A>(id));
      return;
    }
    auto resp = resource_response<A>(200, *r);
    resp.headers.emplace_back(log_position_header, std::to_string(r->position));
    ctx.renders.store(A::kind, id, r->version, std::make_shared<const std::string>(resp.body));
    respond(std::move(resp));
    return;
  }
  http_response resp;
  resp.body = *body;
  resp.headers.emplace_back("ETag", "\"" + std::to_string(stamp->version) + "\"");
  resp.headers.emplace_back(log_position_header, std::to_string(stamp->position));
  respond(std::move(resp));
}

/// Page size and token of a list request.
struct page {
  std::size_t limit = 100;
  std::string after;
};
[[nodiscard]] result<page> page_of(const http_request& req);

/// A filter on a top-level scalar field: {field, wanted value as text}.
struct field_filter {
  const google::protobuf::FieldDescriptor* field;
  std::string value;
};
/// The filters of `req` against `d` (any query parameter but limit/pageToken); 400 for one
/// that names no top-level scalar field.
[[nodiscard]] result<std::vector<field_filter>> filters_of(const http_request& req,
                                                           const google::protobuf::Descriptor& d);
[[nodiscard]] bool passes(const google::protobuf::Message& m,
                          const std::vector<field_filter>& filters);

/// {"items":[...],"nextPageToken":"..."} ("" on the last page).
[[nodiscard]] http_response list_response(json items, const std::string& next_token);

/// GET of a list of resources of kind A.
template<class A>
void read_list(resource_context& ctx, const http_request& req, responder respond) {
  auto p = page_of(req);
  if (!p) {
    respond(error_response(p.error()));
    return;
  }
  if (as_of_of(req) != nullptr) {
    respond(error_response(error{errc::invalid_argument,
                                 "asOf is answered for one resource (GET .../{id}?asOf=); "
                                 "`qvdc replay --until` rebuilds every resource at a position",
                                 {{"field", "asOf"}}}));
    return;
  }
  auto filters = filters_of(req, *A::state::descriptor());
  if (!filters) {
    respond(error_response(filters.error()));
    return;
  }
  std::uint64_t at = 0;
  const auto keep = [&](const projections::resource<A>& r) {
    return passes(r.state, *filters);
  };
  // A restricted user's list is checked outside the inventory's lock (the check reads the
  // inventory): every candidate row first, then the readable ones up to the page.
  const auto vis = req.readable_only ? access_control::visibility(ctx.proj.inv(), req.user)
                                     : list_visibility{true, {}};
  std::vector<projections::resource<A>> rows;
  if (vis.all) {
    rows = ctx.proj.inv().list<A>(p->after, p->limit + 1, keep, &at);
  } else {
    for (auto& r :
         ctx.proj.inv().list<A>(p->after, std::numeric_limits<std::size_t>::max(), keep, &at)) {
      if (rows.size() > p->limit)
        break;
      if (vis.can_read(access_control::object_name(A::kind, r.state.id())))
        rows.push_back(std::move(r));
    }
  }
  json items = json::array();
  for (std::size_t i = 0; i < rows.size() && i < p->limit; ++i)
    items.push_back(render(rows[i]));
  auto resp = list_response(std::move(items),
                            rows.size() > p->limit ? rows[p->limit - 1].state.id() : std::string{});
  resp.headers.emplace_back(log_position_header, std::to_string(at));
  respond(std::move(resp));
}

/// Where the domain names a field differently from the request body: {domain name as the
/// error shows it (camelCase), request field}.
using field_renames = std::vector<std::pair<std::string, std::string>>;

/// A responder that rewrites details.field of a 400 by `renames` (prefix match).
[[nodiscard]] responder renaming_fields(responder respond, field_renames renames);

/// GET path (list) and GET path/{id}.
template<class A>
void list_route(router& r, const std::string& path) {
  r.add("GET", path,
        [](resource_context& ctx, const http_request& req, const path_params&, responder respond) {
          read_list<A>(ctx, req, respond);
        });
  r.add("GET", path + "/{id}",
        [](resource_context& ctx, const http_request& req, const path_params& p,
           responder respond) { read_one<A>(ctx, req, p.at("id"), respond); });
}

/// The node command `Command` with no fields (connect, decommission, maintenance ...), for
/// command_route.
template<class Command>
result<domain::node::command> node_plain(const json&, const path_params&) {
  return domain::node::command{Command{}};
}

/// A route that sends one command to A built by `make(body, params) -> result<command>`.
template<class A, class Make>
auto command_route(std::initializer_list<std::string_view> allowed, unsigned status, Make make,
                   field_renames renames = {}) {
  std::vector<std::string_view> fields{allowed};
  return [fields, status, make, renames](resource_context& ctx, const http_request& req,
                                         const path_params& p, responder respond) {
    if (!renames.empty())
      respond = renaming_fields(std::move(respond), renames);
    auto body = body_of(req);
    if (!body) {
      respond(error_response(body.error()));
      return;
    }
    if (auto ok = only_fields(*body, fields); !ok) {
      respond(error_response(ok.error()));
      return;
    }
    auto cmd = make(*body, p);
    if (!cmd) {
      respond(error_response(cmd.error()));
      return;
    }
    // Creates have no {id} in the path: it comes from the body or is made up.
    std::string id = p.contains("id") ? p.at("id") : std::string{};
    if (id.empty()) {
      auto created = new_id(*body, req);
      if (!created) {
        respond(error_response(created.error()));
        return;
      }
      id = *created;
    }
    write<A>(ctx, req, id, std::move(*cmd), status, std::move(respond));
  };
}

} // namespace qx::api
