#pragma once

// The events and audit index: which positions match a stream, a principal, an event type, a
// time range. It holds 32 bytes per event (strings are interned), so a query never scans the
// event bodies; the bodies are read from the log by position.

#include <qx/events/types.hpp>

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qx::projections {

/// A query; empty fields match everything. Ranges are inclusive.
struct event_query {
  std::string stream;
  std::string principal;
  std::string type;
  std::int64_t from_time_ns = 0;
  std::int64_t to_time_ns = INT64_MAX;
  std::uint64_t from_position = 1;
  std::uint64_t to_position = UINT64_MAX;
  std::size_t limit = 100;
};

class event_index {
 public:
  void apply(const events::recorded_event& e);

  /// Positions of the matching events in ascending order, at most `q.limit`.
  [[nodiscard]] std::vector<std::uint64_t> find(const event_query& q) const;

  [[nodiscard]] std::size_t size() const;

 private:
  struct entry {
    std::uint64_t position;
    std::int64_t time_ns;
    std::uint32_t stream;
    std::uint32_t type;
    std::uint32_t principal;
  };
  std::uint32_t intern(const std::string& s);
  [[nodiscard]] std::optional<std::uint32_t> lookup(const std::string& s) const;

  mutable std::shared_mutex mutex_;
  std::vector<entry> entries_; // ascending position
  std::unordered_map<std::string, std::uint32_t> names_;
};

} // namespace qx::projections
