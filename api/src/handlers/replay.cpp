#include "event_json.hpp"
#include "replay_fold.hpp"
#include "resource_json.hpp"

#include <qx/api/replay.hpp>

#include <algorithm>
#include <charconv>

namespace qx::api {

namespace {} // namespace

result<replay_bound> parse_replay_bound(std::string_view text, std::string_view field,
                                        std::uint64_t head) {
  const bool all_digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
  if (all_digits) {
    replay_bound b;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), b.position);
    if (ec != std::errc{} || end != text.data() + text.size() || b.position == 0)
      return invalid_field(field, std::string{field} +
                                      " must be a log position from 1 or an RFC 3339 time");
    if (b.position > head)
      return invalid_field(field, std::string{field} + " is position " +
                                      std::to_string(b.position) + ", beyond the log's head (" +
                                      std::to_string(head) + ")");
    return b;
  }
  const auto t = parse_rfc3339(text);
  if (!t)
    return invalid_field(
        field, std::string{field} +
                   " must be a log position or an RFC 3339 time, e.g. 2026-11-23T08:00:00Z");
  replay_bound b;
  b.by_time = true;
  b.time_unix_ns = *t;
  return b;
}

result<std::string> replay_datacenter(events::event_store& store, const replay_bound& until,
                                      const replay_progress& progress) {
  constexpr std::size_t batch_size = 4096;
  const auto head = store.head().position;
  projections::inventory inv;
  std::uint64_t last_position = 0;
  std::int64_t last_time = 0;
  for (std::uint64_t pos = 1;;) {
    bool reached = false;
    auto seen = store.visit_all(pos, batch_size, [&](const events::recorded_event& e) {
      if (!until.admits(e)) {
        reached = true;
        return false;
      }
      inv.apply(e);
      last_position = e.position;
      last_time = e.time_unix_ns;
      pos = e.position + 1;
      return true;
    });
    if (!seen)
      return seen.error();
    if (progress)
      progress(last_position, head);
    if (reached || *seen == 0)
      break;
  }
  json resources = json::object();
  actors::for_each_aggregate([&](auto tag) {
    using A = typename decltype(tag)::type;
    json items = json::array();
    inv.for_each<A>([&](const projections::resource<A>& r) { items.push_back(render(r)); });
    resources[A::kind] = std::move(items);
  });
  json out;
  out["position"] = last_position;
  out["time"] = last_position == 0 ? json(nullptr) : json(rfc3339(last_time));
  out["head"] = head;
  out["resources"] = std::move(resources);
  return out.dump();
}

result<std::string> replay_stream(events::event_store& store, const replay_bound& until,
                                  std::string_view stream) {
  std::optional<result<std::string>> answer;
  actors::for_each_aggregate([&](auto tag) {
    using A = typename decltype(tag)::type;
    const auto prefix = A::stream("");
    if (answer || stream.size() <= prefix.size() || !stream.starts_with(prefix))
      return;
    const auto id = stream.substr(prefix.size());
    auto folded = fold_stream<A>(store, id, until);
    if (!folded) {
      answer = folded.error();
      return;
    }
    json out;
    out["stream"] = stream;
    out["kind"] = A::kind;
    out["id"] = id;
    out["position"] = *folded ? (*folded)->position : 0;
    out["exists"] = *folded && projections::is_live((*folded)->state);
    out["resource"] = *folded ? render(**folded) : json(nullptr);
    answer = out.dump();
  });
  if (!answer)
    return invalid_field("stream",
                         "stream " + std::string{stream} +
                             " belongs to no resource (vm-, node-, pool-, ...); `qvdc log dump "
                             "--stream` prints any stream's events");
  return std::move(*answer);
}

} // namespace qx::api
