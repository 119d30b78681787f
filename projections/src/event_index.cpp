#include "qx/projections/event_index.hpp"

#include <algorithm>
#include <mutex>

namespace qx::projections {

std::uint32_t event_index::intern(const std::string& s) {
  const auto [it, inserted] = names_.try_emplace(s, static_cast<std::uint32_t>(names_.size() + 1));
  return it->second;
}

std::optional<std::uint32_t> event_index::lookup(const std::string& s) const {
  const auto it = names_.find(s);
  if (it == names_.end())
    return std::nullopt;
  return it->second;
}

void event_index::apply(const events::recorded_event& e) {
  std::unique_lock lock{mutex_};
  if (!entries_.empty() && e.position <= entries_.back().position)
    return; // delivered twice: the index keeps one entry per position
  entries_.push_back(entry{e.position, e.time_unix_ns, intern(e.stream), intern(e.type),
                           intern(e.metadata.actor)});
}

std::vector<std::uint64_t> event_index::find(const event_query& q) const {
  std::vector<std::uint64_t> out;
  std::shared_lock lock{mutex_};
  // 0 never names a string: an unknown filter value matches nothing.
  const auto id_of = [&](const std::string& s) -> std::optional<std::uint32_t> {
    if (s.empty())
      return std::nullopt;
    return lookup(s).value_or(0);
  };
  const auto stream = id_of(q.stream);
  const auto type = id_of(q.type);
  const auto principal = id_of(q.principal);
  if ((stream && *stream == 0) || (type && *type == 0) || (principal && *principal == 0))
    return out;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), q.from_position,
                             [](const entry& en, std::uint64_t p) { return en.position < p; });
  for (; it != entries_.end() && it->position <= q.to_position && out.size() < q.limit; ++it) {
    if ((stream && it->stream != *stream) || (type && it->type != *type) ||
        (principal && it->principal != *principal) || it->time_ns < q.from_time_ns ||
        it->time_ns > q.to_time_ns)
      continue;
    out.push_back(it->position);
  }
  return out;
}

std::size_t event_index::size() const {
  std::shared_lock lock{mutex_};
  return entries_.size();
}

} // namespace qx::projections
