#include "agent_registry.hpp"

#include <qx/actors/aggregates.hpp>
#include <qx/base/log.hpp>

#include <optional>

namespace qx::api {

// Named, not anonymous: the unity batch that includes this file sees agent_registry hold
// pointers to them.
namespace agent_adapters {

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

  std::optional<snapshots::v1::VmState> vm_even_deleted(const std::string& vm_id) const override {
    return state_of<vm_aggregate>(vm_id);
  }

  std::optional<snapshots::v1::VolumeState>
  volume_even_deleted(const std::string& volume_id) const override {
    return state_of<actors::volume_aggregate>(volume_id);
  }

  std::optional<snapshots::v1::StoragePoolState>
  pool_even_deleted(const std::string& pool_id) const override {
    return state_of<actors::storage_pool_aggregate>(pool_id);
  }

 private:
  template<class A>
  std::optional<typename A::state> state_of(const std::string& id) const {
    auto r = inv_.get<A>(id, true);
    if (!r)
      return std::nullopt;
    return std::move(r->state);
  }

  const projections::inventory& inv_;
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

} // namespace agent_adapters

agent_registry::agent_registry(caf::actor_system& sys, gateway& gw,
                               const projections::inventory& inv,
                               std::shared_ptr<actors::host_signals> signals,
                               std::chrono::milliseconds lease)
    : hub_(sys, std::make_shared<agent_adapters::gateway_sink>(gw),
           std::make_shared<agent_adapters::inventory_view>(inv), std::move(signals), lease) {}

std::uint64_t agent_registry::attach(const std::string& node_id, std::shared_ptr<agent_link> link) {
  return hub_.attach(node_id, std::move(link));
}

void agent_registry::frame(const std::string& node_id, std::uint64_t epoch, std::string bytes) {
  agent::v1::AgentFrame f;
  if (!f.ParseFromString(bytes)) {
    log::warn(agent_adapters::component, "agent frame does not parse",
              {{"node", node_id}, {"epoch", epoch}});
    return;
  }
  hub_.frame(node_id, epoch, std::move(f));
}

void agent_registry::closed(const std::string& node_id, std::uint64_t epoch,
                            const std::string& why) {
  hub_.closed(node_id, epoch, why);
}

void agent_registry::on_event(const events::recorded_event& e) {
  hub_.on_event(e);
}

nlohmann::json agent_registry::status(const std::string& node_id) const {
  const auto s = hub_.status(node_id);
  return s ? agent_adapters::render(*s) : nlohmann::json{};
}

std::size_t agent_registry::connected() const {
  return hub_.connected();
}

std::vector<std::pair<std::string, actors::agent_status>> agent_registry::statuses() const {
  return hub_.statuses();
}

void agent_registry::stop() {
  hub_.stop();
}

} // namespace qx::api
