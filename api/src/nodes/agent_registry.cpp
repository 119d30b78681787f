#include "agent_registry.hpp"

#include <qx/actors/domain/agent_logic.hpp>

#include <qx/actors/aggregates.hpp>
#include <qx/actors/dropped_outcome.hpp>
#include <qx/base/log.hpp>
#include <qx/events/v1/network.pb.h>
#include <qx/events/v1/storage.pb.h>

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <qx/events/text_fields.hpp>

namespace qx::api {

namespace {

namespace pb = agent::v1;
using actors::node_aggregate;
using actors::vm_aggregate;
using nlohmann::json;

struct link_box {
  std::shared_ptr<agent_link> link;
};

} // namespace
} // namespace qx::api

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::api::link_box)

namespace qx::api {

namespace {

using attach_atom = caf::atom_constant<caf::atom("attach")>;
using frame_atom = caf::atom_constant<caf::atom("frame")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using command_atom = caf::atom_constant<caf::atom("agentcmd")>;
using hello_atom = caf::atom_constant<caf::atom("resync")>;
using member_atom = caf::atom_constant<caf::atom("member")>;

constexpr std::uint32_t heartbeat_ms = 1000;

constexpr std::string_view component = "agent-registry";

/// What every proxy shares: the read models, the gateway, and the board the HTTP threads read.
struct shared {
  shared(gateway& g, const projections::inventory& i) : gw(g), inv(i) {}
  gateway& gw;
  const projections::inventory& inv;
  mutable std::mutex mutex;
  std::map<std::string, json> board;              ///< node id → session status and telemetry
  std::map<std::string, std::string> libvirt_uri; ///< node id → its URI (migration targets)

  domain::agent_logic::volume_lookup volumes() const {
    return [this](const std::string& id) -> std::optional<snapshots::v1::VolumeState> {
      auto v = inv.get<actors::volume_aggregate>(id);
      if (!v)
        return std::nullopt;
      return v->state;
    };
  }

  void publish(const std::string& node, const std::function<void(json&)>& edit) {
    std::lock_guard lock{mutex};
    auto& j = board[node];
    if (j.is_null())
      j = json::object();
    edit(j);
  }
};

/// The commands that give a node the pools assigned to it, their volumes, and the networks.
std::vector<pb::Command> infrastructure_for(const shared& sh, const std::string& node_id) {
  std::vector<pb::Command> out;
  std::set<std::string> pools;
  sh.inv.for_each<actors::storage_pool_aggregate>([&](const auto& r) {
    const auto& ids = r.state.node_ids();
    if (std::find(ids.begin(), ids.end(), node_id) == ids.end())
      return;
    pools.insert(r.state.id());
    out.push_back(domain::agent_logic::create_pool(r.state));
  });
  sh.inv.for_each<actors::volume_aggregate>([&](const auto& r) {
    if (pools.count(r.state.pool_id()) != 0)
      out.push_back(domain::agent_logic::create_volume(r.state));
  });
  sh.inv.for_each<actors::network_aggregate>([&](const auto& r) {
    out.push_back(domain::agent_logic::create_network(r.state.id(), r.state.cidr()));
  });
  return out;
}

// -- the node proxy actor -----------------------------------------------------------------------

struct pending_command {
  std::string vm_id;
  std::string kind; ///< "start", "migrate", ... (what a failure means)
};

struct proxy_state {
  std::string node_id;
  std::shared_ptr<shared> sh;
  std::shared_ptr<agent_link> link;
  std::uint64_t epoch = 0;
  std::uint64_t next_id = 0;
  std::map<std::uint64_t, pending_command> pending;
  std::uint64_t frames_in = 0;
  std::uint64_t commands_out = 0;
  std::uint64_t failures = 0;
  static inline const char* name = "node-proxy";

  [[nodiscard]] std::string principal() const { return "agent:" + node_id; }

  actors::command_meta meta(const std::string& cause,
                            std::optional<std::uint64_t> version = std::nullopt) const {
    actors::command_meta m;
    m.principal = principal();
    m.causation_id = cause;
    m.expected_version = version;
    return m;
  }

