#include "router.hpp"

#include <qx/api/routes.hpp>

namespace qx::api {

namespace {

/// The segments between slashes, empty ones included: "/api/v1/vms/" has an empty last
/// segment and "/api//v1" an empty second one, so neither matches a route (one resource, one
/// path: a trailing slash is a different URL, as RFC 3986 has it).
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.starts_with('/'))
    path.remove_prefix(1);
  for (;;) {
    const auto end = path.find('/');
    out.push_back(path.substr(0, end));
    if (end == std::string_view::npos)
      return out;
    path.remove_prefix(end + 1);
  }
}

bool matches(const std::vector<std::string>& want, const std::vector<std::string_view>& got,
             path_params& params) {
  if (want.size() != got.size())
    return false;
  path_params found;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (got[i].empty())
      return false;
    if (want[i].starts_with('{')) {
      found.emplace(want[i].substr(1, want[i].size() - 2), std::string{got[i]});
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

} // namespace

void router::add_handler(std::string method, std::string pattern, handler fn) {
  std::vector<std::string> parts;
  for (const auto part : segments(pattern))
    parts.emplace_back(part);
  routes_.push_back(route{std::move(method), std::move(pattern), std::move(fn), std::move(parts)});
}

router::match router::find(std::string_view method, std::string_view path) const {
  match m;
  const auto got = segments(path);
  for (const auto& r : routes_) {
    path_params params;
    if (!matches(r.segments, got, params))
      continue;
    if (r.method == method) {
      m.found = &r;
      m.params = std::move(params);
      m.allow.clear();
      return m;
    }
    m.allow += (m.allow.empty() ? "" : ", ") + r.method;
  }
  return m;
}

router make_router() {
  router r;
  add_access_routes(r);
  add_agent_routes(r); // before the node routes: /nodes/discover is not a node id
  add_cluster_routes(r);
  add_rule_routes(r);
  add_drs_routes(r);
  add_node_routes(r);
  add_evacuation_routes(r);
  add_vm_routes(r);
  add_storage_routes(r);
  add_network_routes(r);
  add_system_routes(r);
  add_history_routes(r);
  return r;
}

/// Served by the server itself, before routing.
constexpr route_info server_routes[] = {{"GET", "/health"},
                                        {"GET", "/live"},
                                        {"GET", "/ready"},
                                        {"GET", "/metrics"},
                                        {"GET", "/api/v1/watch"}};

std::vector<route_info> route_table() {
  static const router r = make_router();
  std::vector<route_info> out{std::begin(server_routes), std::end(server_routes)};
  for (const auto& rt : r.routes())
    out.push_back(route_info{rt.method, rt.pattern});
  return out;
}

} // namespace qx::api
