#pragma once

// What the DRS and HA actors share: their state, their clock, and appending a decision's
// records in order so that what follows (the commands) runs only once they are durable, on the
// actor's own thread.

#include "qx/actors/message_types.hpp"

#include <qx/events/event_store.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace qx::actors {

/// The part of a reactor's state that tracks appends in flight.
struct record_tracker {
  std::uint64_t next_ticket = 1;
  std::map<std::uint64_t, std::function<void(status)>> waiting;
};

/// A reactor actor's state: its pure controller and what it talks to.
template<class Controller>
struct reactor_state {
  std::unique_ptr<Controller> logic;
  events::event_store* store = nullptr;
  datacenter_actor coordinator;
  std::chrono::milliseconds interval{0};
  record_tracker tracker;
};

/// The actor clock as the controllers count time (virtual under the deterministic scheduler).
template<class Self>
std::chrono::milliseconds now_of(Self* self) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      self->clock().now().time_since_epoch());
}

namespace detail {

/// Appends records[i], then the next from the store's callback; the callbacks keep the chain
/// alive, and the last answer goes back to the actor as a message.
template<class Handle>
struct append_chain : std::enable_shared_from_this<append_chain<Handle>> {
  append_chain(Handle h, std::uint64_t t, events::event_store& s,
               std::vector<events::append_request> r)
      : self_handle(std::move(h)), ticket(t), store(s), records(std::move(r)) {}

  void append(std::size_t i) {
    store.append_async(records[i],
                       [chain = this->shared_from_this(), i](result<events::append_result> r) {
                         if (r && i + 1 < chain->records.size()) {
                           chain->append(i + 1);
                           return;
                         }
                         caf::anon_send(chain->self_handle, appended_atom::value, chain->ticket,
                                        r ? status{} : status{std::move(r).error()});
                       });
  }

  Handle self_handle;
  std::uint64_t ticket;
  events::event_store& store;
  std::vector<events::append_request> records;
};

} // namespace detail

/// Appends `records` one after the other; then calls `then` with the first failure or success.
/// The store may answer on its own thread, so its answer comes back as a message.
template<class Handle>
void append_then(const Handle& self_handle, record_tracker& tracker, events::event_store& store,
                 std::vector<events::append_request> records, std::function<void(status)> then) {
  const auto ticket = tracker.next_ticket++;
  tracker.waiting.emplace(ticket, std::move(then));
  if (records.empty()) {
    caf::anon_send(self_handle, appended_atom::value, ticket, status{});
    return;
  }
  std::make_shared<detail::append_chain<Handle>>(self_handle, ticket, store, std::move(records))
      ->append(0);
}

/// Called from the actor's appended_atom handler.
inline void appended(record_tracker& tracker, std::uint64_t ticket, status s) {
  const auto it = tracker.waiting.find(ticket);
  if (it == tracker.waiting.end())
    return;
  auto then = std::move(it->second);
  tracker.waiting.erase(it);
  then(std::move(s));
}

} // namespace qx::actors
