#pragma once

// Catch-up subscriptions shared by both stores. Each subscription runs on its own thread and
// pulls from the store: read_all(next) until it finds nothing, then waits for publish() to
// announce a newer durable position. Because subscribers pull, the writer never waits for a
// subscriber: a slow one only falls behind. The switch from catch-up to live is the same
// read_all loop, so there is no hand-over where an event could be skipped or seen twice.

#include "qx/events/event_store.hpp"

#include <cstdint>
#include <memory>

namespace qx::events::detail {

class subscription_hub {
 public:
  subscription_hub(event_store& store, std::uint64_t durable_position);
  ~subscription_hub();
  subscription_hub(const subscription_hub&) = delete;
  subscription_hub& operator=(const subscription_hub&) = delete;

  /// Announces that every position up to `position` is durable and readable.
  void publish(std::uint64_t position);

  [[nodiscard]] std::unique_ptr<subscription>
  subscribe(std::uint64_t after_position, event_handler handler, failure_handler on_failure);

  /// Ends every subscription and waits for their threads; the store may then be destroyed.
  void close();

  struct shared;

 private:
  std::shared_ptr<shared> shared_;
};

} // namespace qx::events::detail
