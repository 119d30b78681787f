// One HTTP/1.1 request as `qvdc serve` reads it off a socket: Beast's request parser with the
// server's limits, the target split by qx::net::split_target, the head mapped as
// http_session.hpp's request_of maps it, then routing on the real route table (router.cpp's
// make_router over the registrations of api/src/handlers/handlers_*.cpp, see gen_routes.cmake), the
// route's policy, the body checks dispatch() makes, and the audit record of the request
// through the store's validate() and the record codec.
//
// Input: the raw bytes a client sends.
//
// Properties: nothing throws or aborts; a matched route has the method asked, parameters that
// are non-empty path segments, and a policy (deny by default must never hit a real route); the
// answers for no route (404/405) are valid UTF-8 JSON; an audit record validate() accepts
// decodes (the reproduction: X-Request-Id "x\xff", GET /api/v1/vms/%FF%FE).

#include "fuzz_common.hpp"
#include "fuzz_schema.hpp"

#include <utility> // before Boost.Asio (Boost 1.74 with C++20)

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>

#include <json_codec.hpp>
#include <multipart.hpp>
#include <record_codec.hpp>
#include <responses.hpp>
#include <route_policy.hpp>
#include <router.hpp>

#if __has_include(<request_text.hpp>)
#include <request_text.hpp>
#define QX_FUZZ_REQUEST_TEXT 1
#endif

#include <qx/api/http.hpp>
#include <qx/base/utf8.hpp>
#include <qx/events/event_store.hpp>
#include <qx/events/v1/access.pb.h>
#include <qx/net/url.hpp>