  void record(const std::string& vm_id, domain::vm::command cmd, const std::string& cause,
              std::optional<std::uint64_t> version) {
    const auto what = std::string{domain::vm::name_of(cmd)};
    sh->gw.send(actors::command_request<vm_aggregate>{vm_id, std::move(cmd), meta(cause, version)},
                [what = "report " + what + " of " + vm_id + " by " +
                        node_id](const actors::command_outcome& o) {
                  actors::drop_outcome("agent-registry", what, o);
                });
  }

  void record_node(domain::node::command cmd, const std::string& cause) {
    sh->gw.send(actors::command_request<node_aggregate>{node_id, std::move(cmd), meta(cause)},
                [](const actors::command_outcome& o) {
                  // Refused when the node is in that state already: counted, not logged.
                  actors::drop_outcome("agent-registry", "node state", o,
                                       {errc::failed_precondition});
                });
  }

  void send(pb::Command c, const std::string& vm_id, const std::string& kind) {
    if (!link)
      return; // the reconciliation after the next connect brings the host up to date
    c.set_id(++next_id);
    c.set_epoch(epoch);
    pending[c.id()] = pending_command{vm_id, kind};
    pb::ControlFrame f;
    *f.mutable_command() = std::move(c);
    link->send(f.SerializeAsString());
    ++commands_out;
  }

  void publish() {
    const bool live = static_cast<bool>(link);
    sh->publish(node_id, [&](json& j) {
      j["connected"] = live;
      j["epoch"] = epoch;
      j["framesIn"] = frames_in;
      j["commandsSent"] = commands_out;
      j["commandsPending"] = pending.size();
      j["commandFailures"] = failures;
    });
  }

  void on_hello(const pb::Hello& h) {
    {
      std::lock_guard lock{sh->mutex};
      sh->libvirt_uri[node_id] = h.host().libvirt_uri();
    }
    sh->publish(node_id, [&](json& j) {
      j["host"] = {{"hostname", h.host().hostname()},
                   {"libvirtUri", h.host().libvirt_uri()},
                   {"libvirtVersion", h.host().libvirt_version()},
                   {"agentVersion", h.host().agent_version()},
                   {"domains", h.domains_size()}};
    });
    for (auto& c : infrastructure_for(*sh, node_id))
      send(std::move(c), "", "infrastructure");
    std::vector<domain::agent_logic::vm_on_node> vms;
    sh->inv.for_each<vm_aggregate>([&](const projections::resource<vm_aggregate>& r) {
      if (r.state.node_id() == node_id)
        vms.push_back({r.state, r.version});
    });
    const auto cause = "reconcile:" + node_id + ":" + std::to_string(epoch);
    for (auto& step : domain::agent_logic::reconcile(h, vms, sh->volumes())) {
      if (step.record) {
        log::info(component, "reconciled",
                  {{"node", node_id},
                   {"vm", step.vm_id},
                   {"record", std::string{domain::vm::name_of(*step.record)}}});
        record(step.vm_id, std::move(*step.record), cause, step.version);
      }
      if (step.resend)
        send(std::move(*step.resend), step.vm_id, "resend");
    }
  }

  void on_domain_event(const pb::DomainEvent& ev) {
    const auto r = sh->inv.get<vm_aggregate>(ev.id());
    if (!r || r->state.node_id() != node_id)
      return; // not a VM of ours on this node (a domain defined by hand, or moved away)
    if (auto cmd = domain::agent_logic::follow(ev, r->state.power_state()))
      record(ev.id(), std::move(*cmd), "libvirt:" + ev.kind() + ":" + ev.detail(), r->version);
  }

