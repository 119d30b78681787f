#pragma once

// Argument checks that both stores apply the same way.

#include "qx/events/event_store.hpp"

namespace qx::events::detail {

[[nodiscard]] status check_checkpoint(std::string_view consumer, std::uint64_t position,
                                      std::uint64_t head, const append_limits& limits);

[[nodiscard]] status check_snapshot(const snapshot& snap, std::uint64_t current_version,
                                    const append_limits& limits);

/// Counts one append's answer in the store's statistics.
void count_answer(store_stats& stats, const result<append_result>& answer);

} // namespace qx::events::detail
