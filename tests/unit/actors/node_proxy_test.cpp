// The node proxy actor on CAF's deterministic scheduler, with its dependencies faked: session
// epochs (a newer session closes the older, stale frames, closes, attaches and command
// results change nothing), commands numbered and stamped with the live epoch, what the agent
// reports recorded under "agent:<node>", the status it publishes, and the session closed when
// the proxy stops.
#include "caf_fixture.hpp"

#include <qx/actors/message_types.hpp>
#include <qx/actors/node_proxy.hpp>

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace qx;
using namespace qx::actors;
namespace pb = qx::agent::v1;
namespace logic = qx::domain::agent_logic;
namespace vm = qx::domain::vm;
namespace node = qx::domain::node;

namespace {

/// A session as the proxy sees it, recording what the proxy does to it.
class recording_link final : public agent_link {
 public:
  void send(std::string bytes) override {
    pb::ControlFrame f;
    EXPECT_TRUE(f.ParseFromString(bytes));
    frames.push_back(std::move(f));
  }
  void close(const std::string& reason) override { closed = reason; }

  [[nodiscard]] std::vector<pb::Command> commands() const {
    std::vector<pb::Command> out;
    for (const auto& f : frames)
      if (f.has_command())
        out.push_back(f.command());
    return out;
  }

  std::vector<pb::ControlFrame> frames;
  std::optional<std::string> closed;
};

/// Records what the proxy asks the log, and answers each at once.
class recording_sink final : public command_sink {
 public:
  void send(command_request<vm_aggregate> req, std::function<void(command_outcome)> k) override {
    vms.push_back(std::move(req));
    k(command_reply{});
  }
  void send(command_request<node_aggregate> req, std::function<void(command_outcome)> k) override {
    nodes.push_back(std::move(req));
    k(command_reply{});
  }
  std::vector<command_request<vm_aggregate>> vms;
  std::vector<command_request<node_aggregate>> nodes;
};

class fake_view final : public agent_view {
 public:
  std::string cluster_of(const std::string& node_id) const override {
    const auto it = clusters.find(node_id);
    return it == clusters.end() ? std::string{} : it->second;
  }
  std::optional<logic::vm_on_node> vm(const std::string& vm_id) const override {
    const auto it = vms.find(vm_id);
    if (it == vms.end())
      return std::nullopt;
    return it->second;
  }
  std::vector<logic::vm_on_node> vms_on(const std::string& node_id) const override {
    std::vector<logic::vm_on_node> out;
    for (const auto& [id, v] : vms)
      if (v.state.node_id() == node_id)
        out.push_back(v);
    return out;
  }
  std::optional<snapshots::v1::VolumeState> volume(const std::string& id) const override {
    for (const auto& v : known.volumes)
      if (v.id() == id)
        return v;
    return std::nullopt;
  }
  logic::infrastructure infrastructure() const override { return known; }
  // Routing reads (agent_hub's); the proxy itself never asks.
  std::optional<snapshots::v1::VmState> vm_even_deleted(const std::string& id) const override {
    const auto v = vm(id);
    return v ? std::optional{v->state} : std::nullopt;
  }
  std::optional<snapshots::v1::VolumeState>
  volume_even_deleted(const std::string& id) const override {
    return volume(id);
  }
  std::optional<snapshots::v1::StoragePoolState>
  pool_even_deleted(const std::string& id) const override {
    for (const auto& p : known.pools)
      if (p.id() == id)
        return p;
    return std::nullopt;
  }

