#pragma once

// A datacenter of three qx-node agents (test-driver hosts) in one HA cluster under `qvdc
// serve`, with a short lease: the e2e HA tests and the HA benchmark (tests/bench/bench_ha.cpp)
// build it the same way.

#include "datacenter_fixture.hpp"

#include <string>
#include <vector>

namespace qx::test {

class ha_datacenter : public datacenter_fixture {
 public:
  /// `qvdc serve` with this HA lease and fence bound, and a DRS pass a second.
  void serve_with_ha(std::chrono::milliseconds lease, std::chrono::milliseconds fence_bound) {
    serve_args_ = {"--ha-lease-ms",       std::to_string(lease.count()),
                   "--ha-fence-bound-ms", std::to_string(fence_bound.count()),
                   "--drs-interval-s",    "1"};
  }

  /// Three agents joined as node-a, node-b, node-c in cluster c1 with HA on and DRS manual
  /// (`threshold`); `agent_args` go to every agent.
  void three_hosts_in_an_ha_cluster(int threshold = 5, std::vector<std::string> agent_args = {}) {
    for (const auto* n : {"a", "b", "c"}) {
      add_agent(n, 4, 8192, agent_args);
      const auto r = discover(n, std::string{"node-"} + n);
      ASSERT_EQ(r.status, 201u) << r.body << diagnostics();
    }
    for (const auto* n : {"node-a", "node-b", "node-c"})
      ASSERT_TRUE(eventually([&] {
        return get(std::string{"/api/v1/nodes/"} + n + "/agent").value("connected", false);
      })) << n
          << diagnostics();
    auto r = api_->post("/api/v1/clusters", json{{"id", "c1"},
                                                 {"name", "c1"},
                                                 {"ha", {{"enabled", true}}},
                                                 {"drs",
                                                  {{"enabled", true},
                                                   {"automation", "manual"},
                                                   {"migrationThreshold", threshold},
                                                   {"holdSeconds", 1}}}}
                                                .dump());
    ASSERT_EQ(r.status, 201u) << r.body;
    for (const auto* n : {"node-a", "node-b", "node-c"}) {
      r = api_->post(std::string{"/api/v1/clusters/c1/nodes/"} + n, "{}");
      ASSERT_LT(r.status, 300u) << r.body;
    }
  }

  void run_vm(const std::string& id, int priority, const std::string& node,
              unsigned memory_mib = 512) {
    auto r = api_->post("/api/v1/vms", json{{"id", id},
                                            {"spec",
                                             {{"name", id},
                                              {"vcpus", 1},
                                              {"memoryMib", memory_mib},
                                              {"haRestartPriority", priority}}}}
                                           .dump());
    ASSERT_EQ(r.status, 201u) << r.body;
    r = api_->post("/api/v1/vms/" + id + "/start", json{{"nodeId", node}}.dump());
    ASSERT_LT(r.status, 300u) << r.body;
    ASSERT_TRUE(vm_power(id, "running")) << get("/api/v1/vms/" + id).dump() << diagnostics();
  }

  /// The events of `stream` of type `type` (short name), in log order.
  std::vector<json> events_of(const std::string& stream, const std::string& type) {
    std::vector<json> out;
    for (const auto& e : get("/api/v1/events?stream=" + stream).value("items", json::array()))
      if (e.value("type", "") == "qx.events.v1." + type)
        out.push_back(e);
    return out;
  }
};

} // namespace qx::test
