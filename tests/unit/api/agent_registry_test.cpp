// The agent registry (the API's adapter in front of the node proxy actors) on a real actor
// system over the in-memory store, with the gateway and the read models: sessions are numbered
// by growing epochs, a second session closes the first, frames and closes of an older session
// change nothing, the agent is told its cluster in the Welcome and when it joins or leaves
// one, and GET /nodes/{id}/agent's JSON keeps its shape. The proxy's own rules are tested
// deterministically in tests/unit/actors/node_proxy_test.cpp.
#include "agent_registry.hpp"
#include "gateway.hpp"

#include <qx/actors/datacenter.hpp>
#include <qx/agent/v1/session.pb.h>
#include <qx/events/memory_store.hpp>
#include <qx/projections/host.hpp>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace qx::api {
namespace {

namespace pb = qx::agent::v1;
using namespace std::chrono_literals;

/// A session as the proxy sees it, recording what the proxy does to it.
class recording_link final : public agent_link {
 public:
  void send(std::string bytes) override {
    std::lock_guard lock{mutex_};
    pb::ControlFrame f;
    EXPECT_TRUE(f.ParseFromString(bytes));
    frames_.push_back(std::move(f));
    cv_.notify_all();
  }
  void close(const std::string& reason) override {
    std::lock_guard lock{mutex_};
    closed_ = reason;
    cv_.notify_all();
  }
  /// Waits (with a deadline) until `pred` holds over what was recorded.
  bool wait(const std::function<bool(const std::vector<pb::ControlFrame>&,
                                     const std::optional<std::string>&)>& pred) {
    std::unique_lock lock{mutex_};
    return cv_.wait_for(lock, 10s, [&] { return pred(frames_, closed_); });
  }
  std::optional<pb::Welcome> welcome() {
    std::optional<pb::Welcome> out;
    wait([&](const auto& frames, const auto&) {
      for (const auto& f : frames)
        if (f.has_welcome())
          out = f.welcome();
      return out.has_value();
    });
    return out;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<pb::ControlFrame> frames_;
  std::optional<std::string> closed_;
};

class agent_registry_sessions : public ::testing::Test {
 protected:
  agent_registry_sessions() : system_(cfg_) {
    auto dc = actors::spawn_datacenter(system_, *store_);
    EXPECT_TRUE(dc.has_value());
    dc_ = std::move(*dc);
    // A short ask timeout: a command still on its way when the test ends (a proxy recording a
    // connect) is answered by the timeout once the coordinator is gone, and the teardown
    // waits for every actor (else 30 s, the default).
    gateway_ =
        std::make_unique<gateway>(system_, dc_, actors::reactor_set{}, std::chrono::seconds{2});
    registry_ = std::make_unique<agent_registry>(system_, *gateway_, host_.inv());
    host_.add_observer([this](const events::recorded_event& e) { registry_->on_event(e); });
    host_.start();
  }
  ~agent_registry_sessions() override {
    registry_->stop();
    host_.stop();
    actors::shutdown(dc_);
    // Asks still in flight (the proxies record connects through the gateway) answer into the
    // gateway: it must outlive every actor.
    system_.await_all_actors_done();
  }
  agent_registry_sessions(const agent_registry_sessions&) = delete;
  agent_registry_sessions& operator=(const agent_registry_sessions&) = delete;
  agent_registry_sessions(agent_registry_sessions&&) = delete;
  agent_registry_sessions& operator=(agent_registry_sessions&&) = delete;

  struct config : caf::actor_system_config {
    config() {
      set("scheduler.max-threads", 2);
      set("logger.file-verbosity", caf::atom("quiet"));
    }
  };

  /// Sends `cmd` to node `id` and waits until the read models applied its events.
  void node_command(const std::string& id, domain::node::command cmd) {
    std::promise<actors::command_outcome> answered;
    gateway_->send(actors::command_request<actors::node_aggregate>{id,
                                                                   std::move(cmd),
                                                                   {"test", "", "", "", {}}},
                   [&](actors::command_outcome r) { answered.set_value(std::move(r)); });
    const auto r = answered.get_future().get();
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    std::promise<void> applied;
    host_.when_applied(store_->head().position, [&] { applied.set_value(); });
    ASSERT_EQ(applied.get_future().wait_for(10s), std::future_status::ready);
  }

