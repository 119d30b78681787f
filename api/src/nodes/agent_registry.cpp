#include "agent_registry.hpp"

#include <qx/actors/domain/agent_logic.hpp>

#include <qx/actors/aggregates.hpp>
#include <qx/actors/message_types.hpp>
#include <qx/actors/node_proxy.hpp>
#include <qx/base/log.hpp>
#include <qx/events/text_fields.hpp>
#include <qx/events/v1/network.pb.h>
#include <qx/events/v1/storage.pb.h>

#include <caf/all.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>

namespace qx::api {

namespace {

namespace pb = agent::v1;
namespace logic = domain::agent_logic;
using actors::node_aggregate;
using actors::vm_aggregate;
using nlohmann::json;

constexpr std::string_view component = "agent-registry";

/// The proxies' records go to the coordinator through the gateway.
class gateway_sink final : public actors::command_sink {
 public:
  explicit gateway_sink(gateway& gw) : gw_(gw) {}
  void send(actors::command_request<vm_aggregate> req,
            std::function<void(actors::command_outcome)> k) override {
    gw_.send(std::move(req), std::move(k));
  }
  void send(actors::command_request<node_aggregate> req,
            std::function<void(actors::command_outcome)> k) override {
    gw_.send(std::move(req), std::move(k));
  }

 private:
  gateway& gw_;
};

/// What the proxies read, from the inventory.
class inventory_view final : public actors::agent_view {
 public:
  explicit inventory_view(const projections::inventory& inv) : inv_(inv) {}

  std::string cluster_of(const std::string& node_id) const override {
    const auto n = inv_.get<node_aggregate>(node_id);
    return n ? n->state.cluster_id() : std::string{};
  }

  std::optional<logic::vm_on_node> vm(const std::string& vm_id) const override {
    auto r = inv_.get<vm_aggregate>(vm_id);
    if (!r)
      return std::nullopt;
    return logic::vm_on_node{std::move(r->state), r->version};
  }

  std::vector<logic::vm_on_node> vms_on(const std::string& node_id) const override {
    std::vector<logic::vm_on_node> out;
    inv_.for_each<vm_aggregate>([&](const projections::resource<vm_aggregate>& r) {
      if (r.state.node_id() == node_id)
        out.push_back({r.state, r.version});
    });
    return out;
  }

  std::optional<snapshots::v1::VolumeState> volume(const std::string& volume_id) const override {
    auto v = inv_.get<actors::volume_aggregate>(volume_id);
    if (!v)
      return std::nullopt;
    return std::move(v->state);
  }

  logic::infrastructure infrastructure() const override {
    logic::infrastructure out;
    inv_.for_each<actors::storage_pool_aggregate>(
        [&](const auto& r) { out.pools.push_back(r.state); });
    inv_.for_each<actors::volume_aggregate>([&](const auto& r) { out.volumes.push_back(r.state); });
    inv_.for_each<actors::network_aggregate>(
        [&](const auto& r) { out.networks.push_back(r.state); });
    return out;
  }

  [[nodiscard]] logic::volume_lookup volumes() const {
    return [this](const std::string& id) {
      return volume(id);
    };
  }

 private:
  const projections::inventory& inv_;
};

/// What the proxies publish, read by the HTTP threads.
class board final : public actors::status_board {
 public:
  void publish(const std::string& node_id, const actors::agent_status& s) override {
    std::lock_guard lock{mutex_};
    board_[node_id] = s;
  }

  [[nodiscard]] std::optional<actors::agent_status> get(const std::string& node_id) const {
    std::lock_guard lock{mutex_};
    const auto it = board_.find(node_id);
    if (it == board_.end())
      return std::nullopt;
    return it->second;
  }

  [[nodiscard]] std::size_t connected() const {
    std::lock_guard lock{mutex_};
    std::size_t n = 0;
    for (const auto& [id, s] : board_)
      n += s.connected ? 1U : 0U;
    return n;
  }

