// End to end over loopback with real processes: `qvdc serve` and qx-node agents on libvirt
// test-driver hosts; agents registered through the token flow, VMs started through the API
// and confirmed by libvirt's events, an agent killed with SIGKILL and restarted.
#include "canned_server.hpp"
#include "datacenter_fixture.hpp"

#include <csignal>
#include <fstream>
#include <optional>
#include <sstream>

namespace qx::test {
namespace {

class e2e_agents : public datacenter_fixture {};

/// The principal and causation of the VM's latest power change.
json last_power_change(datacenter_fixture& f, const std::string& vm) {
  const auto events = f.get("/api/v1/events?stream=vm-" + vm);
  json last;
  for (const auto& e : events.value("items", json::array()))
    if (e.value("type", "") == "qx.events.v1.VmPowerStateChanged")
      last = e;
  return last;
}

/// The value of the sample `series` (name and labels, as Prometheus' text format writes them)
/// in a /metrics body; nullopt when absent.
std::optional<double> metric(const std::string& body, const std::string& series) {
  std::istringstream lines{body};
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(series + " ", 0) == 0)
      return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

TEST_F(e2e_agents, two_agents_register_run_vms_and_reconcile_after_sigkill) {
  add_agent("small", 4, 8192);
  add_agent("large", 8, 16384);
  ASSERT_FALSE(agents_["small"].token.empty()) << diagnostics();
  auto r = discover("small", "node-small");
  ASSERT_EQ(r.status, 201u) << r.body << diagnostics();
  EXPECT_EQ(body_json(r)["node"].value("hostname", ""), body_json(r)["host"].value("hostname", ""));
  EXPECT_EQ(body_json(r)["node"]["hardware"].value("memoryMib", 0), 8192);
  r = discover("large", "node-large");
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(body_json(r)["node"]["hardware"].value("cpuThreads", 0), 8);
  // The registration token was single use: a second registration with it is refused.
  r = discover("large", "node-large-2");
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(body_json(r)["error"].value("code", ""), "TOKEN_INVALID");

  for (const auto* n : {"node-small", "node-large"})
    ASSERT_TRUE(eventually([&] {
      return get(std::string{"/api/v1/nodes/"} + n + "/agent").value("connected", false);
    })) << n
        << diagnostics();
  for (const auto& [name, a] : agents_)
    EXPECT_EQ(body_json(a.client->get("/api/v1/cluster/status")).value("status", ""), "connected")
        << name;

  // One VM on each host (a name of non-ASCII text and punctuation travels to libvirt's XML
  // unharmed; markup characters themselves are refused by the name rule, decision 0017).
  for (const auto& [vm, on] : {std::pair{"vm-a", "node-small"}, std::pair{"vm-b", "node-large"}}) {
    r = api_->post("/api/v1/vms",
                   json{{"id", vm},
                        {"spec",
                         {{"name", std::string{vm} + " \u00e9t\u00e9 (web); #1 \u2713"},
                          {"vcpus", 1},
                          {"memoryMib", 512}}}}
                       .dump());
    ASSERT_EQ(r.status, 201u) << r.body;
    r = api_->post(std::string{"/api/v1/vms/"} + vm + "/start", json{{"nodeId", on}}.dump());
    ASSERT_LT(r.status, 300u) << r.body;
  }
  ASSERT_TRUE(vm_power("vm-a", "running")) << get("/api/v1/vms/vm-a").dump() << diagnostics();
  ASSERT_TRUE(vm_power("vm-b", "running")) << diagnostics();
  // Running was recorded because libvirt said so, by the node's agent.
  const auto started = last_power_change(*this, "vm-a");
  EXPECT_EQ(started.value("principal", "").rfind("agent:node-", 0), 0u) << started.dump();
  EXPECT_EQ(started.value("causationId", ""), "libvirt:started:booted") << started.dump();

  const auto node = get("/api/v1/vms/vm-a").value("nodeId", "");
  const auto victim = node == "node-small" ? "small" : "large";
  const auto epoch_before = get("/api/v1/nodes/" + node + "/agent").value("epoch", 0ULL);
  agents_[victim].proc->stop(SIGKILL);
  ASSERT_TRUE(eventually(
      [&] { return !get("/api/v1/nodes/" + node + "/agent").value("connected", true); }));
  EXPECT_TRUE(eventually(
      [&] { return get("/api/v1/nodes/" + node).value("state", "") == "disconnected"; }));

  // Same config, same node, a new epoch; libvirt's test host restarted empty: the VM that ran
  // there is found stopped and recorded so.
  start_agent(victim);
  EXPECT_TRUE(agents_[victim].token.empty()) << "a member does not issue tokens at start";
  ASSERT_TRUE(eventually([&] {
    return get("/api/v1/nodes/" + node + "/agent").value("connected", false);
  })) << diagnostics();
  EXPECT_GT(get("/api/v1/nodes/" + node + "/agent").value("epoch", 0ULL), epoch_before);
  ASSERT_TRUE(vm_power("vm-a", "stopped")) << diagnostics();
  const auto found = last_power_change(*this, "vm-a");
  EXPECT_EQ(found["data"].value("reason", "").rfind("FOUND_STOPPED", 0), 0u) << found.dump();
  EXPECT_EQ(found.value("principal", ""), "agent:" + node);
  EXPECT_EQ(get("/api/v1/nodes/" + node).value("state", ""), "connected");
  // The other VM, on the other host, never stopped.
  EXPECT_EQ(get("/api/v1/vms/vm-b").value("powerState", ""), "running");

  // The re-registered node takes commands again.
  r = api_->post("/api/v1/vms/vm-a/start", json{{"nodeId", node}}.dump());
  ASSERT_LT(r.status, 300u) << r.body;
  EXPECT_TRUE(vm_power("vm-a", "running")) << diagnostics();
  r = api_->post("/api/v1/vms/vm-b/stop", "{}");
  ASSERT_LT(r.status, 300u) << r.body;
  EXPECT_TRUE(vm_power("vm-b", "stopped")) << diagnostics();

  // Each node proxy's session counters are on /metrics, by node.
  const auto m = api_->get("/metrics");
  ASSERT_EQ(m.status, 200u) << m.body;
  const auto labels = [](const std::string& n) {
    return "{node=\"" + n + "\"}";
  };
  for (const auto* n : {"node-small", "node-large"}) {
    EXPECT_EQ(metric(m.body, "qvdc_agent_connected" + labels(n)), 1.0) << n;
    // At least a define-and-start each (the restarted node got another).
    EXPECT_GE(metric(m.body, "qvdc_agent_commands_sent_total" + labels(n)).value_or(0), 1.0) << n;
    EXPECT_GE(metric(m.body, "qvdc_agent_frames_received_total" + labels(n)).value_or(0), 2.0) << n;
    EXPECT_EQ(metric(m.body, "qvdc_agent_command_failures_total" + labels(n)), 0.0) << n;
  }
}

TEST_F(e2e_agents, every_registration_error_code) {
  add_agent("n", 4, 8192, {"--token-ttl", "1"});
  const auto expect_code = [&](const json& body, unsigned status, const std::string& code) {
    const auto r = api_->post("/api/v1/nodes/discover", body.dump());
    EXPECT_EQ(r.status, status) << body.dump() << " → " << r.body;
    EXPECT_EQ(body_json(r)["error"].value("code", ""), code) << body.dump() << " → " << r.body;
  };
  const auto url = agents_["n"].url();
  expect_code({{"hostUrl", url}, {"token", ""}}, 422, "TOKEN_MISSING");
  expect_code({{"hostUrl", url}, {"token", "not-a-token"}}, 422, "TOKEN_INVALID");
  // A discovery only checks the token (it spends it when registering): ask until the host's
  // one-second TTL has passed, within a deadline.
  const json with_token{{"hostUrl", url}, {"token", agents_["n"].token}};
  ASSERT_TRUE(eventually([&] {
    const auto j = body_json(api_->post("/api/v1/nodes/discover", with_token.dump()));
    return j.contains("error") && j["error"].value("code", "") == "TOKEN_EXPIRED";
  })) << diagnostics();
  expect_code(with_token, 422, "TOKEN_EXPIRED");

  canned_server not_found{canned_server::http(404, "text/plain", "no such page")};
  expect_code({{"hostUrl", not_found.url()}, {"token", "t"}}, 502, "HOST_FIRMWARE_OUTDATED");
  canned_server html{canned_server::http(200, "text/html", "<html><body>Login</body></html>")};
  expect_code({{"hostUrl", html.url()}, {"token", "t"}}, 502, "HOST_FIRMWARE_OUTDATED");
  canned_server down{canned_server::http(503, "application/json", "{}")};
  expect_code({{"hostUrl", down.url()}, {"token", "t"}}, 502, "HOST_API_NOT_AVAILABLE");
  canned_server garbage{"SSH-2.0-OpenSSH_9.2\r\n\r\n"};
  expect_code({{"hostUrl", garbage.url()}, {"token", "t"}}, 502, "INVALID_RESPONSE");
  canned_server not_json{canned_server::http(200, "application/json", "{\"status\": ")};
  expect_code({{"hostUrl", not_json.url()}, {"token", "t"}}, 502, "INVALID_RESPONSE");
  canned_server silent{"", true};
  expect_code({{"hostUrl", silent.url()}, {"token", "t"}, {"timeoutMs", 300}}, 504,
              "CONNECTION_TIMEOUT");
  std::string closed_url;
  {
    canned_server gone{""};
    closed_url = gone.url();
  }
  expect_code({{"hostUrl", closed_url}, {"token", "t"}}, 502, "HOST_CONNECTION_FAILED");
  // TLS to a host API that speaks plain HTTP.
  auto tls_url = url;
  tls_url.replace(0, 4, "https");
  expect_code({{"hostUrl", tls_url}, {"token", "t"}}, 502, "TLS_ERROR");
  // Hostile and malformed input changes nothing and names the field.
  expect_code({{"hostUrl", "ftp://x"}, {"token", "t"}}, 400, "INVALID_ARGUMENT");
  expect_code({{"hostUrl", "http://a b"}, {"token", "t"}}, 400, "INVALID_ARGUMENT");
  expect_code({{"hostUrl", url}, {"token", "t"}, {"evil", 1}}, 400, "INVALID_ARGUMENT");
  expect_code({{"hostUrl", url}, {"token", std::string(600, 'x')}}, 400, "INVALID_ARGUMENT");
  EXPECT_EQ(body_json(api_->get("/api/v1/nodes")).value("items", json::array()).size(), 0u);
}

TEST_F(e2e_agents, the_host_names_the_cluster_the_control_plane_lists_it_in) {
  auto& a = add_agent("m", 4, 8192);
  const auto r = discover("m", "node-m");
  ASSERT_EQ(r.status, 201u) << r.body << diagnostics();
  const auto cluster_of_host = [&] {
    return body_json(a.client->get("/api/v1/cluster/status")).value("clusterId", "?");
  };
  ASSERT_TRUE(eventually([&] { return cluster_of_host().empty(); })) << diagnostics();
  ASSERT_EQ(api_->post("/api/v1/clusters", json{{"id", "c1"}, {"name", "c1"}}.dump()).status, 201u);
  ASSERT_LT(api_->post("/api/v1/clusters/c1/nodes/node-m", "{}").status, 300u);
  EXPECT_EQ(get("/api/v1/nodes/node-m").value("clusterId", ""), "c1");
  EXPECT_TRUE(eventually([&] { return cluster_of_host() == "c1"; })) << cluster_of_host();
  // A restarted agent hears it again in its session's welcome.
  agents_["m"].proc->stop(SIGKILL);
  start_agent("m");
  EXPECT_TRUE(eventually([&] {
    return body_json(agents_["m"].client->get("/api/v1/cluster/status")).value("clusterId", "") ==
           "c1";
  })) << diagnostics();
  ASSERT_LT(api_->del("/api/v1/clusters/c1/nodes/node-m").status, 300u);
  EXPECT_TRUE(eventually([&] {
    return body_json(agents_["m"].client->get("/api/v1/cluster/status"))
        .value("clusterId", "?")
        .empty();
  })) << diagnostics();
}

TEST_F(e2e_agents, network_unreachable_is_named) {
  // No route to a documentation prefix: the kernel refuses at once where there is no IPv6
  // default route. Elsewhere the packet would leave the machine, so the test stops there.
  const auto r = api_->post(
      "/api/v1/nodes/discover",
      json{{"hostUrl", "http://[2001:db8::1]:9"}, {"token", "t"}, {"timeoutMs", 500}}.dump());
  const auto code = body_json(r)["error"].value("code", "");
  if (code == "CONNECTION_TIMEOUT")
    GTEST_SKIP() << "this machine routes 2001:db8::/32";
  EXPECT_EQ(code, "NETWORK_UNREACHABLE") << r.body;
  EXPECT_EQ(r.status, 502u);
}

TEST_F(e2e_agents, join_and_leave_cycle_standalone_cluster_standalone) {
  auto& a = add_agent("j", 4, 8192);
  EXPECT_EQ(body_json(a.client->get("/api/v1/cluster/status")).value("status", ""), "standalone");
  auto r = api_->post("/api/v1/nodes/registration-tokens", "{}");
  ASSERT_EQ(r.status, 201u) << r.body;
  const auto token = body_json(r).value("token", "");
  ASSERT_FALSE(token.empty());

  r = a.client->post(
      "/api/v1/cluster/join",
      json{{"controlPlaneAddress", cp_->base_url()}, {"registrationToken", "wrong"}}.dump());
  EXPECT_EQ(r.status, 401u) << r.body;
  EXPECT_EQ(body_json(r)["error"].value("code", ""), "TOKEN_INVALID");

  r = a.client->post("/api/v1/cluster/join", json{{"controlPlaneAddress", cp_->base_url()},
                                                  {"registrationToken", token},
                                                  {"nodeId", "joined-1"}}
                                                 .dump());
  ASSERT_EQ(r.status, 200u) << r.body << diagnostics();
  EXPECT_EQ(body_json(r).value("nodeId", ""), "joined-1");
  ASSERT_TRUE(eventually([&] {
    return body_json(a.client->get("/api/v1/cluster/status")).value("status", "") == "connected";
  })) << diagnostics();
  EXPECT_TRUE(get("/api/v1/nodes/joined-1/agent").value("connected", false));
  // A member's config answers its agent key only.
  EXPECT_EQ(a.client->get("/api/v1/cluster/config").status, 401u);
  const auto cfg = body_json(a.client->get("/api/v1/cluster/config", a.as_owner()));
  EXPECT_EQ(cfg.value("nodeId", ""), "joined-1");
  EXPECT_TRUE(cfg.value("agentKeySet", false));
  EXPECT_FALSE(cfg.contains("agentKey")) << "the secret never leaves the host";

  // The operator edits the file for what only a restart applies: the status says so.
  {
    std::ifstream in{a.config};
    std::stringstream text;
    text << in.rdbuf();
    auto yaml = text.str();
    const auto at = yaml.find("listen: ");
    ASSERT_NE(at, std::string::npos) << yaml;
    yaml.replace(at, yaml.find('\n', at) - at, "listen: \"127.0.0.1:9\"");
    std::ofstream{a.config, std::ios::trunc} << yaml;
  }
  const auto edited = body_json(a.client->get("/api/v1/cluster/status"));
  EXPECT_EQ(edited.value("status", ""), "pending_restart") << edited.dump();
  EXPECT_TRUE(edited.value("restartRequired", false));

  // The token was single use.
  r = api_->post(
      "/api/v1/nodes/register",
      json{{"registrationToken", token}, {"hostname", "x"}, {"cpuThreads", 4}, {"memoryMib", 4096}}
          .dump());
  EXPECT_EQ(r.status, 401u) << r.body;

  r = a.client->post("/api/v1/cluster/leave", "{}");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(body_json(r).value("status", ""), "standalone");
  EXPECT_TRUE(
      eventually([&] { return !get("/api/v1/nodes/joined-1/agent").value("connected", true); }));
  EXPECT_TRUE(eventually(
      [&] { return get("/api/v1/nodes/joined-1").value("state", "") == "disconnected"; }));
  EXPECT_EQ(body_json(a.client->get("/api/v1/cluster/config")).value("nodeId", "x"), "");
  // Standalone survives a restart (the file says so).
  a.proc->stop(SIGKILL);
  start_agent("j");
  EXPECT_EQ(body_json(agents_["j"].client->get("/api/v1/cluster/status")).value("status", ""),
            "standalone");
  r = agents_["j"].client->post("/api/v1/cluster/leave", "{}");
  EXPECT_EQ(r.status, 409u) << r.body;
}

} // namespace
} // namespace qx::test
