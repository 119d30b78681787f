#pragma once

// Folding one aggregate's stream up to a bound (for `?as_of=` and `qvdc replay --stream`).

#include <qx/actors/aggregates.hpp>
#include <qx/api/replay.hpp>
#include <qx/projections/inventory.hpp>

#include <optional>

namespace qx::api {

/// Resource `id` of kind A as it was at `until`; nullopt before its first event. Like the
/// inventory, an event this build cannot decode is skipped, not applied.
template<class A>
[[nodiscard]] result<std::optional<projections::resource<A>>>
fold_stream(events::event_store& store, std::string_view id, const replay_bound& until) {
  constexpr std::size_t batch_size = 1024;
  std::optional<projections::resource<A>> out;
  const auto stream = A::stream(id);
  for (std::uint64_t version = 1;;) {
    auto batch = store.read_stream(stream, version, batch_size);
    if (!batch)
      return batch.error();
    for (const auto& e : *batch) {
      if (!until.admits(e))
        return out;
      auto decoded = domain::decode_event<typename A::event>(e.type, e.payload);
      if (!decoded)
        continue;
      if (!out)
        out = projections::resource<A>{A::initial(id), 0, 0};
      A::evolve(out->state, *decoded);
      out->version = e.version;
      out->position = e.position;
    }
    if (batch->size() < batch_size)
      return out;
    version += batch->size();
  }
}

} // namespace qx::api