  /// The libvirt URI the node's agent last said (a migration's destination); "" when unknown.
  [[nodiscard]] std::string libvirt_uri(const std::string& node_id) const {
    std::lock_guard lock{mutex_};
    const auto it = board_.find(node_id);
    return it == board_.end() || !it->second.host ? std::string{} : it->second.host->libvirt_uri();
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, actors::agent_status> board_; ///< node id → what its proxy published
};

/// GET /api/v1/nodes/{id}/agent's body (without nodeId): the session's counters, then the
/// host, heartbeat and telemetry once the agent sent them.
json render(const actors::agent_status& s) {
  json j{{"connected", s.connected},
         {"epoch", s.epoch},
         {"framesIn", s.frames_in},
         {"commandsSent", s.commands_sent},
         {"commandsPending", s.commands_pending},
         {"commandFailures", s.command_failures}};
  if (s.host)
    j["host"] = {{"hostname", s.host->hostname()},
                 {"libvirtUri", s.host->libvirt_uri()},
                 {"libvirtVersion", s.host->libvirt_version()},
                 {"agentVersion", s.host->agent_version()},
                 {"domains", s.domains}};
  if (s.heartbeat) {
    j["lastHeartbeatUnixMs"] = s.heartbeat->sent_unix_ms();
    j["heartbeats"] = s.heartbeat->sequence();
  }
  if (s.telemetry) {
    const auto& t = *s.telemetry;
    json vms = json::array();
    for (const auto& v : t.vms())
      vms.push_back({{"id", v.id()},
                     {"cpuPercent", v.cpu_percent()},
                     {"memoryUsedMib", v.memory_used_mib()},
                     {"diskReadBytes", v.disk_read_bytes()},
                     {"diskWriteBytes", v.disk_write_bytes()},
                     {"netRxBytes", v.net_rx_bytes()},
                     {"netTxBytes", v.net_tx_bytes()}});
    j["telemetry"] = {{"sampledUnixMs", t.sampled_unix_ms()},
                      {"cpuPercent", t.cpu_percent()},
                      {"memoryUsedMib", t.memory_used_mib()},
                      {"memoryTotalMib", t.memory_total_mib()},
                      {"diskUsedBytes", t.disk_used_bytes()},
                      {"diskTotalBytes", t.disk_total_bytes()},
                      {"netRxBytes", t.net_rx_bytes()},
                      {"netTxBytes", t.net_tx_bytes()},
                      {"vms", vms}};
  }
  return j;
}

} // namespace

struct agent_registry::impl {
  impl(caf::actor_system& s, gateway& gw, const projections::inventory& i)
      : sys(s), inv(i), view(std::make_shared<inventory_view>(i)),
        statuses(std::make_shared<board>()), deps{std::make_shared<gateway_sink>(gw), view,
                                                  statuses} {}

  caf::actor_system& sys;
  const projections::inventory& inv;
  std::shared_ptr<inventory_view> view;
  std::shared_ptr<board> statuses;
  actors::node_proxy_dependencies deps;
  mutable std::mutex mutex;
  std::map<std::string, actors::node_proxy_actor> proxies;
  std::map<std::string, std::uint64_t> epochs;
  std::map<std::string, std::string> last_node; ///< VM id → the node it last ran on
  bool stopped = false;

  actors::node_proxy_actor proxy_of(const std::string& node_id, bool create) {
    std::lock_guard lock{mutex};
    if (stopped)
      return {};
    const auto it = proxies.find(node_id);
    if (it != proxies.end())
      return it->second;
    if (!create)
      return {};
    auto a = actors::spawn_node_proxy(sys, actors::node_proxy_config{node_id}, deps);
    if (!a) {
      log::error(component, "no node proxy", {{"node", node_id}, {"error", a.error().message}});
      return {};
    }
    proxies.emplace(node_id, *a);
    return *a;
  }

  void command(const std::string& node_id, logic::agent_command c) {
    if (auto p = proxy_of(node_id, false))
      caf::anon_send(p, std::move(c));
  }

  std::vector<std::string> live_nodes() const {
    std::vector<std::string> out;
    std::lock_guard lock{mutex};
    for (const auto& [id, a] : proxies)
      out.push_back(id);
    return out;
  }

  void on_vm_event(const events::recorded_event& e, const std::string& vm_id) {
    const auto r = inv.get<vm_aggregate>(vm_id, true);
    if (!r)
      return;
    // A stopped VM leaves its node in the log but stays defined on the host: removing it
    // must reach that host.
    std::string node_id = r->state.node_id();
    {
      std::lock_guard lock{mutex};
      if (node_id.empty()) {
        const auto it = last_node.find(vm_id);
        if (it != last_node.end())
          node_id = it->second;
      } else {
        last_node[vm_id] = node_id;
      }
      if (e.type == "qx.events.v1.VmDeleted")
        last_node.erase(vm_id);
    }
    if (node_id.empty())
      return;
    const auto uris = [this](const std::string& node) {
      return statuses->libvirt_uri(node);
    };
    if (auto c = logic::for_vm_event(e, r->state, view->volumes(), uris))
      command(node_id, std::move(*c));
  }