namespace {

namespace http = boost::beast::http;
using qx::fuzz::check;

// The server's defaults (api/include/qx/api/server.hpp).
constexpr std::uint32_t max_header_bytes = 16U << 10U;
constexpr std::uint64_t max_body_bytes = 1U << 20U;

const qx::api::router& routes() {
  static const qx::api::router r = qx::api::make_router();
  return r;
}

bool has_json_type(const std::string& content_type) { // dispatch.cpp's check
  const auto semi = content_type.find(';');
  auto type = content_type.substr(0, semi);
  while (!type.empty() && type.back() == ' ')
    type.pop_back();
  return type == "application/json";
}

void check_answer(const qx::api::http_response& resp, const char* what) {
  check(!qx::invalid_utf8_at(resp.body).has_value(), what, resp.body);
  check(!qx::api::json::parse(resp.body, nullptr, false).is_discarded(), what, resp.body);
}

/// A recorded text as audit_then() carries it: the same recorded_text (escaped, then bounded).
std::string recorded(std::string_view s, std::size_t max) {
#ifdef QX_FUZZ_REQUEST_TEXT
  return qx::api::recorded_text(s, max);
#else
  return std::string{s.substr(0, max)};
#endif
}

/// The audit record of the request, as audit_then() builds it, through the store's gate:
/// every request is audited, so the store must accept its record (or the trail has a hole
/// any client can make) and read it back.
void audit(const qx::api::http_request& req, const std::string& pattern, unsigned status) {
  qx::events::v1::AuditRecorded a;
  a.set_principal(req.principal);
  a.set_remote(recorded(req.remote, 64));
  a.set_method(recorded(req.method, 16));
  a.set_path(recorded(req.path, 1024));
  a.set_object("datacenter");
  a.set_action(recorded(req.method + " " + pattern, 256));
  a.set_status(status);
  a.set_request_id(recorded(req.request_id, 128));
  a.set_privilege("none");
  qx::events::append_request ar;
  ar.stream = "audit";
  ar.expected = qx::events::expected_version::any();
  ar.events.push_back({"qx.events.v1.AuditRecorded", a.SerializeAsString()});
  ar.metadata.actor = a.principal();
  ar.metadata.correlation_id = a.request_id();
  auto valid = qx::events::validate(ar, qx::events::append_limits{});
#ifdef QX_FUZZ_REQUEST_TEXT
  check(valid.has_value(), "audit: the store accepts every request's audit record",
        valid ? std::string{} : valid.error().to_string());
#else
  if (!valid)
    return; // refused: nothing written (the answer still goes out)
#endif
  qx::events::detail::record_fields f;
  f.position = 1;
  f.stream = ar.stream;
  f.version = 1;
  f.event = &ar.events[0];
  f.metadata = &ar.metadata;
  const auto rec = qx::events::detail::encode_record(f);
  auto back = qx::events::detail::decode_record(1, rec.bytes, true);
  check(back.has_value(), "audit: a record the store accepts decodes",
        back ? std::string{} : back.error().to_string());
  qx::events::v1::AuditRecorded again;
  check(again.ParseFromString(back->payload), "audit: its payload parses back");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qx::fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(max_header_bytes);
  parser.body_limit(max_body_bytes);
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t at = 0;
  while (!parser.is_done() && at < size) {
    const auto n = parser.put(boost::asio::buffer(data + at, size - at), ec);
    at += n;
    if (ec || n == 0)
      break;
  }
  // The client closed the connection: Beast's read does what follows (end_of_stream when
  // nothing came at all).
  if ((ec == http::error::need_more || (!ec && !parser.is_done())) && parser.got_some())
    parser.put_eof(ec);
  if (ec || !parser.is_done())
    return 0; // the server answers 400/413/431 without looking further

  const auto& raw = parser.get();
  qx::api::http_request req;
  req.method = std::string{raw.method_string()};
  if (!qx::net::split_target(std::string_view{raw.target().data(), raw.target().size()}, req.path,
                             req.query)) {
    check_answer(
        qx::api::error_response(400, "BAD_REQUEST", "the request target is not a valid path"),
        "400: the answer is valid UTF-8 JSON");
    return 0;
  }
  req.content_type = std::string{raw[http::field::content_type]};
  req.if_match = std::string{raw[http::field::if_match]};
  req.idempotency_key = std::string{raw["Idempotency-Key"]};
  req.principal = "anonymous";
  req.authorization = std::string{raw[http::field::authorization]};
  req.remote = "127.0.0.1:40000";
  const auto given_id = raw["X-Request-Id"];
  req.request_id =
      !given_id.empty() && given_id.size() <= 128 ? std::string{given_id} : std::string{"req-1"};
  req.body = raw.body();

#ifdef QX_FUZZ_REQUEST_TEXT
  // The session: HTTP/1.1 without Host is refused (400); HEAD is answered by the GET route.
  if (raw.version() == 11 && raw.find(http::field::host) == raw.end())
    return 0;
  if (req.method == "HEAD")
    req.method = "GET";
  // dispatch(): text that is not clean UTF-8 is refused before routing (400 naming the field).
  if (auto refusal = qx::api::refuse_malformed_text(req)) {
    check(refusal->status == 400, "refuse_malformed_text: 400");
    check_answer(*refusal, "refuse_malformed_text: the answer is valid UTF-8 JSON");
    audit(req, "unmatched", 400);
    return 0;
  }
  check(qx::api::is_clean_text(req.path) && qx::api::is_clean_text(req.request_id, true),
        "refuse_malformed_text: what passes is clean text");
#endif

  const auto& p = req.path;
  if (p == "/health" || p == "/live" || p == "/ready" || p == "/metrics" || p == "/api/v1/watch")
    return 0; // served by the session itself

  const auto m = routes().find(req.method, req.path);
  if (m.found == nullptr) {
    if (!m.allow.empty())
      check_answer(qx::api::error_response(405, "METHOD_NOT_ALLOWED",
                                           req.method + " is not allowed on " + req.path,
                                           qx::api::json{{"allow", m.allow}}),
                   "405: the answer is valid UTF-8 JSON");
    else
      check_answer(qx::api::error_response(404, "NOT_FOUND", "no route for " + req.path),
                   "404: the answer is valid UTF-8 JSON");
    audit(req, "unmatched", m.allow.empty() ? 404 : 405);
    return 0;
  }
  const auto& pattern = m.found->pattern;
  check(m.found->method == req.method, "router: the route has the method asked", pattern);
  for (const auto& [name, value] : m.params)
    check(!value.empty() && value.find('/') == std::string::npos,
          "router: a path parameter is one non-empty segment", name + "=" + value);
  check(qx::api::policy_of(req.method, pattern).has_value(),
        "route_policy: every route has a policy", req.method + " " + pattern);

  const bool writes = req.method != "GET";
  if (writes && pattern == "/api/v1/images/upload") {
    static_cast<void>(qx::api::multipart_boundary(req.content_type));
  } else if (writes && !req.body.empty() && has_json_type(req.content_type)) {
    if (auto body = qx::api::parse_body(req.body))
      check(body->is_object(), "parse_body: the body is an object");
  }
  audit(req, pattern, 200);
  return 0;
}