  std::map<std::string, std::string> clusters;
  std::map<std::string, logic::vm_on_node> vms;
  logic::infrastructure known;
};

class recording_board final : public status_board {
 public:
  void publish(const std::string& node_id, const agent_status& s) override {
    latest[node_id] = s;
    ++publications;
  }
  std::map<std::string, agent_status> latest;
  std::size_t publications = 0;
};

logic::vm_on_node vm_on(const std::string& id, const std::string& power, const std::string& node,
                        std::uint64_t version) {
  logic::vm_on_node v;
  v.state.set_id(id);
  v.state.set_power_state(power);
  v.state.set_node_id(node);
  v.state.mutable_spec()->set_name(id);
  v.state.mutable_spec()->set_vcpus(1);
  v.state.mutable_spec()->set_memory_mib(512);
  v.version = version;
  return v;
}

pb::AgentFrame heartbeat(std::uint64_t sequence) {
  pb::AgentFrame f;
  f.mutable_heartbeat()->set_sequence(sequence);
  f.mutable_heartbeat()->set_sent_unix_ms(1000 + static_cast<std::int64_t>(sequence));
  return f;
}

pb::AgentFrame result_of(std::uint64_t command_id, bool ok, const std::string& code = {}) {
  pb::AgentFrame f;
  f.mutable_result()->set_command_id(command_id);
  f.mutable_result()->set_ok(ok);
  f.mutable_result()->set_error_code(code);
  f.mutable_result()->set_message(ok ? "" : "no such domain");
  return f;
}

logic::agent_command start_of(const std::string& vm_id) {
  pb::Command c;
  c.mutable_define_and_start()->set_vm_id(vm_id);
  return {std::move(c), vm_id, "start"};
}

template<class T>
const T* vm_command(const command_request<vm_aggregate>& r) {
  return std::get_if<T>(&r.command);
}

class node_proxy : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = spawn_node_proxy(ds_.sys(), node_proxy_config{"n1"}, {sink_, view_, board_});
    ASSERT_TRUE(p) << p.error().to_string();
    proxy_ = *p;
  }
  void TearDown() override {
    caf::anon_send_exit(proxy_, caf::exit_reason::user_shutdown);
    ds_.sched().run();
  }

  std::shared_ptr<recording_link> attach(std::uint64_t epoch) {
    auto link = std::make_shared<recording_link>();
    caf::anon_send(proxy_, attach_atom::value, std::shared_ptr<agent_link>{link}, epoch);
    ds_.sched().run();
    return link;
  }
  void frame(std::uint64_t epoch, pb::AgentFrame f) {
    caf::anon_send(proxy_, frame_atom::value, epoch, std::move(f));
    ds_.sched().run();
  }
  void closed(std::uint64_t epoch, const std::string& why) {
    caf::anon_send(proxy_, closed_atom::value, epoch, why);
    ds_.sched().run();
  }
  void command(logic::agent_command c) {
    caf::anon_send(proxy_, std::move(c));
    ds_.sched().run();
  }
  const agent_status& status() { return board_->latest.at("n1"); }

  test::deterministic_system ds_;
  std::shared_ptr<recording_sink> sink_ = std::make_shared<recording_sink>();
  std::shared_ptr<fake_view> view_ = std::make_shared<fake_view>();
  std::shared_ptr<recording_board> board_ = std::make_shared<recording_board>();
  node_proxy_actor proxy_;
};

TEST_F(node_proxy, a_session_is_welcomed_with_its_epoch_and_cluster_and_the_node_connected) {
  view_->clusters["n1"] = "c1";
  const auto link = attach(10);
  ASSERT_FALSE(link->frames.empty());
  ASSERT_TRUE(link->frames.front().has_welcome());
  const auto& w = link->frames.front().welcome();
  EXPECT_EQ(w.epoch(), 10U);
  EXPECT_EQ(w.node_id(), "n1");
  EXPECT_EQ(w.cluster_id(), "c1");
  EXPECT_EQ(w.heartbeat_interval_ms(), 1000U);
  ASSERT_EQ(sink_->nodes.size(), 1U);
  EXPECT_TRUE(std::holds_alternative<node::connect>(sink_->nodes[0].command));
  EXPECT_EQ(sink_->nodes[0].meta.principal, "agent:n1");
  EXPECT_EQ(sink_->nodes[0].meta.causation_id, "session:10");
  EXPECT_TRUE(status().connected);
  EXPECT_EQ(status().epoch, 10U);
}

TEST_F(node_proxy, a_second_session_closes_the_first_and_forgets_its_commands) {
  const auto first = attach(10);
  command(start_of("vm-1"));
  ASSERT_EQ(first->commands().size(), 1U);
  const auto stale_id = first->commands()[0].id();
  EXPECT_EQ(first->commands()[0].epoch(), 10U);
  EXPECT_EQ(status().commands_pending, 1U);

  const auto second = attach(11);
  ASSERT_TRUE(first->closed.has_value());
  EXPECT_NE(first->closed->find("replaced"), std::string::npos);
  EXPECT_FALSE(second->closed.has_value());
  EXPECT_EQ(status().epoch, 11U);
  EXPECT_EQ(status().commands_pending, 0U) << "the old session's commands are stale";

  // The old command's failure, reported on the new session, is not one of its commands.
  view_->vms["vm-1"] = vm_on("vm-1", "starting", "n1", 3);
  frame(11, result_of(stale_id, false, "NOT_FOUND"));
  EXPECT_TRUE(sink_->vms.empty());
  EXPECT_EQ(status().command_failures, 0U);

  // Ids stay unique per node across sessions; commands carry the live epoch.
  command(start_of("vm-1"));
  ASSERT_EQ(second->commands().size(), 1U);
  EXPECT_GT(second->commands()[0].id(), stale_id);
  EXPECT_EQ(second->commands()[0].epoch(), 11U);
}

