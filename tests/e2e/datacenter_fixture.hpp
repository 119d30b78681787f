#pragma once

// A small datacenter of real processes on loopback: `qvdc serve` (no stand-in: VM states
// follow libvirt) and qx-node agents, each on its own libvirt test-driver host (a host.xml in
// the test's temp dir), driven over HTTP by cpprestsdk.

#include "api_client.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

namespace qx::test {

using nlohmann::json;
using namespace std::chrono_literals;

inline json body_json(const api_response& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json{} : j;
}

struct agent_process {
  std::string config;
  std::string host_xml;
  std::string libvirt_uri; ///< empty: libvirt's test driver on host_xml
  std::unique_ptr<server_process> proc;
  std::unique_ptr<api_client> client;
  std::string token; ///< printed at start while standalone
  [[nodiscard]] std::string url() const { return proc->base_url(); }
  /// A member's `cluster/config` and pool files answer its agent key only: the header that
  /// carries the key its config file holds (the control plane has the same).
  [[nodiscard]] header_list as_owner() const {
    std::ifstream in{config};
    const std::string marker = "agent_key: \"";
    for (std::string line; std::getline(in, line);)
      if (line.starts_with(marker))
        return {{"Authorization",
                 "Bearer " + line.substr(marker.size(), line.rfind('"') - marker.size())}};
    return {};
  }
};

class datacenter_fixture : public ::testing::Test {
 public:
  void SetUp() override {
    std::vector<std::string> argv{QX_QVDC_PATH,  "serve",      "--listen",
                                  "127.0.0.1:0", "--data-dir", dir_.path().string() + "/cp",
                                  "--no-auth"};
    argv.insert(argv.end(), serve_args_.begin(), serve_args_.end());
    cp_ = server_process::program(argv, dir_.path().string() + "/cp.err");
    cp_->start();
    api_ = std::make_unique<api_client>(cp_->base_url());
  }

  /// Writes a test-driver host of `cpus` × `memory_mib` and starts an agent on it.
  agent_process& add_agent(const std::string& name, unsigned cpus, unsigned memory_mib,
                           std::vector<std::string> extra = {}) {
    auto& a = agents_[name];
    a.config = dir_.path().string() + "/" + name + ".yaml";
    a.host_xml = dir_.path().string() + "/" + name + "-host.xml";
    std::ofstream{a.host_xml} << "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>" << cpus
                              << "</cores><threads>1</threads><active>" << cpus
                              << "</active><mhz>2400</mhz><model>x86_64</model></cpu><memory>"
                              << memory_mib * 1024ULL << "</memory></node>\n";
    start_agent(name, std::move(extra));
    return a;
  }

  /// Starts an agent on the libvirt connection `uri` (a real hypervisor: qemu:///system).
  agent_process& add_agent_on(const std::string& name, const std::string& uri,
                              std::vector<std::string> extra = {}) {
    auto& a = agents_[name];
    a.config = dir_.path().string() + "/" + name + ".yaml";
    a.libvirt_uri = uri;
    start_agent(name, std::move(extra));
    return a;
  }

  void start_agent(const std::string& name, std::vector<std::string> extra = {}) {
    auto& a = agents_[name];
    std::vector<std::string> argv{QX_NODE_PATH,
                                  "--config",
                                  a.config,
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--libvirt-uri",
                                  a.libvirt_uri.empty() ? "test://" + a.host_xml : a.libvirt_uri,
                                  "--heartbeat-ms",
                                  "200"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    a.proc = server_process::program(argv, dir_.path().string() + "/" + name + ".err");
    a.proc->start();
    a.client = std::make_unique<api_client>(a.proc->base_url());
    a.token.clear();
    const auto line = a.proc->read_line(500ms);
    const std::string marker = "registration token: ";
    if (const auto at = line.find(marker); at != std::string::npos)
      a.token =
          line.substr(at + marker.size(), line.find(' ', at + marker.size()) - at - marker.size());
  }

  /// Registers agent `name` as node `node_id` through the token flow.
  api_response discover(const std::string& name, const std::string& node_id) {
    const auto& a = agents_.at(name);
    return api_->post(
        "/api/v1/nodes/discover",
        json{{"hostUrl", a.url()}, {"token", a.token}, {"register", true}, {"nodeId", node_id}}
            .dump());
  }

  json get(const std::string& target) { return body_json(api_->get(target)); }

  static bool eventually(const std::function<bool()>& pred,
                         std::chrono::milliseconds timeout = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  bool vm_power(const std::string& vm, const std::string& want) {
    return eventually([&] { return get("/api/v1/vms/" + vm).value("powerState", "") == want; });
  }

  std::string diagnostics() {
    std::string out = "control plane stderr:\n" + cp_->stderr_tail();
    for (auto& [name, a] : agents_)
      out += "\n" + name + " stderr:\n" + (a.proc ? a.proc->stderr_tail(1500) : "");
    return out;
  }

  temp_dir dir_;
  std::vector<std::string> serve_args_; ///< more `qvdc serve` options (set before SetUp)
  std::unique_ptr<server_process> cp_;
  std::unique_ptr<api_client> api_;
  std::map<std::string, agent_process> agents_;
};

} // namespace qx::test
