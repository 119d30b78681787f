#pragma once

// Routes: a method and a pattern of segments ("/api/v1/vms/{id}/start") bound to a handler.

#include <qx/api/http.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace qx::api {

struct api_context;
using path_params = std::map<std::string, std::string, std::less<>>;
using handler =
    std::function<void(api_context&, const http_request&, const path_params&, responder)>;

struct route {
  std::string method;
  std::string pattern;
  handler fn;
  std::vector<std::string> segments; ///< The pattern split at '/', "{name}" for parameters.
};

class router {
 public:
  void add(std::string method, std::string pattern, handler fn);

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
void add_node_routes(router& r);
void add_evacuation_routes(router& r);
void add_vm_routes(router& r);
void add_storage_routes(router& r);
void add_network_routes(router& r);
void add_system_routes(router& r);
void add_agent_routes(router& r);
void add_access_routes(router& r);
[[nodiscard]] router make_router();

} // namespace qx::api
