#pragma once

// What the DRS and HA actors share: append a decision's records, in order, and only once they
// are durable run what follows (the commands), on the actor's own thread.

#include "qx/actors/message_types.hpp"

#include <qx/events/event_store.hpp>

#include <caf/all.hpp>

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
  auto shared = std::make_shared<std::vector<events::append_request>>(std::move(records));
  auto step = std::make_shared<std::function<void(std::size_t)>>();
  *step = [self_handle, ticket, shared, &store, weak = std::weak_ptr(step)](std::size_t i) {
    store.append_async((*shared)[i],
                       [self_handle, ticket, shared, i, weak](result<events::append_result> r) {
                         const auto next = weak.lock();
                         if (!r || i + 1 == shared->size() || !next) {
                           caf::anon_send(self_handle, appended_atom::value, ticket,
                                          r ? status{} : status{std::move(r).error()});
                           return;
                         }
                         (*next)(i + 1);
                       });
  };
  (*step)(0);
  // The chain of callbacks holds `step` through `shared` only weakly; keep it until done.
  tracker.waiting[ticket] = [keep = step, then = std::move(tracker.waiting[ticket])](status s) {
    then(std::move(s));
  };
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
