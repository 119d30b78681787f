// docs/api/openapi.yaml and the server's route table list the same routes, and every operation
// but the probes documents a 4xx answer with the Error schema.
#include <qx/api/routes.hpp>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <set>
#include <string>

namespace {

constexpr const char* spec_path = QX_SOURCE_DIR "/docs/api/openapi.yaml";
constexpr const char* methods[] = {"get", "post", "put", "patch", "delete"};
const std::set<std::string> probes = {"/health", "/live", "/ready", "/metrics"};
const std::string error_schema = "#/components/schemas/Error";
const std::string responses_prefix = "#/components/responses/";

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::set<std::string> minus(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

std::string lines(const std::set<std::string>& routes) {
  std::string out;
  for (const auto& r : routes)
    out += "\n  " + r;
  return out;
}

/// Calls f("METHOD /path", operation) for every operation of the spec.
template<class F>
void for_each_operation(const YAML::Node& spec, F&& f) {
  for (const auto& path : spec["paths"])
    for (const char* m : methods)
      if (const YAML::Node op = path.second[m])
        f(upper(m) + " " + path.first.as<std::string>(), op);
}

/// Whether `response` (inline, or a $ref to components/responses) has a body of the Error schema.
bool is_error_response(const YAML::Node& spec, YAML::Node response) {
  if (const YAML::Node ref = response["$ref"]) {
    const auto target = ref.as<std::string>();
    if (target.rfind(responses_prefix, 0) != 0)
      return false;
    response = spec["components"]["responses"][target.substr(responses_prefix.size())];
  }
  for (const auto& media : response["content"])
    if (const YAML::Node ref = media.second["schema"]["$ref"];
        ref && ref.as<std::string>() == error_schema)
      return true;
  return false;
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
    bool found = false;
    for (const auto& response : op["responses"]) {
      const auto status = response.first.as<std::string>();
      found = found ||
              (status.size() == 3 && status[0] == '4' && is_error_response(spec, response.second));
    }
    if (!found)
      without.insert(std::move(route));
  });
  EXPECT_TRUE(without.empty()) << "operations without a 4xx response of the Error schema:"
                               << lines(without);
}

} // namespace
