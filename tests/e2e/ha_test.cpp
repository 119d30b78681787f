// HA in the live control plane, end to end over loopback: `qvdc serve` with three qx-node
// agents on libvirt test-driver hosts in one HA cluster. An agent is killed with SIGKILL (on
// the test driver its domains die with it): the protected VMs run again on the other hosts,
// the higher priority first, after the lease and the fence bound; the unprotected one stays
// down; the log says why, under the principal system:ha.
#include "ha_fixture.hpp"
#include "tcp_relay.hpp"

#include <csignal>
#include <ctime>
#include <map>

namespace qx::test {
namespace {

constexpr auto lease = 2000ms;
constexpr auto fence_bound = 1000ms;

class e2e_ha : public ha_datacenter {
 public:
  e2e_ha() { serve_with_ha(lease, fence_bound); }
};

TEST_F(e2e_ha, a_killed_host_s_protected_vms_run_elsewhere_by_priority) {
  three_hosts_in_an_ha_cluster();
  run_vm("vm-high", 5, "node-a");
  run_vm("vm-low", 1, "node-a");
  run_vm("vm-none", 0, "node-a");

  const auto killed_at = std::chrono::steady_clock::now();
  agents_["a"].proc->stop(SIGKILL);
  const auto elsewhere = [&](const std::string& vm) {
    const auto v = get("/api/v1/vms/" + vm);
    return v.value("powerState", "") == "running" && v.value("nodeId", "") != "node-a";
  };
  ASSERT_TRUE(eventually([&] { return elsewhere("vm-high") && elsewhere("vm-low"); }, 30s))
      << get("/api/v1/vms/vm-high").dump() << get("/api/v1/vms/vm-low").dump() << diagnostics();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed_at);
  // Never before the lease and the fence bound: the host might still be running them.
  EXPECT_GE(took, lease + fence_bound);
  std::printf("host death to its last HA VM running elsewhere: %lld ms (lease + fence bound "
              "%lld ms)\n",
              static_cast<long long>(took.count()),
              static_cast<long long>((lease + fence_bound).count()));
  // The unprotected VM is recorded stopped and stays so.
  EXPECT_EQ(get("/api/v1/vms/vm-none").value("powerState", ""), "stopped");