  void register_node(const std::string& id) {
    domain::node::register_node r{"h-" + id, "10.0.0.1", {}, ""};
    r.hardware.set_cpu_threads(8);
    r.hardware.set_cpu_cores(4);
    r.hardware.set_memory_mib(16384);
    node_command(id, r);
  }

  /// Waits until the node's published status satisfies `pred`.
  bool status_is(const std::string& node, const std::function<bool(const nlohmann::json&)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      // Null until the proxy published its first status: not yet, rather than a match.
      if (const auto s = registry_->status(node); s.is_object() && pred(s))
        return true;
      std::this_thread::sleep_for(1ms); // poll interval; the deadline bounds the wait
    }
    return false;
  }

  static std::string heartbeat(std::uint64_t sequence) {
    pb::AgentFrame f;
    f.mutable_heartbeat()->set_sequence(sequence);
    return f.SerializeAsString();
  }

  std::unique_ptr<events::event_store> store_ = events::make_memory_store();
  projections::host host_{*store_};
  config cfg_;
  caf::actor_system system_;
  actors::datacenter dc_;
  std::unique_ptr<gateway> gateway_;
  std::unique_ptr<agent_registry> registry_;
};

TEST_F(agent_registry_sessions, a_second_session_closes_the_first_and_gets_a_greater_epoch) {
  register_node("n1");
  auto first = std::make_shared<recording_link>();
  const auto e1 = registry_->attach("n1", first);
  const auto w1 = first->welcome();
  ASSERT_TRUE(w1.has_value());
  EXPECT_EQ(w1->epoch(), e1);
  EXPECT_EQ(w1->node_id(), "n1");

  auto second = std::make_shared<recording_link>();
  const auto e2 = registry_->attach("n1", second);
  EXPECT_GT(e2, e1);
  EXPECT_TRUE(first->wait([](const auto&, const auto& closed) {
    return closed.has_value() && closed->find("replaced") != std::string::npos;
  }));
  const auto w2 = second->welcome();
  ASSERT_TRUE(w2.has_value());
  EXPECT_EQ(w2->epoch(), e2);
  EXPECT_EQ(registry_->connected(), 1U);
}

TEST_F(agent_registry_sessions, frames_and_closes_of_an_older_session_change_nothing) {
  register_node("n1");
  auto first = std::make_shared<recording_link>();
  const auto e1 = registry_->attach("n1", first);
  auto second = std::make_shared<recording_link>();
  const auto e2 = registry_->attach("n1", second);
  ASSERT_TRUE(second->welcome().has_value());
  // The old session's frames and its close, then one frame of the live one: messages to the
  // proxy are handled in order, so once the live heartbeat shows, the others were handled.
  registry_->frame("n1", e1, heartbeat(41));
  registry_->frame("n1", e1, heartbeat(42));
  registry_->closed("n1", e1, "the old socket ended");
  registry_->frame("n1", e2, heartbeat(7));
  ASSERT_TRUE(status_is("n1", [](const auto& j) { return j.value("heartbeats", 0) == 7; }))
      << registry_->status("n1").dump();
  const auto s = registry_->status("n1");
  EXPECT_EQ(s.value("framesIn", 0), 1) << s.dump();
  EXPECT_EQ(s.value("epoch", 0ULL), e2);
  EXPECT_TRUE(s.value("connected", false)) << "the old session's close ended the live one";
  // The live session's own close does end it.
  registry_->closed("n1", e2, "gone");
  EXPECT_TRUE(status_is("n1", [](const auto& j) { return !j.value("connected", true); }));
  EXPECT_EQ(registry_->connected(), 0U);
}

TEST_F(agent_registry_sessions, the_agent_is_told_its_cluster_at_welcome_and_on_change) {
  register_node("n1");
  node_command("n1", domain::node::join_cluster{"c1"});
  auto link = std::make_shared<recording_link>();
  registry_->attach("n1", link);
  const auto w = link->welcome();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->cluster_id(), "c1");
  node_command("n1", domain::node::leave_cluster{"c1"});
  EXPECT_TRUE(link->wait([](const auto& frames, const auto&) {
    return !frames.empty() && frames.back().has_membership() &&
           frames.back().membership().cluster_id().empty();
  }));
  node_command("n1", domain::node::join_cluster{"c2"});
  EXPECT_TRUE(link->wait([](const auto& frames, const auto&) {
    return frames.back().has_membership() && frames.back().membership().cluster_id() == "c2";
  }));
}

