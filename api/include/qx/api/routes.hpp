#pragma once

// The routes the server answers, for the OpenAPI parity test and the docs.

#include <string_view>
#include <vector>

namespace qx::api {

struct route_info {
  std::string_view method;  ///< "GET", "POST", "PATCH", "DELETE"
  std::string_view pattern; ///< "/api/v1/vms/{id}/start"
};

/// Every route, the WebSocket upgrade and the probes included.
[[nodiscard]] std::vector<route_info> route_table();

} // namespace qx::api
