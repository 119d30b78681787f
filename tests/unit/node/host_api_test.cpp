// The host API's access rules (host_api.hpp): a member is re-pointed at a control plane only by
// the owner of its agent key; its config and pool files are read only with that key; a
// standalone host serves them as its token routes are served; every text a request brings is
// valid UTF-8 or refused with 400 naming the field. Against a real agent on libvirt's test
// driver, through handle() and once over the real HTTP server on 127.0.0.1.
#include "qx/node/agent_config.hpp"
#include "qx/node/host_api.hpp"

#include "host_server.hpp"
#include "test_host_fixture.hpp"

#include <qx/net/http_fetch.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace qx::node::test {
namespace {

using json = nlohmann::json;

constexpr const char* member_key = "the-agent-key-0123456789";

class host_api : public on_test_host {
 protected:
  void SetUp() override {
    on_test_host::SetUp();
    config_path_ = dir_.sub("agent.yaml");
    pool_path_ = dir_.sub("images");
    std::filesystem::create_directories(pool_path_ + "/isos");
    std::ofstream{pool_path_ + "/disk.qcow2"} << "data";
    ASSERT_TRUE(hv_->define_pool({"images", pool_path_}));
  }

  void TearDown() override {
    if (agent_)
      agent_->stop();
    agent_.reset();
  }

  /// A member of a control plane that is not there (its session retries in the background).
  void write_member() {
    agent_config c;
    c.node_id = "node-1";
    c.control_plane_address = "http://127.0.0.1:1";
    c.agent_key = member_key;
    c.libvirt_uri = "test:///default";
    ASSERT_TRUE(save_agent_config(config_path_, c));
  }

  void open_agent() {
    auto cfg = load_agent_config(config_path_);
    ASSERT_TRUE(cfg) << cfg.error().to_string();
    agent_options o;
    o.config_path = config_path_;
    o.config = *cfg;
    o.heartbeat = std::chrono::milliseconds{100};
    auto a = agent::open(std::move(o), *hv_);
    ASSERT_TRUE(a) << a.error().to_string();
    agent_ = std::move(*a);
  }

