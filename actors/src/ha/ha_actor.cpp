// The HA actor: feeds its controller, ticks per interval, records each decision, then sends
// the node and VM commands and the restarts. A refused restart is handed back to the
// controller, which retries it elsewhere.
#include "qx/actors/dropped_outcome.hpp"
#include "qx/actors/reactors.hpp"
#include "reactor_io.hpp"

namespace qx::actors {

namespace {

using ha_state = reactor_state<ha::controller>;
using ha_pointer = ha_actor::stateful_pointer<ha_state>;

void perform(ha_pointer self, ha::actions a) {
  auto records = std::move(a.records); // before `a` moves into the continuation
  append_then(ha_actor{self}, self->state.tracker, *self->state.store, std::move(records),
              [self, a = std::move(a)](const status& s) {
                if (!s)
                  return; // nothing decided is acted on unless it is recorded
                auto& dc = self->state.coordinator;
                for (const auto& c : a.node_commands)
                  self->request(dc, caf::infinite, c).then([](command_outcome& r) {
                    drop_outcome("ha", "node command", r);
                  });
                for (const auto& c : a.vm_commands)
                  self->request(dc, caf::infinite, c).then([](command_outcome& r) {
                    drop_outcome("ha", "vm command", r);
                  });
                for (const auto& st : a.starts)
                  self->request(dc, caf::infinite, st).then([self, st](placement_outcome& r) {
                    if (!r)
                      self->state.logic->on_start_refused(st.vm_id, st.node_id);
                  });
              });
}

ha_actor::behavior_type ha_behavior(ha_pointer self, events::event_store* store,
                                    datacenter_actor coordinator, ha::config cfg,
                                    std::chrono::milliseconds interval) {
  self->state.logic = std::make_unique<ha::controller>(cfg);
  self->state.store = store;
  self->state.coordinator = std::move(coordinator);
  self->state.interval = interval;
  if (interval.count() > 0)
    self->delayed_send(self, interval, tick_atom::value);
  return {
      [self](appended_atom, std::uint64_t ticket, status& s) {
        appended(self->state.tracker, ticket, std::move(s));
      },
      [self](events_atom, std::vector<events::recorded_event>& batch) {
        for (const auto& e : batch)
          self->state.logic->on_event(e);
      },
      [self](heartbeat_atom, std::vector<std::string>& nodes) {
        const auto now = now_of(self);
        for (const auto& n : nodes)
          self->state.logic->on_heartbeat(n, now);
      },
      [self](tick_atom) {
        perform(self, self->state.logic->tick(now_of(self)));
        if (self->state.interval.count() > 0)
          self->delayed_send(self, self->state.interval, tick_atom::value);
      },
      [self](live_atom) { self->state.logic->go_live(); },
      [self](shutdown_atom, const std::string& node) {
        perform(self, self->state.logic->host_shutdown(node, now_of(self)));
        return true;
      },
      [self](admit_atom, const std::string& cluster, std::uint32_t vcpus, std::uint64_t memory) {
        return self->state.logic->admits(cluster, vcpus, memory);
      },
      [self](status_atom, const std::string& cluster) {
        return self->state.logic->status_of(cluster, now_of(self));
      }};
}

} // namespace

ha_actor spawn_ha(caf::actor_system& sys, events::event_store& store, datacenter_actor coordinator,
                  ha::config cfg, std::chrono::milliseconds interval) {
  return sys.spawn(ha_behavior, &store, std::move(coordinator), cfg, interval);
}

} // namespace qx::actors