  void on_result(const pb::CommandResult& res) {
    const auto it = pending.find(res.command_id());
    if (it == pending.end())
      return;
    const auto p = std::move(it->second);
    pending.erase(it);
    if (res.ok()) {
      if (p.kind == "migrate")
        record(p.vm_id, domain::vm::complete_migration{}, "agent-result", std::nullopt);
      return;
    }
    ++failures;
    log::warn(component, "agent command failed",
              {{"node", node_id},
               {"vm", p.vm_id},
               {"kind", p.kind},
               {"code", res.error_code()},
               {"error", res.message()}});
    const auto reason = domain::agent_logic::reason_text(res.error_code() + ": " + res.message());
    const auto r = p.vm_id.empty() ? std::nullopt : sh->inv.get<vm_aggregate>(p.vm_id);
    if (!r)
      return;
    if ((p.kind == "start" || p.kind == "resend") &&
        r->state.power_state() == domain::vm::power::starting)
      record(p.vm_id, domain::vm::force_stop{"START_FAILED: " + reason}, "agent-result",
             r->version);
    else if (p.kind == "migrate" && r->state.power_state() == domain::vm::power::migrating)
      record(p.vm_id, domain::vm::fail_migration{reason}, "agent-result", r->version);
  }

  void on_frame(const std::string& bytes) {
    ++frames_in;
    pb::AgentFrame f;
    if (!f.ParseFromString(bytes)) {
      log::warn(component, "agent frame does not parse", {{"node", node_id}});
      return;
    }
    switch (f.body_case()) {
    case pb::AgentFrame::kHello:
      on_hello(f.hello());
      break;
    case pb::AgentFrame::kHeartbeat:
      sh->publish(node_id, [&](json& j) {
        j["lastHeartbeatUnixMs"] = f.heartbeat().sent_unix_ms();
        j["heartbeats"] = f.heartbeat().sequence();
      });
      break;
    case pb::AgentFrame::kTelemetry: {
      const auto& t = f.telemetry();
      json vms = json::array();
      for (const auto& v : t.vms())
        vms.push_back({{"id", v.id()},
                       {"cpuPercent", v.cpu_percent()},
                       {"memoryUsedMib", v.memory_used_mib()},
                       {"diskReadBytes", v.disk_read_bytes()},
                       {"diskWriteBytes", v.disk_write_bytes()},
                       {"netRxBytes", v.net_rx_bytes()},
                       {"netTxBytes", v.net_tx_bytes()}});
      sh->publish(node_id, [&](json& j) {
        j["telemetry"] = {{"sampledUnixMs", t.sampled_unix_ms()},
                          {"cpuPercent", t.cpu_percent()},
                          {"memoryUsedMib", t.memory_used_mib()},
                          {"memoryTotalMib", t.memory_total_mib()},
                          {"diskUsedBytes", t.disk_used_bytes()},
                          {"diskTotalBytes", t.disk_total_bytes()},
                          {"netRxBytes", t.net_rx_bytes()},
                          {"netTxBytes", t.net_tx_bytes()},
                          {"vms", vms}};
      });
      break;
    }
    case pb::AgentFrame::kDomainEvent:
      on_domain_event(f.domain_event());
      break;
    case pb::AgentFrame::kResult:
      on_result(f.result());
      break;
    case pb::AgentFrame::kLeaving:
      log::info(component, "agent leaves", {{"node", node_id}, {"reason", f.leaving().reason()}});
      record_node(domain::node::disconnect{"LEFT: " +
                                           domain::agent_logic::reason_text(f.leaving().reason())},
                  "agent-leaving");
      break;
    case pb::AgentFrame::BODY_NOT_SET:
      break;
    }
    publish();
  }
};

caf::behavior node_proxy(caf::stateful_actor<proxy_state>* self, std::string node_id,
                         std::shared_ptr<shared> sh) {
  self->state.node_id = std::move(node_id);
  self->state.sh = std::move(sh);
  // The session ends with the proxy: on exit, before CAF destroys the state (an attached
  // functor runs after that, and reading the state there was a use after free).
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    if (self->state.link)
      self->state.link->close("the control plane is stopping");
    self->state.link.reset();
    self->quit(msg.reason);
  });
  return {
      [self](attach_atom, link_box box, std::uint64_t epoch) {
        auto& st = self->state;
        if (st.link)
          st.link->close("replaced by a newer session of this node");
        st.link = std::move(box.link);
        st.epoch = epoch;
        st.pending.clear(); // the old session's commands are stale; reconciliation redoes them
        pb::ControlFrame f;
        auto* w = f.mutable_welcome();
        w->set_epoch(epoch);
        w->set_node_id(st.node_id);
        w->set_heartbeat_interval_ms(heartbeat_ms);
        if (auto n = st.sh->inv.get<actors::node_aggregate>(st.node_id))
          w->set_cluster_id(n->state.cluster_id());
        st.link->send(f.SerializeAsString());
        log::info(component, "agent session open", {{"node", st.node_id}, {"epoch", epoch}});
        st.record_node(domain::node::connect{}, "session:" + std::to_string(epoch));
        st.publish();
      },
      [self](frame_atom, std::uint64_t epoch, const std::string& bytes) {
        if (epoch == self->state.epoch && self->state.link)
          self->state.on_frame(bytes);
      },
      [self](closed_atom, std::uint64_t epoch, const std::string& why) {
        auto& st = self->state;
        if (epoch != st.epoch || !st.link)
          return; // an older session, already replaced
        st.link.reset();
        st.pending.clear();
        log::info(component, "agent session closed",
                  {{"node", st.node_id}, {"epoch", epoch}, {"why", why}});
        st.record_node(domain::node::disconnect{"AGENT_SESSION_CLOSED: " + why},
                       "session:" + std::to_string(epoch));
        st.publish();
      },
      [self](member_atom, const std::string& cluster_id) {
        // The host's own status names the cluster the control plane lists it in.
        if (!self->state.link)
          return; // the next Welcome carries it
        pb::ControlFrame f;
        f.mutable_membership()->set_cluster_id(cluster_id);
        self->state.link->send(f.SerializeAsString());
      },
      [self](command_atom, const std::string& bytes, const std::string& vm_id,
             const std::string& kind) {
        pb::Command c;
        if (c.ParseFromString(bytes)) {
          self->state.send(std::move(c), vm_id, kind);
        } else {
          // Serialized by this process a moment ago: a failure here is a bug, never silent.
          ++self->state.failures;
          log::error(component, "a command for the agent does not parse",
                     {{"node", self->state.node_id}, {"vm", vm_id}, {"kind", kind}});
        }
        self->state.publish();
      },
  };
}

} // namespace