TEST_F(agent_registry_sessions, the_agent_status_json_keeps_its_shape) {
  register_node("n1");
  EXPECT_TRUE(registry_->status("n1").is_null()) << "null until the node's agent connects";
  auto link = std::make_shared<recording_link>();
  const auto epoch = registry_->attach("n1", link);
  ASSERT_TRUE(link->welcome().has_value());
  pb::AgentFrame hello;
  auto* host = hello.mutable_hello()->mutable_host();
  host->set_hostname("h1");
  host->set_libvirt_uri("test:///default");
  host->set_libvirt_version("9.0.0");
  host->set_agent_version("0.1.0");
  hello.mutable_hello()->add_domains()->set_id("stray");
  registry_->frame("n1", epoch, hello.SerializeAsString());
  pb::AgentFrame telemetry;
  auto* t = telemetry.mutable_telemetry();
  t->set_sampled_unix_ms(5);
  t->set_cpu_percent(12.5);
  t->set_memory_used_mib(1024);
  t->set_memory_total_mib(4096);
  t->set_disk_used_bytes(1);
  t->set_disk_total_bytes(2);
  t->set_net_rx_bytes(3);
  t->set_net_tx_bytes(4);
  auto* v = t->add_vms();
  v->set_id("vm-1");
  v->set_cpu_percent(50);
  v->set_memory_used_mib(256);
  registry_->frame("n1", epoch, telemetry.SerializeAsString());
  registry_->frame("n1", epoch, "\xff\xff not a frame"); // logged and dropped
  registry_->frame("n1", epoch, heartbeat(3));
  ASSERT_TRUE(status_is("n1", [](const auto& j) { return j.value("heartbeats", 0) == 3; }))
      << registry_->status("n1").dump();
  const auto s = registry_->status("n1");
  std::vector<std::string> keys;
  for (const auto& [k, _] : s.items())
    keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"commandFailures", "commandsPending", "commandsSent",
                                            "connected", "epoch", "framesIn", "heartbeats", "host",
                                            "lastHeartbeatUnixMs", "telemetry"}))
      << s.dump();
  EXPECT_EQ(s.at("framesIn"), 3) << "the frame that does not parse is not one";
  EXPECT_EQ(s.at("epoch"), epoch);
  EXPECT_EQ(s.at("connected"), true);
  EXPECT_EQ(s.at("host"), (nlohmann::json{{"hostname", "h1"},
                                          {"libvirtUri", "test:///default"},
                                          {"libvirtVersion", "9.0.0"},
                                          {"agentVersion", "0.1.0"},
                                          {"domains", 1}}));
  const auto& tj = s.at("telemetry");
  EXPECT_EQ(tj.at("memoryTotalMib"), 4096);
  EXPECT_EQ(tj.at("cpuPercent"), 12.5);
  EXPECT_EQ(tj.size(), 9U) << tj.dump();
  ASSERT_EQ(tj.at("vms").size(), 1U);
  EXPECT_EQ(tj.at("vms")[0].at("id"), "vm-1");
  EXPECT_EQ(tj.at("vms")[0].size(), 7U) << tj.dump();
}

} // namespace
} // namespace qx::api
