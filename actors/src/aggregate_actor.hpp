#pragma once

// The actor shell around an aggregate's pure decide/evolve. One command at a time: decide,
// append with the expected version, and only when the append is durable evolve and answer.
// Commands that arrive meanwhile wait in `queue`, in order.

#include "qx/actors/directory.hpp"
#include "qx/actors/message_types.hpp"

#include <qx/events/event_store.hpp>
#include <qx/events/text_fields.hpp>

#include <caf/all.hpp>

#include <optional>
#include <vector>

namespace qx::actors::detail {

template<class A>
struct aggregate_state {
  static inline const char* name = "aggregate";

  struct pending {
    command_request<A> request;
    caf::typed_response_promise<command_outcome> promise;
  };
  struct in_flight {
    std::uint64_t ticket = 0;
    std::vector<typename A::event> events;
    caf::typed_response_promise<command_outcome> promise;
  };

  std::string id;
  typename A::state state;
  std::uint64_t version = 0;
  std::optional<error> broken; // activation failed: every command answers this
  std::vector<pending> queue;
  std::optional<in_flight> current;
  std::uint64_t next_ticket = 1;
  std::uint64_t handled = 0; // routed messages handled, compared by the directory
  std::uint64_t since_snapshot = 0;
  caf::actor_clock::time_point last_active;
  events::event_store* store = nullptr;
  directory_config config;
  directory_actor<A> directory;
};

template<class A>
using aggregate_pointer =
    typename aggregate_actor<A>::template stateful_pointer<aggregate_state<A>>;

/// Loads the latest snapshot and the events after it.
template<class A>
status load(aggregate_state<A>& st) {
  const auto stream = A::stream(st.id);
  st.state = A::initial(st.id);
  auto snap = st.store->load_snapshot(stream);
  if (!snap)
    return std::move(snap).error();
  if (snap->has_value() && (*snap)->type == A::state::descriptor()->full_name()) {
    typename A::state loaded;
    if (loaded.ParseFromString((*snap)->state)) {
      st.state = std::move(loaded);
      st.version = (*snap)->version;
    }
  }
  constexpr std::size_t chunk = 1024;
  for (;;) {
    auto batch = st.store->read_stream(stream, st.version + 1, chunk);
    if (!batch)
      return std::move(batch).error();
    for (const auto& rec : *batch) {
      auto ev = domain::decode_event<typename A::event>(rec.type, rec.payload);
      if (!ev)
        return std::move(ev).error();
      A::evolve(st.state, *ev);
      st.version = rec.version;
    }
    if (batch->size() < chunk)
      return {};
  }
}

template<class A>
void maybe_snapshot(aggregate_state<A>& st) {
  if (st.config.snapshot_every == 0 || st.since_snapshot < st.config.snapshot_every)
    return;
  st.since_snapshot = 0;
  // A failed snapshot only costs a longer replay later: the log stays the truth.
  permit_unchecked_error(st.store->save_snapshot(
      A::stream(st.id), {st.version, std::string{A::state::descriptor()->full_name()},
                         events::serialize_deterministic(st.state)}));
}

/// Decides queued commands until one needs an append (or the queue is empty).
template<class A>
void process_queue(aggregate_pointer<A> self) {
  auto& st = self->state;
  while (!st.current && !st.queue.empty()) {
    auto job = std::move(st.queue.front());
    st.queue.erase(st.queue.begin());
    auto& req = job.request;
    if (st.broken) {
      job.promise.deliver(command_outcome{*st.broken});
      continue;
    }
    if (!req.meta.command_id.empty()) {
      auto earlier = st.store->lookup_command(req.meta.command_id);
      if (!earlier) {
        job.promise.deliver(command_outcome{std::move(earlier).error()});
        continue;
      }
      if (earlier->has_value()) {
        const auto& a = **earlier;
        job.promise.deliver(
            command_outcome{command_reply{a.last_version, a.first_position, 0, true}});
        continue;
      }
    }
    if (req.meta.expected_version && *req.meta.expected_version != st.version) {
      job.promise.deliver(command_outcome{
          error{errc::conflict,
                std::string{A::kind} + " " + st.id + " is at version " + std::to_string(st.version),
                {{"current_version", std::to_string(st.version)},
                 {"expected_version", std::to_string(*req.meta.expected_version)}}}});
      continue;
    }
    auto decided = A::decide(st.state, req.command);
    if (!decided) {
      job.promise.deliver(command_outcome{std::move(decided).error()});
      continue;
    }
    if (decided->empty()) {
      job.promise.deliver(command_outcome{command_reply{st.version, 0, 0, false}});
      continue;
    }
    events::append_request append;
    append.stream = A::stream(st.id);
    append.expected = events::expected_version::exact(st.version);
    for (const auto& ev : *decided)
      append.events.push_back(domain::encode_event(ev));
    append.metadata = {req.meta.principal, req.meta.correlation_id, req.meta.causation_id,
                       req.meta.command_id};
    const auto ticket = st.next_ticket++;
    st.current =
        typename aggregate_state<A>::in_flight{ticket, std::move(*decided), std::move(job.promise)};
    // The callback may run on the store's writer thread: it only posts a message.
    st.store->append_async(std::move(append), [hdl = aggregate_actor<A>{self},
                                               ticket](result<events::append_result> r) {
      caf::anon_send(hdl, appended_atom::value, append_done{ticket, std::move(r)});
    });
  }
}

template<class A>
void on_appended(aggregate_pointer<A> self, append_done& done) {
  auto& st = self->state;
  if (!st.current || st.current->ticket != done.ticket)
    return; // cannot happen: one append in flight at a time
  auto flight = std::move(*st.current);
  st.current.reset();
  if (!done.outcome) {
    // Someone else wrote to this stream (or the disk failed): reload before the next command.
    if (auto ok = load(st); !ok)
      st.broken = ok.error();
    flight.promise.deliver(command_outcome{std::move(done.outcome).error()});
  } else {
    const auto& a = *done.outcome;
    for (const auto& ev : flight.events)
      A::evolve(st.state, ev);
    st.version = a.last_version;
    st.since_snapshot += a.count;
    maybe_snapshot(st);
    flight.promise.deliver(
        command_outcome{command_reply{a.last_version, a.first_position, a.count, a.duplicate}});
  }
  process_queue<A>(self);
}

template<class A>
void on_idle_check(aggregate_pointer<A> self) {
  auto& st = self->state;
  const auto idle_for = self->clock().now() - st.last_active;
  if (st.current || !st.queue.empty() || idle_for < st.config.idle_timeout) {
    self->delayed_send(self, st.config.idle_timeout - idle_for, idle_atom::value);
    return;
  }
  self->request(st.directory, caf::infinite, passivate_atom::value, st.id, st.handled)
      .then([self](bool stop) {
        if (stop)
          self->quit();
        else
          self->delayed_send(self, self->state.config.idle_timeout, idle_atom::value);
      });
}

template<class A>
typename aggregate_actor<A>::behavior_type
aggregate_behavior(aggregate_pointer<A> self, std::string id, events::event_store* store,
                   directory_config cfg, directory_actor<A> directory) {
  auto& st = self->state;
  st.id = std::move(id);
  st.store = store;
  st.config = cfg;
  st.directory = std::move(directory);
  st.last_active = self->clock().now();
  if (auto ok = load(st); !ok)
    st.broken = ok.error();
  if (cfg.idle_timeout.count() > 0)
    self->delayed_send(self, cfg.idle_timeout, idle_atom::value);
  return {
      [self](command_request<A>& req) -> caf::typed_response_promise<command_outcome> {
        auto& s = self->state;
        ++s.handled;
        s.last_active = self->clock().now();
        auto promise = self->template make_response_promise<command_outcome>();
        s.queue.push_back({std::move(req), promise});
        process_queue<A>(self);
        return promise;
      },
      [self](get_atom) -> state_outcome<A> {
        auto& s = self->state;
        ++s.handled;
        s.last_active = self->clock().now();
        if (s.broken)
          return *s.broken;
        return state_reply<A>{s.state, s.version};
      },
      [self](appended_atom, append_done& done) { on_appended<A>(self, done); },
      [self](idle_atom) { on_idle_check<A>(self); },
  };
}

} // namespace qx::actors::detail
