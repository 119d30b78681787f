#pragma once

// Routes: a method and a pattern of segments ("/api/v1/vms/{id}/start") bound to a handler.

#include <qx/api/http.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qx::api {

using path_params = std::map<std::string, std::string, std::less<>>;

// The handler groups' contexts (handlers/handler_contexts.hpp): each handler names the one its
// group needs as its first parameter, and the router hands it that one only.
struct resource_context;
struct agent_context;
struct access_context;
struct image_context;
struct route_groups {
  resource_context* resources = nullptr;
  agent_context* agents = nullptr;
  access_context* access = nullptr;
  image_context* images = nullptr;
};

using handler =
    std::function<void(const route_groups&, const http_request&, const path_params&, responder)>;

namespace route_detail {
template<class F>
struct group_parameter;
template<class R, class G, class... Rest>
struct group_parameter<std::function<R(G&, Rest...)>> {
  using type = G;
};
inline resource_context& group_in(const route_groups& g, resource_context* /*tag*/) {
  return *g.resources;
}
inline agent_context& group_in(const route_groups& g, agent_context* /*tag*/) {
  return *g.agents;
}
inline access_context& group_in(const route_groups& g, access_context* /*tag*/) {
  return *g.access;
}
inline image_context& group_in(const route_groups& g, image_context* /*tag*/) {
  return *g.images;
}
} // namespace route_detail

struct route {
  std::string method;
  std::string pattern;
  handler fn;
  std::vector<std::string> segments; ///< The pattern split at '/', "{name}" for parameters.
};

class router {
 public:
  /// `fn(group context&, request, params, respond)`: a function or lambda whose first
  /// parameter names its group's context (resource_context&, agent_context&, ...).
  template<class F>
  void add(std::string method, std::string pattern, F fn) {
    using group = typename route_detail::group_parameter<decltype(std::function{fn})>::type;
    add_handler(std::move(method), std::move(pattern),
                [fn = std::move(fn)](const route_groups& g, const http_request& req,
                                     const path_params& p, responder respond) {
                  fn(route_detail::group_in(g, static_cast<group*>(nullptr)), req, p,
                     std::move(respond));
                });
  }
  void add_handler(std::string method, std::string pattern, handler fn);

  struct match {
    const route* found = nullptr; ///< The route, or null.
    path_params params;
    std::string allow; ///< Methods of the path when only the method did not match (405).
  };
  [[nodiscard]] match find(std::string_view method, std::string_view path) const;
  [[nodiscard]] const std::vector<route>& routes() const { return routes_; }

 private:
  std::vector<route> routes_;
};

/// Registers every REST route of /api/v1 (handlers_*.cpp).
void add_cluster_routes(router& r);
void add_rule_routes(router& r);
void add_drs_routes(router& r);
void add_node_routes(router& r);
void add_evacuation_routes(router& r);
void add_vm_routes(router& r);
void add_storage_routes(router& r);
void add_network_routes(router& r);
void add_system_routes(router& r);
void add_history_routes(router& r);
void add_agent_routes(router& r);
void add_access_routes(router& r);
[[nodiscard]] router make_router();

} // namespace qx::api
