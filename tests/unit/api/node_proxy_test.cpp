// The node proxy (the control plane's side of an agent session) on a real actor system over
// the in-memory store: sessions are numbered by growing epochs, a second session closes the
// first, frames and closes of an older session change nothing, and the agent is told its
// cluster in the Welcome and when it joins or leaves one.
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

class node_proxy : public ::testing::Test {
 protected:
  node_proxy() : system_(cfg_) {
    auto dc = actors::spawn_datacenter(system_, *store_);
    EXPECT_TRUE(dc.has_value());
    dc_ = std::move(*dc);
    // A short ask timeout: a command still on its way when the test ends (a proxy recording a
    // connect) is answered by the timeout once the coordinator is gone, and the teardown
    // waits for every actor (else 30 s, the default).
    gateway_ = std::make_unique<gateway>(system_, dc_, std::chrono::seconds{2});
    registry_ = std::make_unique<agent_registry>(system_, *gateway_, host_.inv());
    host_.add_observer([this](const events::recorded_event& e) { registry_->on_event(e); });
    host_.start();
  }
  ~node_proxy() override {
    registry_->stop();
    host_.stop();
    actors::shutdown(dc_);
    // Asks still in flight (the proxies record connects through the gateway) answer into the
    // gateway: it must outlive every actor.
    system_.await_all_actors_done();
  }
  node_proxy(const node_proxy&) = delete;
  node_proxy& operator=(const node_proxy&) = delete;
  node_proxy(node_proxy&&) = delete;
  node_proxy& operator=(node_proxy&&) = delete;

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
      if (pred(registry_->status(node)))
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

TEST_F(node_proxy, a_second_session_closes_the_first_and_gets_a_greater_epoch) {
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

TEST_F(node_proxy, frames_and_closes_of_an_older_session_change_nothing) {
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

TEST_F(node_proxy, the_agent_is_told_its_cluster_at_welcome_and_on_change) {
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

} // namespace
} // namespace qx::api