  void on_membership_event(const events::recorded_event& e) {
    const auto node_id = e.stream.substr(actors::node_aggregate::stream("").size());
    const auto n = inv.get<actors::node_aggregate>(node_id);
    if (!n)
      return;
    if (auto p = proxy_of(node_id, false))
      caf::anon_send(p, actors::membership_atom::value, n->state.cluster_id());
  }

  void on_storage_event(const events::recorded_event& e) {
    if (e.type == "qx.events.v1.StoragePoolAssigned") {
      events::v1::StoragePoolAssigned ev;
      if (!qx::events::parse_message(ev, e.payload))
        return;
      auto pool = inv.get<actors::storage_pool_aggregate>(ev.pool_id());
      snapshots::v1::StoragePoolState known;
      known.set_id(ev.pool_id());
      command(ev.node_id(), {logic::create_pool(pool ? pool->state : known), "", "infrastructure"});
      return;
    }
    const bool created = e.type == "qx.events.v1.VolumeCreated";
    if (!created && e.type != "qx.events.v1.VolumeDeleted")
      return;
    const auto id = e.stream.substr(actors::volume_aggregate::stream("").size());
    const auto v = inv.get<actors::volume_aggregate>(id, true);
    if (!v)
      return;
    const auto pool = inv.get<actors::storage_pool_aggregate>(v->state.pool_id(), true);
    if (!pool)
      return;
    const auto c =
        created ? logic::create_volume(v->state) : logic::delete_volume(v->state.pool_id(), id);
    for (const auto& node : pool->state.node_ids())
      command(node, {c, "", "infrastructure"});
  }

  void on_network_event(const events::recorded_event& e) {
    if (e.type != "qx.events.v1.NetworkCreated")
      return;
    events::v1::NetworkCreated ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    const auto c = logic::create_network(ev.id(), ev.cidr());
    for (const auto& node : live_nodes())
      command(node, {c, "", "infrastructure"});
  }
};

agent_registry::agent_registry(caf::actor_system& sys, gateway& gw,
                               const projections::inventory& inv)
    : impl_(std::make_unique<impl>(sys, gw, inv)) {}

agent_registry::~agent_registry() {
  stop();
}

std::uint64_t agent_registry::attach(const std::string& node_id, std::shared_ptr<agent_link> link) {
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock{impl_->mutex};
    // Above every epoch before, in this process and (by the clock) in earlier ones.
    const auto now_ms =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    auto& last = impl_->epochs[node_id];
    epoch = std::max(last + 1, now_ms);
    last = epoch;
  }
  auto p = impl_->proxy_of(node_id, true);
  if (!p) {
    link->close("the control plane is stopping");
    return epoch;
  }
  caf::anon_send(p, actors::attach_atom::value, std::move(link), epoch);
  return epoch;
}

void agent_registry::frame(const std::string& node_id, std::uint64_t epoch, std::string bytes) {
  auto p = impl_->proxy_of(node_id, false);
  if (!p)
    return;
  pb::AgentFrame f;
  if (!f.ParseFromString(bytes)) {
    log::warn(component, "agent frame does not parse", {{"node", node_id}, {"epoch", epoch}});
    return;
  }
  caf::anon_send(p, actors::frame_atom::value, epoch, std::move(f));
}

void agent_registry::closed(const std::string& node_id, std::uint64_t epoch,
                            const std::string& why) {
  if (auto p = impl_->proxy_of(node_id, false))
    caf::anon_send(p, actors::closed_atom::value, epoch, why);
}

void agent_registry::on_event(const events::recorded_event& e) {
  const auto vm_prefix = vm_aggregate::stream("");
  if (e.stream.starts_with(vm_prefix))
    impl_->on_vm_event(e, e.stream.substr(vm_prefix.size()));
  else if (e.type.starts_with("qx.events.v1.StoragePool") ||
           e.type.starts_with("qx.events.v1.Volume"))
    impl_->on_storage_event(e);
  else if (e.type.starts_with("qx.events.v1.Network"))
    impl_->on_network_event(e);
  else if (e.type == "qx.events.v1.NodeJoinedCluster" || e.type == "qx.events.v1.NodeLeftCluster")
    impl_->on_membership_event(e);
}

json agent_registry::status(const std::string& node_id) const {
  const auto s = impl_->statuses->get(node_id);
  return s ? render(*s) : json{};
}

std::size_t agent_registry::connected() const {
  return impl_->statuses->connected();
}

void agent_registry::stop() {
  std::map<std::string, actors::node_proxy_actor> proxies;
  {
    std::lock_guard lock{impl_->mutex};
    impl_->stopped = true;
    proxies.swap(impl_->proxies);
  }
  for (auto& [id, a] : proxies)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

} // namespace qx::api