struct agent_registry::impl {
  caf::actor_system& sys;
  std::shared_ptr<shared> sh;
  mutable std::mutex mutex;
  std::map<std::string, caf::actor> proxies;
  std::map<std::string, std::uint64_t> epochs;
  std::map<std::string, std::string> last_node; ///< VM id → the node it last ran on
  bool stopped = false;

  caf::actor proxy_of(const std::string& node_id, bool create) {
    std::lock_guard lock{mutex};
    if (stopped)
      return {};
    const auto it = proxies.find(node_id);
    if (it != proxies.end())
      return it->second;
    if (!create)
      return {};
    auto a = sys.spawn(node_proxy, node_id, sh);
    proxies.emplace(node_id, a);
    return a;
  }

  void command(const std::string& node_id, const pb::Command& c, const std::string& vm_id,
               const std::string& kind) {
    if (auto p = proxy_of(node_id, false))
      caf::anon_send(p, command_atom::value, c.SerializeAsString(), vm_id, kind);
  }

  std::vector<std::string> live_nodes() const {
    std::vector<std::string> out;
    std::lock_guard lock{mutex};
    for (const auto& [id, a] : proxies)
      out.push_back(id);
    return out;
  }

  void on_vm_event(const events::recorded_event& e, const std::string& vm_id) {
    const auto r = sh->inv.get<vm_aggregate>(vm_id, true);
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
    if (e.type == "qx.events.v1.VmMigrationStarted") {
      std::string target_uri;
      {
        std::lock_guard lock{sh->mutex};
        const auto it = sh->libvirt_uri.find(r->state.migration_target());
        if (it != sh->libvirt_uri.end())
          target_uri = it->second;
      }
      pb::Command c;
      c.mutable_migrate()->set_vm_id(vm_id);
      c.mutable_migrate()->set_destination_uri(target_uri);
      command(node_id, c, vm_id, "migrate");
      return;
    }
    if (auto c = domain::agent_logic::command_after(e, r->state, sh->volumes())) {
      const auto kind = c->has_define_and_start() ? "start" : c->domain_action().action();
      command(node_id, *c, vm_id, kind);
    }
  }

