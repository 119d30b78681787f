#include "node_discovery.hpp"

#include <qx/net/http_fetch.hpp>

namespace qx::api {

namespace {

error failed(const char* reason, const std::string& message) {
  return error{errc::unavailable, message, {{"reason", reason}}};
}

bool is_html(const net::fetch_response& r) {
  return r.content_type.find("text/html") != std::string::npos || r.body.starts_with("<!DOCTYPE") ||
         r.body.starts_with("<html");
}

/// One phase's request; the answers every phase reads the same way.
result<json> call(const discovery_target& t, const std::string& method, const std::string& path,
                  const std::string& body, const char* phase) {
  net::fetch_request r;
  r.method = method;
  auto base = t.host_url;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  r.url = base + path;
  r.timeout = t.timeout;
  if (!t.token.empty())
    r.headers.emplace_back("X-Registration-Token", t.token);
  r.body = body;
  auto res = net::http_fetch(r);
  if (!res) {
    auto e = std::move(res).error();
    if (e.code == errc::invalid_argument)
      e.details["field"] = "hostUrl";
    e.details["phase"] = phase;
    return e;
  }
  if (res->status == 404 || is_html(*res))
    return failed("HOST_FIRMWARE_OUTDATED",
                  "the host answered " + path + " with " +
                      (res->status == 404 ? std::string{"404"} : std::string{"HTML"}) +
                      ": its agent is older than this control plane's registration API");
  if (res->status >= 500)
    return failed("HOST_API_NOT_AVAILABLE",
                  "the host API answered HTTP " + std::to_string(res->status) + " to " + path);
  auto j = json::parse(res->body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return failed("INVALID_RESPONSE", "the host answered " + path + " with something not JSON");
  if (res->status == 401 || res->status == 403) {
    const auto code = j.contains("error") && j["error"].is_object()
                          ? j["error"].value("code", std::string{})
                          : std::string{};
    if (code == "TOKEN_MISSING" || code == "TOKEN_INVALID" || code == "TOKEN_EXPIRED")
      return error{errc::unauthenticated,
                   "the host refused the token: " + code,
                   {{"reason", code}, {"phase", phase}}};
    return failed("INVALID_RESPONSE", "the host refused " + path + " with an unknown error");
  }
  if (res->status >= 400)
    return failed("INVALID_RESPONSE",
                  "the host answered HTTP " + std::to_string(res->status) + " to " + path);
  return j;
}

} // namespace

result<json> discover_host(const discovery_target& t) {
  auto ping = call(t, "GET", "/api/v1/registration/ping", "", "ping");
  if (!ping)
    return ping;
  if (ping->value("status", std::string{}) != "ok")
    return failed("INVALID_RESPONSE", "the host's ping did not answer status ok");
  if (t.token.empty())
    return error{errc::unauthenticated,
                 "a registration token is required",
                 {{"reason", "TOKEN_MISSING"}, {"field", "token"}}};
  auto token = call(t, "GET", "/api/v1/registration/token", "", "token");
  if (!token)
    return token;
  if (!token->value("valid", false))
    return failed("INVALID_RESPONSE", "the host's token check did not say valid");
  auto info = call(t, "GET", "/api/v1/registration/discovery", "", "discovery");
  if (!info)
    return info;
  const auto& d = *info;
  if (!d.contains("hostname") || !d["hostname"].is_string() || !d.contains("memoryMib") ||
      !d["memoryMib"].is_number_unsigned() || !d.contains("cpu") || !d["cpu"].is_object() ||
      !d["cpu"].contains("threads") || !d["cpu"]["threads"].is_number_unsigned())
    return failed("INVALID_RESPONSE", "the host's discovery lacks hostname, cpu or memory");
  return info;
}

status complete_registration(const discovery_target& t, const std::string& node_id,
                             const std::string& control_plane_address, const std::string& agent_key,
                             const std::string& cluster_id, const std::string& cert_pin) {
  json body{{"registrationToken", t.token},
            {"nodeId", node_id},
            {"controlPlaneAddress", control_plane_address},
            {"agentKey", agent_key},
            {"clusterId", cluster_id}};
  if (!cert_pin.empty())
    body["controlPlaneCertHash"] = cert_pin;
  auto r = call(t, "POST", "/api/v1/registration/complete", body.dump(), "complete");
  if (!r)
    return r.error();
  return {};
}

unsigned discovery_status(const error& e) {
  if (e.code == errc::invalid_argument)
    return 400;
  if (e.code == errc::unauthenticated)
    return 422;
  const auto r = e.details.find("reason");
  if (r != e.details.end() && r->second == "CONNECTION_TIMEOUT")
    return 504;
  return 502;
}

} // namespace qx::api
