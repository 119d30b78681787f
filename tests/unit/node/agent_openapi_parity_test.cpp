// docs/api/agent.yaml and the host API (host_api.cpp) agree: every documented operation is
// served, every other method of a documented path answers 405 naming the documented ones, a
// path the spec lacks answers the host API's "no route" 404, and every operation documents a
// 4xx answer with the Error schema. Against a standalone agent on libvirt's test driver,
// through handle().
#include "qx/node/agent_config.hpp"
#include "qx/node/host_api.hpp"

#include "openapi_spec.hpp"
#include "test_host_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace qx::node::test {
namespace {

using json = nlohmann::json;
using namespace qx::test::openapi;

constexpr const char* spec_path = QX_SOURCE_DIR "/docs/api/agent.yaml";
constexpr const char* pool_name = "images"; ///< the pool the fixture defines

/// The documented paths, each with its documented methods (upper case).
std::vector<std::pair<std::string, std::set<std::string>>>
documented_paths(const YAML::Node& spec) {
  std::vector<std::pair<std::string, std::set<std::string>>> out;
  for (const auto& path : spec["paths"]) {
    std::set<std::string> ms;
    for (const char* m : methods)
      if (path.second[m])
        ms.insert(upper(m));
    out.emplace_back(path.first.as<std::string>(), std::move(ms));
  }
  return out;
}

/// `path` with every `{param}` filled: the fixture's pool for `{pool}`, else "x".
std::string filled(const std::string& path) {
  std::string out;
  for (std::size_t i = 0; i < path.size();) {
    if (path[i] != '{') {
      out += path[i++];
      continue;
    }
    const auto end = path.find('}', i);
    const auto name = path.substr(i + 1, end - i - 1);
    out += name == "pool" ? pool_name : "x";
    i = end + 1;
  }
  return out;
}

class agent_openapi : public on_test_host {
 protected:
  void SetUp() override {
    on_test_host::SetUp();
    const auto pool_path = dir_.sub(pool_name);
    std::filesystem::create_directories(pool_path);
    ASSERT_TRUE(hv_->define_pool({pool_name, pool_path}));
    // A standalone host (no config file yet): no session, nothing reaches the network.
    auto cfg = load_agent_config(dir_.sub("agent.yaml"));
    ASSERT_TRUE(cfg) << cfg.error().to_string();
    agent_options o;
    o.config_path = dir_.sub("agent.yaml");
    o.config = *cfg;
    auto a = agent::open(std::move(o), *hv_);
    ASSERT_TRUE(a) << a.error().to_string();
    agent_ = std::move(*a);
    spec_ = YAML::LoadFile(spec_path);
    ASSERT_TRUE(spec_["paths"] && spec_["paths"].size() > 0) << spec_path << " has no paths";
  }

  void TearDown() override {
    if (agent_)
      agent_->stop();
    agent_.reset();
  }

  /// From the host itself, with no credential and no body.
  host_response call(const std::string& method, const std::string& path) {
    host_request r;
    r.method = method;
    r.path = path;
    r.from_loopback = true;
    return agent_->handle(r);
  }

  static json error_of(const host_response& r) {
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"] : json::object();
  }

  /// The host API's answer for a path it has no route for (host_api.cpp: handle()).
  static bool is_no_route(const host_response& r) {
    const auto e = error_of(r);
    return r.status == 404 && e.value("code", "") == "NOT_FOUND" &&
           e.value("message", "").starts_with("no route ");
  }

  YAML::Node spec_;
  std::unique_ptr<agent> agent_;
};

TEST_F(agent_openapi, every_documented_operation_is_served) {
  std::set<std::string> unserved;
  for (const auto& [path, ms] : documented_paths(spec_))
    for (const auto& m : ms) {
      const auto r = call(m, filled(path));
      if (is_no_route(r) || r.status == 405)
        unserved.insert(m + " " + path + " -> " + std::to_string(r.status) + " " + r.body);
    }
  EXPECT_TRUE(unserved.empty()) << "operations of " << spec_path
                                << " the host API does not serve:" << lines(unserved);
}

TEST_F(agent_openapi, an_undocumented_method_of_a_documented_path_answers_405) {
  std::set<std::string> wrong;
  for (const auto& [path, ms] : documented_paths(spec_)) {
    ASSERT_FALSE(ms.empty()) << path << " documents no operation";
    for (const char* lower : methods) {
      const auto m = upper(lower);
      if (ms.contains(m))
        continue;
      const auto r = call(m, filled(path));
      const auto e = error_of(r);
      // `allow` names exactly the documented methods.
      std::set<std::string> allowed;
      const std::string allow =
          e.contains("details") ? e["details"].value("allow", "") : std::string{};
      for (std::size_t i = 0; i < allow.size();) {
        auto end = allow.find(", ", i);
        if (end == std::string::npos)
          end = allow.size();
        allowed.insert(allow.substr(i, end - i));
        i = end + 2;
      }
      if (r.status != 405 || e.value("code", "") != "METHOD_NOT_ALLOWED" || allowed != ms)
        wrong.insert(m + " " + path + " -> " + std::to_string(r.status) + " " + r.body);
    }
  }
  EXPECT_TRUE(wrong.empty())
      << "undocumented methods not answered 405 METHOD_NOT_ALLOWED with the documented "
         "methods in details.allow:"
      << lines(wrong);
}

TEST_F(agent_openapi, an_undocumented_path_answers_no_route) {
  std::set<std::string> documented;
  for (const auto& [path, ms] : documented_paths(spec_))
    documented.insert(path);
  for (const std::string path :
       {"/api/v1/cluster/nope", "/api/v1/registration/nope", "/api/v1/storage/pools",
        "/api/v1/storage/pools//files", "/api/v1/nodes", "/api/v1/", "/"}) {
    ASSERT_FALSE(documented.contains(path)) << path;
    for (const char* m : methods) {
      const auto r = call(upper(m), path);
      EXPECT_TRUE(is_no_route(r)) << upper(m) << " " << path << " -> " << r.status << " " << r.body;
    }
  }
}

TEST_F(agent_openapi, every_operation_documents_an_error) {
  std::set<std::string> without;
  for_each_operation(spec_, [&](std::string route, const YAML::Node& op) {
    if (!documents_an_error(spec_, op))
      without.insert(std::move(route));
  });
  EXPECT_TRUE(without.empty()) << "operations of " << spec_path
                               << " without a 4xx response of the Error schema:" << lines(without);
}

} // namespace
} // namespace qx::node::test
