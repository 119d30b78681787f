// The DRS actor: feeds its controller, runs a pass per interval, records each decision, then
// sends the migrations it decided. A refused migration is recorded as a rejected
// recommendation with the refusal's code.
#include "qx/actors/dropped_outcome.hpp"
#include "qx/actors/reactors.hpp"
#include "reactor_io.hpp"

#include <chrono>
#include <ctime>

namespace qx::actors {

namespace {

using drs_state = reactor_state<drs::controller>;

/// The CPU time the calling thread has used (a pass's wall time also counts the time its
/// thread waited for a core).
std::chrono::nanoseconds thread_cpu() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}
using drs_pointer = drs_actor::stateful_pointer<drs_state>;

/// Records, then (if durable) migrates; `done` learns whether the records are durable.
void perform(drs_pointer self, drs::actions a, std::function<void(status)> done) {
  append_then(
      drs_actor{self}, self->state.tracker, *self->state.store, std::move(a.records),
      [self, migrations = std::move(a.migrations), nodes = std::move(a.node_commands),
       done = std::move(done)](status s) {
        if (s)
          for (const auto& c : nodes)
            self->request(self->state.coordinator, caf::infinite, c).then([](command_outcome& r) {
              drop_outcome("drs", "node command", r);
            });
        if (s)
          for (const auto& m : migrations)
            self->request(self->state.coordinator, caf::infinite, m)
                .then([self, m](placement_outcome& r) {
                  if (!r)
                    perform(self, self->state.logic->refused(m, r.error()), [](const status&) {});
                });
        done(std::move(s));
      });
}

drs_actor::behavior_type drs_behavior(drs_pointer self, events::event_store* store,
                                      datacenter_actor coordinator, drs::config cfg,
                                      std::chrono::milliseconds interval,
                                      std::shared_ptr<drs::stats_board> board) {
  self->state.logic = std::make_unique<drs::controller>(cfg);
  self->state.store = store;
  self->state.coordinator = std::move(coordinator);
  self->state.interval = interval;
  if (interval.count() > 0)
    self->delayed_send(self, interval, tick_atom::value);
  return {[self](appended_atom, std::uint64_t ticket, status& s) {
            appended(self->state.tracker, ticket, std::move(s));
          },
          [self](events_atom, std::vector<events::recorded_event>& batch) {
            for (const auto& e : batch)
              self->state.logic->on_event(e);
            if (auto a = self->state.logic->after_events();
                !a.records.empty() || !a.migrations.empty() || !a.node_commands.empty())
              perform(self, std::move(a), [](const status&) {});
          },
          [self](demand_atom, std::vector<vm_demand>& measures) {
            for (const auto& m : measures)
              self->state.logic->on_demand(m.vm_id, m.cpu, m.memory_mib);
          },
          [self, board](tick_atom) {
            const auto began = std::chrono::steady_clock::now();
            const auto cpu_began = thread_cpu();
            auto decided = self->state.logic->run_pass(now_of(self));
            const auto took = std::chrono::steady_clock::now() - began;
            const auto cpu_took = thread_cpu() - cpu_began;
            perform(self, std::move(decided), [](const status&) {});
            if (board) {
              auto stats = self->state.logic->stats();
              stats.last_pass = took;
              stats.last_pass_cpu = cpu_took;
              board->publish(std::move(stats));
            }
            if (self->state.interval.count() > 0)
              self->delayed_send(self, self->state.interval, tick_atom::value);
          },
          [self](live_atom) { self->state.logic->go_live(); },
          [self](maintenance_atom, const std::string& node, bool enable,
                 const std::string& by) -> caf::result<status> {
            auto a = self->state.logic->request_maintenance(node, enable, by);
            if (!a)
              return status{std::move(a).error()};
            auto rp = self->make_response_promise<status>();
            perform(self, std::move(*a), [rp](status s) mutable { rp.deliver(std::move(s)); });
            return rp;
          },
          [self](what_if_atom, const std::string& cluster) {
            return self->state.logic->what_if(cluster);
          },
          [self](approve_atom, const std::string& cluster, const std::string& id,
                 const std::string& by) -> caf::result<status> {
            auto a = self->state.logic->approve(cluster, id, by);
            if (!a)
              return status{std::move(a).error()};
            auto rp = self->make_response_promise<status>();
            perform(self, std::move(*a), [rp](status s) mutable { rp.deliver(std::move(s)); });
            return rp;
          },
          [self](reject_atom, const std::string& cluster, const std::string& id,
                 const std::string& by) -> caf::result<status> {
            auto a = self->state.logic->reject(cluster, id, by);
            if (!a)
              return status{std::move(a).error()};
            auto rp = self->make_response_promise<status>();
            perform(self, std::move(*a), [rp](status s) mutable { rp.deliver(std::move(s)); });
            return rp;
          },
          [self](place_atom, const std::string& cluster, const std::string& vm,
                 const std::string& node) { return self->state.logic->scope(cluster, vm, node); },
          [self](pending_atom, const std::string& cluster) {
            return self->state.logic->pending(cluster);
          },
          [self](status_atom, const std::string& cluster) {
            return self->state.logic->status_of(cluster, now_of(self), self->state.interval);
          }};
}

} // namespace

drs_actor spawn_drs(caf::actor_system& sys, events::event_store& store,
                    datacenter_actor coordinator, drs::config cfg,
                    std::chrono::milliseconds interval, std::shared_ptr<drs::stats_board> board) {
  return sys.spawn(drs_behavior, &store, std::move(coordinator), cfg, interval, std::move(board));
}

} // namespace qx::actors
