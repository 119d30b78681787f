#pragma once

#include "qx/events/event_store.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace qx::events {

struct verify_report {
  bool ok = true;
  std::uint64_t records = 0;                   ///< Records checked.
  std::uint64_t last_position = 0;             ///< Last position checked.
  std::optional<std::uint64_t> break_position; ///< The first record at fault, when not ok.
  std::string problem;                         ///< What is wrong there.
};

/// Progress of a long verification: records checked so far and the head position.
using verify_progress = std::function<void(std::uint64_t checked, std::uint64_t head)>;

/// Checks the records with position >= from: positions gap-free from `from`, every record
/// decodes, carries its own position, hashes to its stored hash and links to its predecessor's
/// hash, and the newest record matches the store's chain head.
[[nodiscard]] result<verify_report> verify_log(event_store& store, std::uint64_t from = 1,
                                               const verify_progress& progress = {});

} // namespace qx::events