  void on_membership_event(const events::recorded_event& e) {
    const auto node_id = e.stream.substr(actors::node_aggregate::stream("").size());
    const auto n = sh->inv.get<actors::node_aggregate>(node_id);
    if (!n)
      return;
    if (auto p = proxy_of(node_id, false))
      caf::anon_send(p, member_atom::value, n->state.cluster_id());
  }

  void on_storage_event(const events::recorded_event& e) {
    if (e.type == "qx.events.v1.StoragePoolAssigned") {
      events::v1::StoragePoolAssigned ev;
      if (!qx::events::parse_message(ev, e.payload))
        return;
      auto pool = sh->inv.get<actors::storage_pool_aggregate>(ev.pool_id());
      snapshots::v1::StoragePoolState known;
      known.set_id(ev.pool_id());
      command(ev.node_id(), domain::agent_logic::create_pool(pool ? pool->state : known), "",
              "infrastructure");
      return;
    }
    const bool created = e.type == "qx.events.v1.VolumeCreated";
    if (!created && e.type != "qx.events.v1.VolumeDeleted")
      return;
    const auto id = e.stream.substr(actors::volume_aggregate::stream("").size());
    const auto v = sh->inv.get<actors::volume_aggregate>(id, true);
    if (!v)
      return;
    const auto pool = sh->inv.get<actors::storage_pool_aggregate>(v->state.pool_id(), true);
    if (!pool)
      return;
    pb::Command c;
    if (created) {
      c = domain::agent_logic::create_volume(v->state);
    } else {
      c.mutable_delete_volume()->set_pool_id(v->state.pool_id());
      c.mutable_delete_volume()->set_volume_id(id);
    }
    for (const auto& node : pool->state.node_ids())
      command(node, c, "", "infrastructure");
  }

  void on_network_event(const events::recorded_event& e) {
    if (e.type != "qx.events.v1.NetworkCreated")
      return;
    events::v1::NetworkCreated ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    const auto c = domain::agent_logic::create_network(ev.id(), ev.cidr());
    for (const auto& node : live_nodes())
      command(node, c, "", "infrastructure");
  }
};

agent_registry::agent_registry(caf::actor_system& sys, gateway& gw,
                               const projections::inventory& inv)
    : impl_(new impl{sys, std::make_shared<shared>(gw, inv), {}, {}, {}, {}, false}) {}

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
  caf::anon_send(p, attach_atom::value, link_box{std::move(link)}, epoch);
  return epoch;
}

void agent_registry::frame(const std::string& node_id, std::uint64_t epoch, std::string bytes) {
  if (auto p = impl_->proxy_of(node_id, false))
    caf::anon_send(p, frame_atom::value, epoch, std::move(bytes));
}

void agent_registry::closed(const std::string& node_id, std::uint64_t epoch,
                            const std::string& why) {
  if (auto p = impl_->proxy_of(node_id, false))
    caf::anon_send(p, closed_atom::value, epoch, why);
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
  std::lock_guard lock{impl_->sh->mutex};
  const auto it = impl_->sh->board.find(node_id);
  return it == impl_->sh->board.end() ? json{} : it->second;
}

std::size_t agent_registry::connected() const {
  std::lock_guard lock{impl_->sh->mutex};
  std::size_t n = 0;
  for (const auto& [id, j] : impl_->sh->board)
    n += j.value("connected", false) ? 1U : 0U;
  return n;
}

void agent_registry::stop() {
  std::map<std::string, caf::actor> proxies;
  {
    std::lock_guard lock{impl_->mutex};
    impl_->stopped = true;
    proxies.swap(impl_->proxies);
  }
  for (auto& [id, a] : proxies)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

} // namespace qx::api
