// The node proxy actor (node_proxy.hpp): the plumbing between one node's agent session,
// domain/agent_logic (what to send, what to record) and the log (through a command_sink).
#include "qx/actors/node_proxy.hpp"

#include "qx/actors/dropped_outcome.hpp"
#include "qx/actors/message_types.hpp"

#include <qx/base/log.hpp>

#include <caf/all.hpp>

#include <limits>
#include <map>
#include <utility>

namespace qx::actors {

status validate(const node_proxy_config& cfg) {
  if (cfg.node_id.empty())
    return error{errc::invalid_argument, "node_id is empty", {{"field", "node_id"}}};
  if (cfg.lease.count() < 0 || cfg.lease.count() > std::numeric_limits<std::uint32_t>::max())
    return error{errc::invalid_argument,
                 "lease must be 0 or positive and fit 32 bits of ms",
                 {{"field", "lease"}}};
  if (cfg.heartbeat_interval.count() <= 0 ||
      cfg.heartbeat_interval.count() > std::numeric_limits<std::uint32_t>::max())
    return error{errc::invalid_argument,
                 "heartbeat_interval must be positive and fit 32 bits of milliseconds",
                 {{"field", "heartbeat_interval"}}};
  return {};
}

namespace {

namespace pb = agent::v1;
namespace logic = domain::agent_logic;

/// The component of the proxy's log lines and dropped outcomes (the metric's label: the name
/// it had when the proxy lived in the API's agent registry).
constexpr std::string_view component = "agent-registry";

/// A command sent on the live session and not answered yet.
struct pending_command {
  std::string vm_id;
  std::string kind; ///< agent_command::kind: what a failure means
};

struct node_proxy_state {
  static constexpr const char* name = "node-proxy";

  node_proxy_config cfg;
  node_proxy_dependencies deps;
  std::shared_ptr<agent_link> link; ///< The live session; null when none.
  std::uint64_t next_id = 0;        ///< Command ids, unique per node across sessions.
  std::map<std::uint64_t, pending_command> pending;
  agent_status status;

  [[nodiscard]] const std::string& node_id() const { return cfg.node_id; }

  [[nodiscard]] command_meta meta(const std::string& cause,
                                  std::optional<std::uint64_t> version = std::nullopt) const {
    command_meta m;
    m.principal = "agent:" + node_id();
    m.causation_id = cause;
    m.expected_version = version;
    return m;
  }

  void record(logic::vm_record r) {
    auto what = "report " + std::string{domain::vm::name_of(r.command)} + " of " + r.vm_id +
                " by " + node_id();
    deps.commands->send(
        command_request<vm_aggregate>{std::move(r.vm_id), std::move(r.command),
                                      meta(r.cause, r.version)},
        [what = std::move(what)](const command_outcome& o) { drop_outcome(component, what, o); });
  }

  void record_node(domain::node::command cmd, const std::string& cause) {
    deps.commands->send(command_request<node_aggregate>{node_id(), std::move(cmd), meta(cause)},
                        [](const command_outcome& o) {
                          // Refused when the node is in that state already: counted, not logged.
                          drop_outcome(component, "node state", o, {errc::failed_precondition});
                        });
  }

  void send_frame(const pb::ControlFrame& f) { link->send(f.SerializeAsString()); }

  void send(logic::agent_command c) {
    if (!link)
      return; // the reconciliation after the next connect brings the host up to date
    c.command.set_id(++next_id);
    c.command.set_epoch(status.epoch);
    pending[c.command.id()] = pending_command{std::move(c.vm_id), std::move(c.kind)};
    pb::ControlFrame f;
    *f.mutable_command() = std::move(c.command);
    send_frame(f);
    ++status.commands_sent;
  }

  void publish() {
    status.connected = static_cast<bool>(link);
    status.commands_pending = pending.size();
    deps.board->publish(node_id(), status);
  }

  void attach(std::shared_ptr<agent_link> next, std::uint64_t epoch) {
    if (epoch <= status.epoch) {
      // Accepted before the live session but delivered after it: already replaced.
      next->close("replaced by a newer session of this node");
      return;
    }
    if (link)
      link->close("replaced by a newer session of this node");
    link = std::move(next);
    status.epoch = epoch;
    pending.clear(); // the old session's commands are stale; reconciliation redoes them
    pb::ControlFrame f;
    auto* w = f.mutable_welcome();
    w->set_epoch(epoch);
    w->set_node_id(node_id());
    w->set_heartbeat_interval_ms(static_cast<std::uint32_t>(cfg.heartbeat_interval.count()));
    w->set_cluster_id(deps.view->cluster_of(node_id()));
    w->set_lease_ms(static_cast<std::uint32_t>(cfg.lease.count()));
    for (const auto& vm : deps.view->vms_on(node_id()))
      if (vm.state.spec().ha_restart_priority() > 0)
        w->add_protected_vm_ids(vm.state.id());
    send_frame(f);
    log::info(component, "agent session open", {{"node", node_id()}, {"epoch", epoch}});
    record_node(domain::node::connect{}, "session:" + std::to_string(epoch));
    publish();
  }

  void closed(std::uint64_t epoch, const std::string& why) {
    if (epoch != status.epoch || !link)
      return; // an older session, already replaced
    link.reset();
    pending.clear();
    log::info(component, "agent session closed",
              {{"node", node_id()}, {"epoch", epoch}, {"why", why}});
    record_node(logic::after_session_closed(why), "session:" + std::to_string(epoch));
    publish();
  }

