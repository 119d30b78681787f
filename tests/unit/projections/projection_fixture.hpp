#pragma once

// Writes domain events to an in-memory log the way the aggregates do (decide, encode,
// append at the stream's version), so the projections read exactly what production writes.

#include <qx/actors/aggregates.hpp>
#include <qx/events/memory_store.hpp>
#include <qx/projections/host.hpp>

#include "event_helpers.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

namespace qx::test {

class projection_fixture : public ::testing::Test {
 protected:
  /// Decides `cmd` on aggregate `id` (state folded from the log) and appends the events.
  template<class A>
  void run(const std::string& id, typename A::command cmd,
           const std::string& principal = "user:t") {
    auto state = A::initial(id);
    auto history = store->read_stream(A::stream(id), 1, 100'000);
    ASSERT_TRUE(history.has_value());
    for (const auto& e : *history) {
      auto ev = domain::decode_event<typename A::event>(e.type, e.payload);
      ASSERT_TRUE(ev.has_value());
      A::evolve(state, *ev);
    }
    auto events = A::decide(state, cmd);
    ASSERT_TRUE(events.has_value()) << events.error().to_string();
    events::append_request req;
    req.stream = A::stream(id);
    req.expected = events::expected_version::exact(history->size());
    for (const auto& ev : *events)
      req.events.push_back(domain::encode_event(ev));
    req.metadata.actor = principal;
    auto r = store->append(std::move(req));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
  }

  /// Waits (on the host's own signal, with a deadline) until `h` has applied the whole log.
  void settle(projections::host& h) {
    const auto head = store->head().position;
    auto applied = std::make_shared<std::promise<void>>();
    h.when_applied(head, [applied] { applied->set_value(); });
    ASSERT_EQ(applied->get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    ASSERT_EQ(h.position(), head);
  }

  std::unique_ptr<events::event_store> store = events::make_memory_store();
};

inline events::v1::NodeHardware hardware(std::uint32_t threads, std::uint64_t memory_mib) {
  events::v1::NodeHardware hw;
  hw.set_cpu_threads(threads);
  hw.set_cpu_cores(threads / 2 == 0 ? 1 : threads / 2);
  hw.set_memory_mib(memory_mib);
  return hw;
}

} // namespace qx::test