  // Why, in the log: the node failed with the VMs it held; the restarts were planned by
  // priority (the higher first), under system:ha.
  const auto failed = events_of("ha-c1", "HaNodeFailed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].value("principal", ""), "system:ha");
  EXPECT_EQ(failed[0]["data"].value("nodeId", ""), "node-a");
  const auto held = failed[0]["data"].value("vmIds", json::array());
  for (const auto* vm : {"vm-high", "vm-low", "vm-none"})
    EXPECT_NE(std::find(held.begin(), held.end(), vm), held.end()) << vm << failed[0].dump();
  const auto planned = events_of("ha-c1", "HaRestartPlanned");
  std::vector<std::string> order;
  for (const auto& p : planned)
    order.push_back(p["data"].value("vmId", ""));
  ASSERT_EQ(order, (std::vector<std::string>{"vm-high", "vm-low"}));
  // And on /metrics, by cluster.
  const auto m = api_->get("/metrics").body;
  EXPECT_NE(m.find("qvdc_ha_nodes_failed_total{cluster=\"c1\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("qvdc_ha_restarts_total{cluster=\"c1\"} 2"), std::string::npos) << m;
  const auto stopped = get("/api/v1/events?stream=vm-vm-high").value("items", json::array());
  bool host_failed = false;
  for (const auto& e : stopped)
    host_failed = host_failed || e["data"].value("reason", "") == "HOST_FAILED";
  EXPECT_TRUE(host_failed) << stopped.dump();
  // An operator sees it as an open critical alert on the node.
  bool alerted = false;
  for (const auto& a : get("/api/v1/alerts?state=open").value("items", json::array()))
    alerted = alerted ||
              (a.value("rule", "") == "ha_node_failed" && a.value("target", "") == "node-node-a" &&
               a.value("severity", "") == "critical");
  EXPECT_TRUE(alerted) << get("/api/v1/alerts").dump();
}

TEST_F(e2e_ha,
       manual_drs_recommends_on_a_spike_what_if_changes_nothing_apply_and_reject_are_recorded) {
  // Three VMs on one host of three, idle by the agents' demand file: DRS (manual, threshold
  // 3) sees nothing to do. The test scripts a spike (every VM's vCPU busy): DRS recommends
  // moving some away and waits for an operator.
  const auto demand = dir_.path().string() + "/demand.txt";
  std::ofstream{demand} << "* constant 0.05\n";
  three_hosts_in_an_ha_cluster(3, {"--test-demand", demand});
  for (const auto* vm : {"vm-1", "vm-2", "vm-3"})
    run_vm(vm, 0, "node-a", 128);
  const auto head = [&] {
    return get("/ready").value("logHead", 0ULL);
  };
  ASSERT_TRUE(eventually([&] { return get("/api/v1/clusters/c1/drs").value("live", false); }));
  // Quiet: three passes (one a second) and no recommendation.
  const auto passes = [&] {
    return get("/api/v1/clusters/c1/drs").value("lastPassAgoMs", -1);
  };
  ASSERT_TRUE(eventually([&] { return passes() >= 0; })) << get("/api/v1/clusters/c1/drs").dump();
  const auto quiet_until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < quiet_until) {
    ASSERT_TRUE(
        get("/api/v1/clusters/c1/drs/recommendations").value("items", json::array()).empty())
        << get("/api/v1/clusters/c1/drs").dump();
    std::this_thread::sleep_for(100ms); // polling a condition that must stay false
  }
  std::ofstream{demand} << "* constant 1.0\n"; // the spike

  json recs;
  ASSERT_TRUE(eventually(
      [&] {
        recs = get("/api/v1/clusters/c1/drs/recommendations").value("items", json::array());
        return recs.size() >= 2;
      },
      30s))
      << get("/api/v1/clusters/c1/drs").dump() << diagnostics();
  const auto status = get("/api/v1/clusters/c1/drs");
  EXPECT_EQ(status.value("automation", ""), "manual");
  EXPECT_GT(status.value("imbalance", 0.0), status.value("targetImbalance", 1.0)) << status.dump();
  EXPECT_GE(status.value("pendingRecommendations", 0), 2);
  // The passes and the imbalance on /metrics.
  const auto m = api_->get("/metrics").body;
  EXPECT_NE(m.find("qvdc_drs_imbalance{cluster=\"c1\"}"), std::string::npos) << m;
  EXPECT_NE(m.find("qvdc_drs_passes_total "), std::string::npos) << m;
  EXPECT_EQ(m.find("qvdc_drs_passes_total 0"), std::string::npos) << m;

  // What-if: what DRS would do, with reasons; nothing written.
  const auto before = head();
  auto r = api_->post("/api/v1/clusters/c1/drs/what-if", "{}");
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto plan = body_json(r);
  ASSERT_FALSE(plan.value("moves", json::array()).empty()) << plan.dump();
  EXPECT_EQ(plan["moves"][0].value("from", ""), "node-a");
  EXPECT_EQ(plan["moves"][0].value("reason", ""), "BALANCE");
  EXPECT_EQ(head(), before) << "what-if wrote to the log";

  // Reject one, apply another: each recorded under the caller's principal.
  const auto rejected = recs[0].value("id", "");
  const auto applied = recs[1].value("id", "");
  const auto moved_vm = recs[1].value("vmId", "");
  r = api_->post("/api/v1/clusters/c1/drs/recommendations/" + rejected + "/reject", "{}");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(body_json(r).value("status", ""), "rejected");
  r = api_->post("/api/v1/clusters/c1/drs/recommendations/" + applied + "/apply", "{}");
  ASSERT_EQ(r.status, 200u) << r.body;
  r = api_->post("/api/v1/clusters/c1/drs/recommendations/" + applied + "/apply", "{}");
  EXPECT_EQ(r.status, 404u) << "applied once only: " << r.body;
  r = api_->post("/api/v1/clusters/c1/drs/recommendations/no-such/reject", "{}");
  EXPECT_EQ(r.status, 404u) << r.body;
  r = api_->post("/api/v1/clusters/c1/drs/what-if", R"({"surprise":1})");
  EXPECT_EQ(r.status, 400u) << r.body;
  r = api_->get("/api/v1/clusters/ghost/drs");
  EXPECT_EQ(r.status, 404u) << r.body;

  const auto rejections = events_of("drs-c1", "DrsRecommendationRejected");
  ASSERT_FALSE(rejections.empty());
  EXPECT_EQ(rejections.front()["data"].value("recommendationId", ""), rejected);
  EXPECT_EQ(rejections.front().value("principal", ""), "anonymous");
  const auto applications = events_of("drs-c1", "DrsRecommendationApplied");
  ASSERT_EQ(applications.size(), 1u);
  EXPECT_EQ(applications[0]["data"].value("recommendationId", ""), applied);
  EXPECT_EQ(applications[0].value("principal", ""), "anonymous");
  // The migration was asked of the VM (the test driver cannot carry it out between two
  // processes: it is recorded started, then failed).
  ASSERT_TRUE(eventually([&] {
    return !events_of("vm-" + moved_vm, "VmMigrationStarted").empty();
  })) << diagnostics();

  // HA's view of the same cluster.
  const auto ha = get("/api/v1/clusters/c1/ha");
  EXPECT_TRUE(ha.value("enabled", false));
  EXPECT_EQ(ha.value("leaseMs", 0), lease.count());
  ASSERT_EQ(ha.value("nodes", json::array()).size(), 3u) << ha.dump();
  for (const auto& n : ha["nodes"])
    EXPECT_EQ(n.value("state", ""), "alive") << ha.dump();
  EXPECT_TRUE(ha.value("restartQueue", json::array()).empty());
}

TEST_F(e2e_ha, a_bulk_start_of_100_vms_spreads_over_the_hosts_with_none_refused) {
  for (const auto* n : {"a", "b", "c"}) {
    add_agent(n, 16, 65536);
    ASSERT_EQ(discover(n, std::string{"node-"} + n).status, 201u) << diagnostics();
  }
  for (const auto* n : {"node-a", "node-b", "node-c"})
    ASSERT_TRUE(eventually([&] {
      return get(std::string{"/api/v1/nodes/"} + n + "/agent").value("connected", false);
    })) << diagnostics();
  std::vector<api_client::request> starts;
  for (int i = 0; i < 100; ++i) {
    const auto id = "bulk-" + std::to_string(i);
    const auto r = api_->post(
        "/api/v1/vms",
        json{{"id", id}, {"spec", {{"name", id}, {"vcpus", 1}, {"memoryMib", 128}}}}.dump());
    ASSERT_EQ(r.status, 201u) << r.body;
    starts.push_back({"POST", "/api/v1/vms/" + id + "/start", std::string{"{}"}, {}});
  }
  // All at once: placement counts the reservations in flight, so they spread as if started
  // one by one, and none is refused while a host has room.
  for (const auto& r : api_->send_all(starts))
    ASSERT_LT(r.status, 300u) << r.body;
  std::map<std::string, int> per_node;
  ASSERT_TRUE(eventually(
      [&] {
        per_node.clear();
        int running = 0;
        for (int i = 0; i < 100; ++i) {
          const auto v = get("/api/v1/vms/bulk-" + std::to_string(i));
          running += v.value("powerState", "") == "running" ? 1 : 0;
          ++per_node[v.value("nodeId", "")];
        }
        return running == 100;
      },
      60s))
      << diagnostics();
  ASSERT_EQ(per_node.size(), 3u);
  for (const auto& [node, n] : per_node)
    EXPECT_NEAR(n, 33, 1) << node;
}

/// Milliseconds since the epoch of an event's RFC 3339 "time" (UTC, as the API writes it).
std::int64_t unix_ms_of(const std::string& rfc3339) {
  std::tm tm{};
  int ms = 0;
  char frac[16] = {0};
  if (std::sscanf(rfc3339.c_str(), "%d-%d-%dT%d:%d:%d.%15[0-9]", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, frac) < 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  for (int i = 0; i < 3; ++i)
    ms = ms * 10 + (frac[i] >= '0' && frac[i] <= '9' ? frac[i] - '0' : 0);
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

/// A lease long enough for an agent to be killed and started again inside it, also under the
/// sanitizers.
class e2e_ha_long_lease : public e2e_ha {
 public:
  static constexpr auto long_lease = 5000ms;
  e2e_ha_long_lease() { serve_with_ha(long_lease, fence_bound); }
};

TEST_F(e2e_ha_long_lease, an_agent_back_within_its_lease_fails_no_host) {
  three_hosts_in_an_ha_cluster();
  run_vm("vm-high", 5, "node-a");
  const auto epoch = get("/api/v1/nodes/node-a/agent").value("epoch", 0ULL);
  const auto killed_at = std::chrono::steady_clock::now();
  agents_["a"].proc->stop(SIGKILL);
  start_agent("a");
  ASSERT_TRUE(eventually([&] {
    const auto a = get("/api/v1/nodes/node-a/agent");
    return a.value("connected", false) && a.value("epoch", 0ULL) > epoch;
  })) << diagnostics();
  ASSERT_LT(std::chrono::steady_clock::now() - killed_at, long_lease);
  // Until well past lease + fence bound from the kill, HA never suspects the host.
  const auto until = killed_at + long_lease + fence_bound + 500ms;
  while (std::chrono::steady_clock::now() < until) {
    const auto ha = get("/api/v1/clusters/c1/ha");
    for (const auto& n : ha.value("nodes", json::array()))
      ASSERT_EQ(n.value("state", ""), "alive") << ha.dump() << diagnostics();
    std::this_thread::sleep_for(100ms); // polling a condition that must stay true
  }
  EXPECT_TRUE(events_of("ha-c1", "HaNodeSuspected").empty());
  EXPECT_TRUE(events_of("ha-c1", "HaNodeFailed").empty());
  // On the test driver the domain died with its agent: the agent back reports it stopped, and
  // HA restarts it as a protected VM found stopped (a host's reboot), not as a failed host's.
  ASSERT_TRUE(vm_power("vm-high", "running")) << diagnostics();
  for (const auto& p : events_of("ha-c1", "HaRestartPlanned"))
    EXPECT_EQ(p["data"].value("vmId", ""), "vm-high") << p.dump();
}

/// The agents reach the control plane through a relay the test can cut per node.
class e2e_partition : public e2e_ha {
 public:
  e2e_partition() {
    serve_args_.push_back("--advertise-url");
    serve_args_.push_back("http://127.0.0.1:" + std::to_string(relay_.port()));
  }
  void SetUp() override {
    e2e_ha::SetUp();
    const auto url = cp_->base_url();
    relay_.target(static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1))));
  }
  tcp_relay relay_;
};

TEST_F(e2e_partition, a_cut_off_host_stops_its_vms_before_they_run_elsewhere) {
  three_hosts_in_an_ha_cluster();
  run_vm("vm-p", 3, "node-a");
  const auto cut_at = std::chrono::steady_clock::now();
  relay_.cut("node-a");
  // The control plane restarts it elsewhere after lease + fence bound...
  std::string on;
  ASSERT_TRUE(eventually(
      [&] {
        const auto v = get("/api/v1/vms/vm-p");
        on = v.value("nodeId", "");
        return v.value("powerState", "") == "running" && on != "node-a";
      },
      30s))
      << get("/api/v1/vms/vm-p").dump() << diagnostics();
  EXPECT_GE(std::chrono::steady_clock::now() - cut_at, lease + fence_bound);
  // ... and the host, cut off, had stopped it before: its agent fenced itself once its lease
  // lapsed, earlier than the restart began (both clocks are this machine's).
  const auto host = body_json(agents_["a"].client->get("/api/v1/cluster/status"));
  EXPECT_GE(host["session"].value("fences", 0), 1) << host.dump();
  const auto fenced_ms = host["session"].value("lastFenceUnixMs", std::int64_t{0});
  std::int64_t restart_ms = 0;
  for (const auto& e : events_of("vm-vm-p", "VmPowerStateChanged"))
    if (e["data"].value("to", "") == "starting" && e["data"].value("nodeId", "") == on)
      restart_ms = unix_ms_of(e.value("time", ""));
  ASSERT_GT(restart_ms, 0);
  ASSERT_GT(fenced_ms, 0) << host.dump();
  EXPECT_LT(fenced_ms, restart_ms)
      << "the VM ran on both hosts for " << restart_ms - fenced_ms << " ms";
  std::printf("partition: the host fenced itself %lld ms before the restart began\n",
              static_cast<long long>(restart_ms - fenced_ms));

  // The partition ends: the host reconnects and reports nothing running; the VM runs once.
  relay_.restore("node-a");
  ASSERT_TRUE(eventually([&] {
    return get("/api/v1/nodes/node-a/agent").value("connected", false);
  })) << diagnostics();
  EXPECT_EQ(get("/api/v1/vms/vm-p").value("nodeId", ""), on);
  EXPECT_EQ(get("/api/v1/vms/vm-p").value("powerState", ""), "running");
}

TEST_F(e2e_partition, without_fencing_the_cut_off_host_keeps_running_its_vm) {
  // The same partition with --fence-action none on the host: the check above would fail, which
  // is what shows it can (the agent's watchdog is what keeps the VM from running twice).
  for (const auto* n : {"a", "b"}) {
    add_agent(n, 4, 8192,
              n == std::string{"a"} ? std::vector<std::string>{"--fence-action", "none"}
                                    : std::vector<std::string>{});
    ASSERT_EQ(discover(n, std::string{"node-"} + n).status, 201u) << diagnostics();
  }
  for (const auto* n : {"node-a", "node-b"})
    ASSERT_TRUE(eventually([&] {
      return get(std::string{"/api/v1/nodes/"} + n + "/agent").value("connected", false);
    })) << diagnostics();
  ASSERT_EQ(api_->post("/api/v1/clusters",
                       json{{"id", "c1"}, {"name", "c1"}, {"ha", {{"enabled", true}}}}.dump())
                .status,
            201u);
  for (const auto* n : {"node-a", "node-b"})
    ASSERT_LT(api_->post(std::string{"/api/v1/clusters/c1/nodes/"} + n, "{}").status, 300u);
  run_vm("vm-p", 3, "node-a");
  relay_.cut("node-a");
  ASSERT_TRUE(
      eventually([&] { return get("/api/v1/vms/vm-p").value("nodeId", "") == "node-b"; }, 30s))
      << diagnostics();
  const auto host = body_json(agents_["a"].client->get("/api/v1/cluster/status"));
  EXPECT_EQ(host["session"].value("fences", -1), 0) << host.dump();
  // Reconnected, the host reports the VM still running there: it ran twice meanwhile.
  relay_.restore("node-a");
  ASSERT_TRUE(eventually([&] {
    return get("/api/v1/nodes/node-a/agent").value("connected", false);
  })) << diagnostics();
}

} // namespace
} // namespace qx::test
