#include "batch_builder.hpp"

#include "record_codec.hpp"

namespace qx::events::detail {

result<std::uint64_t> batch_builder::current_version(const std::string& stream) {
  if (auto it = versions_.find(stream); it != versions_.end())
    return it->second;
  return state_.committed_version(stream);
}

result<std::optional<command_record>> batch_builder::earlier_answer(const std::string& command_id) {
  if (auto it = command_index_.find(command_id); it != command_index_.end())
    return std::optional<command_record>{commands_[it->second].record};
  return state_.committed_command(command_id);
}

result<append_result> batch_builder::add(const append_request& req) {
  const auto& command_id = req.metadata.command_id;
  if (!command_id.empty()) {
    auto earlier = earlier_answer(command_id);
    if (!earlier)
      return std::move(earlier).error();
    if (earlier->has_value()) {
      const auto& rec = **earlier;
      if (rec.stream != req.stream)
        return error{errc::invalid_argument,
                     "command id " + command_id + " was already used on stream " + rec.stream,
                     {{"field", "metadata.command_id"}}};
      auto answer = rec.answer;
      answer.duplicate = true;
      return answer;
    }
  }
  auto current = current_version(req.stream);
  if (!current)
    return std::move(current).error();
  const auto& exp = req.expected;
  const bool matches = exp.k == expected_version::kind::any ||
                       (exp.k == expected_version::kind::no_stream && *current == 0) ||
                       (exp.k == expected_version::kind::exact && *current == exp.value);
  if (!matches) {
    const auto wanted = exp.k == expected_version::kind::no_stream ? std::string{"no stream"}
                                                                   : std::to_string(exp.value);
    return error{errc::conflict,
                 "stream " + req.stream + " is at version " + std::to_string(*current) +
                     ", expected " + wanted,
                 {{"stream", req.stream},
                  {"current_version", std::to_string(*current)},
                  {"expected_version", wanted}}};
  }
  append_result answer;
  answer.first_position = head_.position + 1;
  answer.first_version = *current + 1;
  answer.count = static_cast<std::uint32_t>(req.events.size());
  auto version = *current;
  for (const auto& ev : req.events) {
    record_fields fields;
    fields.position = head_.position + 1;
    fields.stream = req.stream;
    fields.version = ++version;
    fields.time_unix_ns = now_;
    fields.event = &ev;
    fields.metadata = &req.metadata;
    fields.prev_hash = head_.hash;
    auto rec = encode_record(fields);
    events_.push_back({fields.position, req.stream, fields.version, std::move(rec.bytes)});
    head_ = {fields.position, rec.hash};
  }
  answer.last_version = version;
  versions_[req.stream] = version;
  if (!command_id.empty()) {
    command_index_[command_id] = commands_.size();
    commands_.push_back({command_id, {req.stream, answer}});
  }
  return answer;
}

} // namespace qx::events::detail