  void membership(const std::string& cluster_id) {
    // The host's own status names the cluster the control plane lists it in.
    if (!link)
      return; // the next Welcome carries it
    pb::ControlFrame f;
    f.mutable_membership()->set_cluster_id(cluster_id);
    send_frame(f);
  }

  void on_hello(const pb::Hello& h) {
    status.host = h.host();
    status.domains = static_cast<std::uint64_t>(h.domains_size());
    for (auto& c : logic::infrastructure_for(node_id(), deps.view->infrastructure()))
      send(std::move(c));
    const auto& view = *deps.view;
    const logic::volume_lookup volumes = [&view](const std::string& id) {
      return view.volume(id);
    };
    const auto cause = "reconcile:" + node_id() + ":" + std::to_string(status.epoch);
    for (auto& step : logic::reconcile(h, view.vms_on(node_id()), volumes)) {
      if (step.record) {
        log::info(component, "reconciled",
                  {{"node", node_id()},
                   {"vm", step.vm_id},
                   {"record", std::string{domain::vm::name_of(*step.record)}}});
        record(logic::vm_record{step.vm_id, std::move(*step.record), step.version, cause});
      }
      if (step.resend)
        send(logic::agent_command{std::move(*step.resend), step.vm_id, "resend"});
    }
  }

  void on_result(const pb::CommandResult& res) {
    const auto it = pending.find(res.command_id());
    if (it == pending.end())
      return; // a command of an older session, or answered already
    const auto p = std::move(it->second);
    pending.erase(it);
    std::optional<logic::vm_on_node> vm;
    if (!res.ok()) {
      ++status.command_failures;
      log::warn(component, "agent command failed",
                {{"node", node_id()},
                 {"vm", p.vm_id},
                 {"kind", p.kind},
                 {"code", res.error_code()},
                 {"error", res.message()}});
      if (!p.vm_id.empty())
        vm = deps.view->vm(p.vm_id);
    }
    if (auto r = logic::after_result(p.vm_id, p.kind, res, vm))
      record(std::move(*r));
  }

  void on_frame(const pb::AgentFrame& f) {
    ++status.frames_in;
    switch (f.body_case()) {
    case pb::AgentFrame::kHello:
      on_hello(f.hello());
      if (deps.signals)
        deps.signals->heard(node_id());
      break;
    case pb::AgentFrame::kHeartbeat: {
      status.heartbeat = f.heartbeat();
      if (deps.signals)
        deps.signals->heard(node_id());
      // Renews the agent's lease: a control plane that no longer answers (partitioned,
      // stopped) lets it lapse, and the agent fences itself.
      pb::ControlFrame ack;
      ack.mutable_heartbeat_ack()->set_sequence(f.heartbeat().sequence());
      send_frame(ack);
      break;
    }
    case pb::AgentFrame::kTelemetry:
      status.telemetry = f.telemetry();
      if (deps.signals)
        deps.signals->measured(node_id(), f.telemetry());
      break;
    case pb::AgentFrame::kDomainEvent: {
      const auto& ev = f.domain_event();
      if (auto r = logic::after_domain_event(node_id(), ev, deps.view->vm(ev.id())))
        record(std::move(*r));
      break;
    }
    case pb::AgentFrame::kResult:
      on_result(f.result());
      break;
    case pb::AgentFrame::kLeaving:
      log::info(component, "agent leaves", {{"node", node_id()}, {"reason", f.leaving().reason()}});
      record_node(logic::after_leaving(f.leaving()), "agent-leaving");
      break;
    case pb::AgentFrame::BODY_NOT_SET:
      break;
    }
    publish();
  }
};

using node_proxy_pointer = node_proxy_actor::stateful_pointer<node_proxy_state>;

node_proxy_actor::behavior_type node_proxy(node_proxy_pointer self, node_proxy_config cfg,
                                           node_proxy_dependencies deps) {
  self->state.cfg = std::move(cfg);
  self->state.deps = std::move(deps);
  // The session ends with the proxy: on exit, before CAF destroys the state (an attached
  // functor runs after that, and reading the state there was a use after free).
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    if (self->state.link)
      self->state.link->close("the control plane is stopping");
    self->state.link.reset();
    self->quit(msg.reason);
  });
  return {
      [self](attach_atom, std::shared_ptr<agent_link>& link, std::uint64_t epoch) {
        self->state.attach(std::move(link), epoch);
      },
      [self](frame_atom, std::uint64_t epoch, const pb::AgentFrame& f) {
        if (epoch == self->state.status.epoch && self->state.link)
          self->state.on_frame(f);
      },
      [self](closed_atom, std::uint64_t epoch, const std::string& why) {
        self->state.closed(epoch, why);
      },
      [self](membership_atom, const std::string& cluster_id) {
        self->state.membership(cluster_id);
      },
      [self](logic::agent_command& c) {
        self->state.send(std::move(c));
        self->state.publish();
      },
  };
}

} // namespace

result<node_proxy_actor> spawn_node_proxy(caf::actor_system& sys, node_proxy_config cfg,
                                          node_proxy_dependencies deps) {
  if (auto ok = validate(cfg); !ok)
    return ok.error();
  if (!deps.commands || !deps.view || !deps.board)
    return error{errc::invalid_argument,
                 "the node proxy needs a command sink, a view and a board",
                 {{"field", "deps"}}};
  return sys.spawn(node_proxy, std::move(cfg), std::move(deps));
}

} // namespace qx::actors
