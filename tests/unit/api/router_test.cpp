#include "responses.hpp"
#include "router.hpp"

#include <qx/api/routes.hpp>

#include <gtest/gtest.h>

#include <set>

namespace qx::api {
namespace {

TEST(router, matches_parameters_and_reports_allowed_methods) {
  const auto r = make_router();
  auto m = r.find("POST", "/api/v1/clusters/c1/nodes/n-2");
  ASSERT_NE(m.found, nullptr);
  EXPECT_EQ(m.found->pattern, "/api/v1/clusters/{id}/nodes/{nodeId}");
  EXPECT_EQ(m.params.at("id"), "c1");
  EXPECT_EQ(m.params.at("nodeId"), "n-2");
  m = r.find("PUT", "/api/v1/vms/a");
  EXPECT_EQ(m.found, nullptr);
  EXPECT_NE(m.allow.find("GET"), std::string::npos);
  EXPECT_NE(m.allow.find("DELETE"), std::string::npos);
  m = r.find("GET", "/api/v1/nothing");
  EXPECT_EQ(m.found, nullptr);
  EXPECT_TRUE(m.allow.empty());
  // A trailing slash is another URL (issue 15: it answered the list).
  EXPECT_EQ(r.find("GET", "/api/v1/vms/").found, nullptr);
}

TEST(router, every_route_is_unique_and_listed) {
  std::set<std::string> seen;
  for (const auto& rt : route_table())
    EXPECT_TRUE(seen.insert(std::string{rt.method} + " " + std::string{rt.pattern}).second)
        << rt.method << " " << rt.pattern;
  EXPECT_TRUE(seen.contains("GET /api/v1/watch"));
  EXPECT_TRUE(seen.contains("POST /api/v1/vms/{id}/start"));
}

TEST(responses, error_codes_map_to_statuses_and_one_shape) {
  EXPECT_EQ(status_of(error{errc::invalid_argument, ""}, false), 400U);
  EXPECT_EQ(status_of(error{errc::not_found, ""}, false), 404U);
  EXPECT_EQ(status_of(error{errc::conflict, ""}, false), 409U);
  EXPECT_EQ(status_of(error{errc::conflict, ""}, true), 412U);
  EXPECT_EQ(status_of(error{errc::too_large, ""}, false), 413U);
  EXPECT_EQ(status_of(error{errc::unavailable, ""}, false), 503U);
  const auto r = error_response(error{errc::failed_precondition,
                                      "no",
                                      {{"reason", "INVALID_POWER_STATE"},
                                       {"field", "hardware.cpu_cores"},
                                       {"current_version", "7"}}});
  EXPECT_EQ(r.status, 409U);
  const auto j = json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "INVALID_POWER_STATE");
  EXPECT_EQ(j["error"]["message"], "no");
  EXPECT_EQ(j["error"]["details"]["field"], "hardware.cpuCores");
  EXPECT_EQ(j["error"]["details"]["currentVersion"], 7);
}

} // namespace
} // namespace qx::api
