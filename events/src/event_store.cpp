#include "qx/events/event_store.hpp"

#include "store_checks.hpp"

#include "qx/base/utf8.hpp"
#include "qx/events/text_fields.hpp"

#include <future>

namespace qx::events {

result<append_result> event_store::append(append_request req) {
  std::promise<result<append_result>> promise;
  auto answer = promise.get_future();
  append_async(std::move(req),
               [&promise](result<append_result> res) { promise.set_value(std::move(res)); });
  return answer.get();
}

result<std::size_t> event_store::visit_all(std::uint64_t from_position, std::size_t limit,
                                           const event_handler& visit) {
  auto batch = read_all(from_position, limit);
  if (!batch)
    return std::move(batch).error();
  std::size_t seen = 0;
  for (const auto& ev : *batch) {
    ++seen;
    if (!visit(ev))
      break;
  }
  return seen;
}

namespace {

bool stream_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '@' || c == '/' || c == '-';
}

error too_large(std::string field, std::string message, std::size_t limit) {
  return error{errc::too_large,
               std::move(message),
               {{"field", std::move(field)}, {"limit", std::to_string(limit)}}};
}

} // namespace

status validate_stream_id(std::string_view stream, const append_limits& limits) {
  if (stream.empty())
    return invalid_field("stream", "stream id is empty");
  if (stream.size() > limits.max_name_bytes)
    return too_large("stream", "stream id is longer than the limit", limits.max_name_bytes);
  for (char c : stream)
    if (!stream_char(c))
      return invalid_field("stream", "stream id may hold only letters, digits and . _ : @ / -");
  return {};
}

status validate(const append_request& req, const append_limits& limits) {
  if (auto ok = validate_stream_id(req.stream, limits); !ok)
    return ok;
  if (req.events.empty())
    return invalid_field("events", "an append needs at least one event");
  if (req.events.size() > limits.max_events_per_append)
    return too_large("events", "too many events in one append", limits.max_events_per_append);
  const std::pair<const char*, const std::string*> meta[] = {
      {"metadata.actor", &req.metadata.actor},
      {"metadata.correlation_id", &req.metadata.correlation_id},
      {"metadata.causation_id", &req.metadata.causation_id},
      {"metadata.command_id", &req.metadata.command_id},
  };
  // Every text the envelope carries must be valid UTF-8, or the record could not be read back.
  for (const auto& [field, value] : meta) {
    if (value->size() > limits.max_name_bytes)
      return too_large(field, std::string{field} + " is longer than the limit",
                       limits.max_name_bytes);
    if (qx::invalid_utf8_at(*value))
      return invalid_field(field, std::string{field} + " is not valid UTF-8");
  }
  std::size_t total = 0;
  for (std::size_t i = 0; i < req.events.size(); ++i) {
    const auto& ev = req.events[i];
    const auto field = "events[" + std::to_string(i) + "]";
    if (ev.type.empty())
      return invalid_field(field + ".type", "event type is empty");
    if (ev.type.size() > limits.max_name_bytes)
      return too_large(field + ".type", "event type is longer than the limit",
                       limits.max_name_bytes);
    if (qx::invalid_utf8_at(ev.type))
      return invalid_field(field + ".type", "event type is not valid UTF-8");
    if (ev.payload.size() > limits.max_event_bytes)
      return too_large(field + ".payload",
                       "event payload of " + std::to_string(ev.payload.size()) +
                           " bytes exceeds the limit",
                       limits.max_event_bytes);
    if (auto ok = check_payload_text(ev.type, ev.payload, field + ".payload"); !ok)
      return ok;
    total += ev.payload.size();
  }
  if (total > limits.max_append_bytes)
    return too_large("events", "the append's payloads exceed the limit", limits.max_append_bytes);
  if (req.expected.k == expected_version::kind::no_stream && req.expected.value != 0)
    return invalid_field("expected_version", "no_stream carries no version number");
  return {};
}

} // namespace qx::events

namespace qx::events::detail {

status check_checkpoint(std::string_view consumer, std::uint64_t position, std::uint64_t head,
                        const append_limits& limits) {
  if (consumer.empty() || consumer.size() > limits.max_name_bytes)
    return invalid_field("consumer", "consumer name is empty or longer than the limit");
  if (position > head)
    return error{errc::invalid_argument,
                 "checkpoint is beyond the log's head",
                 {{"field", "position"}, {"head", std::to_string(head)}}};
  return {};
}

void count_answer(store_stats& stats, const result<append_result>& answer) {
  if (answer) {
    stats.appends_ok++;
    return;
  }
  stats.appends_failed++;
  if (answer.error().code == errc::conflict)
    stats.conflicts++;
}

status check_snapshot(const snapshot& snap, std::uint64_t current_version,
                      const append_limits& limits) {
  if (snap.state.size() > limits.max_append_bytes)
    return too_large("state", "snapshot exceeds the limit", limits.max_append_bytes);
  if (snap.type.size() > limits.max_name_bytes)
    return too_large("type", "snapshot type is longer than the limit", limits.max_name_bytes);
  if (snap.version == 0 || snap.version > current_version)
    return error{errc::invalid_argument,
                 "snapshot version is not a version of the stream",
                 {{"field", "version"}, {"current_version", std::to_string(current_version)}}};
  return {};
}

} // namespace qx::events::detail