TEST_F(node_proxy, frames_and_closes_of_an_older_session_change_nothing) {
  attach(10);
  attach(11);
  frame(10, heartbeat(41));
  closed(10, "the old socket ended");
  EXPECT_EQ(status().frames_in, 0U);
  EXPECT_FALSE(status().heartbeat.has_value());
  EXPECT_TRUE(status().connected) << "the old session's close ended the live one";
  frame(11, heartbeat(7));
  EXPECT_EQ(status().frames_in, 1U);
  ASSERT_TRUE(status().heartbeat.has_value());
  EXPECT_EQ(status().heartbeat->sequence(), 7U);
  // The live session's own close does end it, and records the node disconnected.
  closed(11, "gone");
  EXPECT_FALSE(status().connected);
  ASSERT_FALSE(sink_->nodes.empty());
  const auto* d = std::get_if<node::disconnect>(&sink_->nodes.back().command);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason, "AGENT_SESSION_CLOSED: gone");
  EXPECT_EQ(sink_->nodes.back().meta.causation_id, "session:11");
  // With no live session, frames of its epoch are ignored too.
  frame(11, heartbeat(8));
  EXPECT_EQ(status().heartbeat->sequence(), 7U);
}

TEST_F(node_proxy, an_attach_older_than_the_live_session_is_closed_at_once) {
  const auto live = attach(11);
  const auto late = attach(10); // accepted first, delivered last
  ASSERT_TRUE(late->closed.has_value());
  EXPECT_TRUE(late->frames.empty()) << "no Welcome for a replaced session";
  EXPECT_FALSE(live->closed.has_value());
  EXPECT_EQ(status().epoch, 11U);
}

TEST_F(node_proxy, commands_without_a_live_session_are_not_queued) {
  command(start_of("vm-1"));
  const auto link = attach(10);
  EXPECT_TRUE(link->commands().empty());
  EXPECT_EQ(status().commands_sent, 0U);
}

TEST_F(node_proxy, a_failed_start_is_recorded_stopped_at_the_version_it_was_decided_on) {
  view_->vms["vm-1"] = vm_on("vm-1", "starting", "n1", 3);
  const auto link = attach(10);
  command(start_of("vm-1"));
  frame(10, result_of(link->commands().at(0).id(), false, "INVALID_POWER_STATE"));
  ASSERT_EQ(sink_->vms.size(), 1U);
  const auto& r = sink_->vms[0];
  EXPECT_EQ(r.id, "vm-1");
  const auto* stop = vm_command<vm::force_stop>(r);
  ASSERT_NE(stop, nullptr);
  EXPECT_EQ(stop->reason.rfind("START_FAILED: INVALID_POWER_STATE", 0), 0U) << stop->reason;
  EXPECT_EQ(r.meta.principal, "agent:n1");
  EXPECT_EQ(r.meta.causation_id, "agent-result");
  EXPECT_EQ(r.meta.expected_version, std::optional<std::uint64_t>{3});
  EXPECT_EQ(status().command_failures, 1U);
  EXPECT_EQ(status().commands_pending, 0U);
  EXPECT_EQ(status().commands_sent, 1U);
}

