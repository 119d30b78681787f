// docs/api/openapi.yaml and the server's route table list the same routes, and every operation
// but the probes documents a 4xx answer with the Error schema.
#include <qx/api/routes.hpp>

#include "openapi_spec.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <string>

namespace {

using namespace qx::test::openapi;

constexpr const char* spec_path = QX_SOURCE_DIR "/docs/api/openapi.yaml";
const std::set<std::string> probes = {"/health", "/live", "/ready", "/metrics"};

std::set<std::string> minus(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

TEST(openapi_parity, spec_and_server_have_the_same_routes) {
  const YAML::Node spec = YAML::LoadFile(spec_path);
  std::set<std::string> documented;
  for_each_operation(
      spec, [&](std::string route, const YAML::Node&) { documented.insert(std::move(route)); });
  std::set<std::string> served;
  for (const auto& r : qx::api::route_table())
    served.insert(std::string{r.method} + " " + std::string{r.pattern});
  ASSERT_FALSE(documented.empty()) << spec_path << " has no operations";

  const auto undocumented = minus(served, documented);
  const auto unserved = minus(documented, served);
  EXPECT_TRUE(undocumented.empty())
      << "routes the server has and " << spec_path << " lacks:" << lines(undocumented);
  EXPECT_TRUE(unserved.empty()) << "operations of " << spec_path
                                << " the server lacks:" << lines(unserved);
}

TEST(openapi_parity, every_operation_but_the_probes_documents_an_error) {
  const YAML::Node spec = YAML::LoadFile(spec_path);
  std::set<std::string> without;
  for_each_operation(spec, [&](std::string route, const YAML::Node& op) {
    if (probes.contains(route.substr(route.find(' ') + 1)))
      return;
    if (!documents_an_error(spec, op))
      without.insert(std::move(route));
  });
  EXPECT_TRUE(without.empty()) << "operations without a 4xx response of the Error schema:"
                               << lines(without);
}

} // namespace