  [[nodiscard]] std::string file_text() const {
    std::ifstream in{config_path_};
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  host_response call(const std::string& method, const std::string& path, std::string body = {},
                     std::string bearer = {}, std::string token = {}, bool loopback = true,
                     std::map<std::string, std::string> query = {}) {
    host_request r;
    r.method = method;
    r.path = path;
    r.query = std::move(query);
    r.body = std::move(body);
    r.bearer = std::move(bearer);
    // As host_server fills it: X-Registration-Token, or else the Bearer credential.
    r.registration_token = token.empty() ? r.bearer : std::move(token);
    r.from_loopback = loopback;
    return agent_->handle(r);
  }

  static std::string completion(const std::string& token, const std::string& node_id,
                                const std::string& address, const std::string& key) {
    return json{{"registrationToken", token},
                {"nodeId", node_id},
                {"controlPlaneAddress", address},
                {"agentKey", key}}
        .dump();
  }

  static std::string code_of(const host_response& r) {
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }

  static std::string field_of(const host_response& r) {
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"]["details"].value("field", "") : "";
  }

  std::string config_path_;
  std::string pool_path_;
  std::unique_ptr<agent> agent_;
};

TEST_F(host_api, a_member_refuses_completion_without_its_agent_key_and_writes_nothing) {
  write_member();
  open_agent();
  const auto before = file_text();
  const auto token = agent_->issue_token(); // any local process can have one
  const auto body = completion(token, "node-evil", "http://10.9.9.9:8080", "attackers-key");
  for (const auto& bearer :
       std::vector<std::string>{"", "wrong-key", "the-agent-key-012345678", token}) {
    const auto r = call("POST", "/api/v1/registration/complete", body, bearer, token);
    EXPECT_EQ(r.status, 409U) << bearer << ": " << r.body;
    EXPECT_EQ(code_of(r), "ALREADY_MEMBER") << r.body;
  }
  // The same node id changes nothing either: the key is what counts.
  auto r = call("POST", "/api/v1/registration/complete",
                completion(token, "node-1", "http://10.9.9.9:8080", "attackers-key"), "", token);
  EXPECT_EQ(r.status, 409U) << r.body;
  EXPECT_EQ(file_text(), before) << "a refused completion wrote the config";
  EXPECT_EQ(json::parse(call("GET", "/api/v1/cluster/status").body).value("nodeId", ""), "node-1");
  // Nothing was used up: the token still checks.
  r = call("GET", "/api/v1/registration/token", "", "", token);
  EXPECT_EQ(r.status, 200U) << r.body;
}

TEST_F(host_api, a_member_is_repointed_by_the_owner_of_its_agent_key) {
  write_member();
  open_agent();
  const auto token = agent_->issue_token();
  const auto r =
      call("POST", "/api/v1/registration/complete",
           completion(token, "node-2", "http://127.0.0.1:2", "the-new-key"), member_key, token);
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_EQ(json::parse(r.body).value("nodeId", ""), "node-2");
  const auto disk = load_agent_config(config_path_);
  ASSERT_TRUE(disk);
  EXPECT_EQ(disk->node_id, "node-2");
  EXPECT_EQ(disk->control_plane_address, "http://127.0.0.1:2");
  EXPECT_EQ(disk->agent_key, "the-new-key");
  // The old key is the old key now.
  EXPECT_EQ(call("GET", "/api/v1/cluster/config", "", member_key).status, 401U);
  EXPECT_EQ(call("GET", "/api/v1/cluster/config", "", "the-new-key").status, 200U);
}

TEST_F(host_api, a_standalone_host_completes_with_a_registration_token_alone) {
  open_agent();
  const auto token = agent_->issue_token();
  const auto r =
      call("POST", "/api/v1/registration/complete",
           completion(token, "node-1", "http://127.0.0.1:1", member_key), "", token, false);
  ASSERT_EQ(r.status, 200U) << r.body;
  EXPECT_EQ(load_agent_config(config_path_)->agent_key, member_key);
}

TEST_F(host_api, config_and_pool_files_of_a_member_need_its_agent_key) {
  write_member();
  open_agent();
  const auto token = agent_->issue_token();
  for (const std::string path : {"/api/v1/cluster/config", "/api/v1/storage/pools/images/files"}) {
    // Loopback and a registration token are not enough on a member.
    auto r = call("GET", path);
    EXPECT_EQ(r.status, 401U) << path << ": " << r.body;
    EXPECT_EQ(code_of(r), "AGENT_KEY_MISSING") << r.body;
    r = call("GET", path, "", "", token);
    EXPECT_EQ(r.status, 401U) << path << ": " << r.body;
    r = call("GET", path, "", token);
    EXPECT_EQ(r.status, 401U) << path << ": " << r.body;
    EXPECT_EQ(code_of(r), "AGENT_KEY_INVALID") << r.body;
    r = call("GET", path, "", "the-agent-key-012345678");
    EXPECT_EQ(r.status, 401U) << path << ": " << r.body;
    r = call("GET", path, "", member_key, "", false);
    EXPECT_EQ(r.status, 200U) << path << ": " << r.body;
  }
  // Refused before the pool is looked up: no probing pool names without the key.
  EXPECT_EQ(call("GET", "/api/v1/storage/pools/nope/files").status, 401U);
  const auto cfg = json::parse(call("GET", "/api/v1/cluster/config", "", member_key).body);
  EXPECT_EQ(cfg.value("nodeId", ""), "node-1");
  EXPECT_TRUE(cfg.value("agentKeySet", false));
  EXPECT_EQ(cfg.dump().find(member_key), std::string::npos) << "the key never leaves the host";
  const auto files =
      json::parse(call("GET", "/api/v1/storage/pools/images/files", "", member_key).body);
  ASSERT_EQ(files["files"].size(), 2U) << files.dump();
  EXPECT_EQ(files["files"][0].value("name", ""), "disk.qcow2");
}

TEST_F(host_api, config_and_pool_files_of_a_standalone_host_are_served_as_the_token_routes_are) {
  open_agent();
  const auto token = agent_->issue_token();
  for (const std::string path : {"/api/v1/cluster/config", "/api/v1/storage/pools/images/files"}) {
    auto r = call("GET", path, "", "", "", false);
    EXPECT_EQ(r.status, 401U) << path << ": " << r.body;
    EXPECT_EQ(code_of(r), "TOKEN_MISSING") << r.body;
    r = call("GET", path, "", "", "not-a-token", false);
    EXPECT_EQ(r.status, 401U) << path << ": " << r.body;
    EXPECT_EQ(code_of(r), "TOKEN_INVALID") << r.body;
    r = call("GET", path, "", "", token, false);
    EXPECT_EQ(r.status, 200U) << path << ": " << r.body;
    r = call("GET", path, "", token, "", false); // as a Bearer credential
    EXPECT_EQ(r.status, 200U) << path << ": " << r.body;
    r = call("GET", path); // the host itself
    EXPECT_EQ(r.status, 200U) << path << ": " << r.body;
  }
  // Reading does not use the token up.
  EXPECT_EQ(call("GET", "/api/v1/registration/token", "", "", token, false).status, 200U);
}

TEST_F(host_api, every_text_of_a_request_must_be_valid_utf8) {
  write_member();
  open_agent();
  const auto token = agent_->issue_token();
  const std::string bad = "a\xff";
  struct probe {
    host_request req;
    std::string field;
  };
  std::vector<probe> probes;
  const auto base = [&] {
    host_request r;
    r.method = "GET";
    r.path = "/api/v1/storage/pools/images/files";
    r.bearer = member_key;
    r.registration_token = member_key;
    return r;
  };
  probes.push_back({base(), "requestPath"});
  probes.back().req.path = "/api/v1/storage/pools/" + bad + "/files";
  probes.push_back({base(), "query"});
  probes.back().req.query[bad] = "x";
  probes.push_back({base(), "path"});
  probes.back().req.query["path"] = "isos/" + bad;
  probes.push_back({base(), "Authorization"});
  probes.back().req.bearer = bad;
  probes.back().req.registration_token = bad;
  probes.push_back({base(), "X-Registration-Token"});
  probes.back().req.registration_token = bad;
  probes.push_back({base(), "body"});
  probes.back().req.method = "POST";
  probes.back().req.path = "/api/v1/registration/complete";
  probes.back().req.body = "{\"nodeId\":\"" + bad + "\"}";
  probes.back().req.registration_token = token;
  for (auto& p : probes) {
    const auto r = agent_->handle(p.req);
    EXPECT_EQ(r.status, 400U) << p.field << ": " << r.body;
    EXPECT_EQ(code_of(r), "INVALID_ARGUMENT") << r.body;
    EXPECT_EQ(field_of(r), p.field) << r.body;
    EXPECT_TRUE(json::accept(r.body)) << "the answer is JSON (valid UTF-8)";
  }
  // Valid text in every one of them is served.
  auto ok = base();
  ok.query["path"] = "isos";
  EXPECT_EQ(agent_->handle(ok).status, 200U);
}

/// Over the real server: the Bearer credential and the registration token travel apart, so a
/// member's owner presents both.
TEST_F(host_api, over_http_the_agent_key_and_the_registration_token_are_separate_headers) {
  write_member();
  open_agent();
  auto server = host_server::start(
      "127.0.0.1", 0, [a = agent_.get()](const host_request& r) { return a->handle(r); });
  ASSERT_TRUE(server) << server.error().to_string();
  const auto base = "http://127.0.0.1:" + std::to_string((*server)->port());
  const auto fetch = [&](const std::string& method, const std::string& target,
                         std::vector<std::pair<std::string, std::string>> headers,
                         std::string body = {}) {
    net::fetch_request f;
    f.method = method;
    f.url = base + target;
    f.headers = std::move(headers);
    f.body = std::move(body);
    auto res = net::http_fetch(f);
    EXPECT_TRUE(res) << res.error().to_string();
    return res ? *res : net::fetch_response{};
  };
  const auto bearer =
      std::pair<std::string, std::string>{"Authorization", std::string{"Bearer "} + member_key};
  EXPECT_EQ(fetch("GET", "/api/v1/cluster/config", {}).status, 401U);
  EXPECT_EQ(fetch("GET", "/api/v1/cluster/config", {bearer}).status, 200U);
  EXPECT_EQ(fetch("GET", "/api/v1/storage/pools/images/files?path=isos", {}).status, 401U);
  EXPECT_EQ(fetch("GET", "/api/v1/storage/pools/images/files?path=isos", {bearer}).status, 200U);
  auto r = fetch("GET", "/api/v1/storage/pools/images/files?path=%FF", {bearer});
  EXPECT_EQ(r.status, 400U) << r.body;
  EXPECT_NE(r.body.find("\"field\":\"path\""), std::string::npos) << r.body;
  r = fetch("GET", "/api/v1/storage/pools/%FF/files", {bearer});
  EXPECT_EQ(r.status, 400U) << r.body;
  EXPECT_NE(r.body.find("requestPath"), std::string::npos) << r.body;

  const auto before = file_text();
  const auto token = agent_->issue_token();
  const auto body = completion(token, "node-9", "http://127.0.0.1:3", "another-key");
  r = fetch("POST", "/api/v1/registration/complete", {{"X-Registration-Token", token}}, body);
  EXPECT_EQ(r.status, 409U) << r.body;
  EXPECT_EQ(file_text(), before);
  r = fetch("POST", "/api/v1/registration/complete", {{"X-Registration-Token", token}, bearer},
            body);
  EXPECT_EQ(r.status, 200U) << r.body;
  EXPECT_EQ(load_agent_config(config_path_)->node_id, "node-9");
  (*server)->stop();
}

} // namespace
} // namespace qx::node::test