TEST_F(node_proxy, a_hello_sends_the_infrastructure_and_reconciles_the_nodes_vms) {
  snapshots::v1::StoragePoolState pool;
  pool.set_id("p1");
  pool.add_node_ids("n1");
  snapshots::v1::StoragePoolState other;
  other.set_id("p2");
  other.add_node_ids("n2");
  snapshots::v1::VolumeState vol;
  vol.set_id("d1");
  vol.set_pool_id("p1");
  snapshots::v1::NetworkState net;
  net.set_id("net-1");
  view_->known = {{pool, other}, {vol}, {net}};
  view_->vms["vm-gone"] = vm_on("vm-gone", "running", "n1", 7);
  view_->vms["vm-elsewhere"] = vm_on("vm-elsewhere", "running", "n2", 2);
  view_->vms["vm-starting"] = vm_on("vm-starting", "starting", "n1", 4);

  const auto link = attach(10);
  pb::AgentFrame hello;
  hello.mutable_hello()->mutable_host()->set_hostname("h1");
  hello.mutable_hello()->mutable_host()->set_libvirt_uri("test:///default");
  hello.mutable_hello()->add_domains()->set_id("stray");
  frame(10, hello);

  const auto sent = link->commands();
  ASSERT_EQ(sent.size(), 4U);
  EXPECT_EQ(sent[0].create_pool().pool_id(), "p1");
  EXPECT_EQ(sent[1].create_volume().volume_id(), "d1");
  EXPECT_EQ(sent[2].create_network().network_id(), "net-1");
  EXPECT_EQ(sent[3].define_and_start().vm_id(), "vm-starting");
  ASSERT_EQ(sink_->vms.size(), 1U);
  EXPECT_EQ(sink_->vms[0].id, "vm-gone");
  ASSERT_NE(vm_command<vm::force_stop>(sink_->vms[0]), nullptr);
  EXPECT_EQ(sink_->vms[0].meta.causation_id, "reconcile:n1:10");
  EXPECT_EQ(sink_->vms[0].meta.expected_version, std::optional<std::uint64_t>{7});
  ASSERT_TRUE(status().host.has_value());
  EXPECT_EQ(status().host->libvirt_uri(), "test:///default");
  EXPECT_EQ(status().domains, 1U);
  EXPECT_EQ(status().commands_pending, 4U);
}

TEST_F(node_proxy, libvirt_events_are_recorded_only_for_the_nodes_own_vms) {
  view_->vms["vm-1"] = vm_on("vm-1", "starting", "n1", 5);
  view_->vms["vm-2"] = vm_on("vm-2", "starting", "n2", 5);
  attach(10);
  pb::AgentFrame ev;
  ev.mutable_domain_event()->set_id("vm-2");
  ev.mutable_domain_event()->set_kind("started");
  frame(10, ev);
  EXPECT_TRUE(sink_->vms.empty());
  ev.mutable_domain_event()->set_id("vm-1");
  ev.mutable_domain_event()->set_detail("booted");
  frame(10, ev);
  ASSERT_EQ(sink_->vms.size(), 1U);
  EXPECT_NE(vm_command<vm::confirm_running>(sink_->vms[0]), nullptr);
  EXPECT_EQ(sink_->vms[0].meta.causation_id, "libvirt:started:booted");
}

TEST_F(node_proxy, an_agent_leaving_records_the_node_disconnected) {
  attach(10);
  pb::AgentFrame f;
  f.mutable_leaving()->set_reason("operator\nasked");
  frame(10, f);
  const auto* d = std::get_if<node::disconnect>(&sink_->nodes.back().command);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason, "LEFT: operator asked");
  EXPECT_EQ(sink_->nodes.back().meta.causation_id, "agent-leaving");
}

TEST_F(node_proxy, a_membership_change_reaches_only_a_live_session) {
  caf::anon_send(proxy_, membership_atom::value, std::string{"c1"});
  ds_.sched().run();
  const auto link = attach(10);
  caf::anon_send(proxy_, membership_atom::value, std::string{"c2"});
  ds_.sched().run();
  ASSERT_EQ(link->frames.size(), 2U); // the Welcome, then the change
  ASSERT_TRUE(link->frames.back().has_membership());
  EXPECT_EQ(link->frames.back().membership().cluster_id(), "c2");
}

TEST_F(node_proxy, stopping_the_proxy_closes_its_live_session) {
  const auto link = attach(10);
  caf::anon_send_exit(proxy_, caf::exit_reason::user_shutdown);
  ds_.sched().run();
  ASSERT_TRUE(link->closed.has_value());
  EXPECT_EQ(*link->closed, "the control plane is stopping");
}

TEST(node_proxy_spawn, an_invalid_config_or_a_missing_dependency_spawns_nothing) {
  test::deterministic_system ds;
  node_proxy_dependencies deps{std::make_shared<recording_sink>(), std::make_shared<fake_view>(),
                               std::make_shared<recording_board>()};
  const auto no_id = spawn_node_proxy(ds.sys(), node_proxy_config{""}, deps);
  ASSERT_FALSE(no_id);
  EXPECT_EQ(no_id.error().details.at("field"), "node_id");
  EXPECT_FALSE(validate(node_proxy_config{"n1", std::chrono::milliseconds{0}}));
  deps.board.reset();
  EXPECT_FALSE(spawn_node_proxy(ds.sys(), node_proxy_config{"n1"}, deps));
}

} // namespace
