#pragma once

// The decision half of an append, shared by both stores: checks idempotency and the expected
// version against the committed state plus what this batch already staged, assigns positions
// and versions, and encodes the chained records. The store then makes the batch durable (or
// not) as a whole.

#include "qx/base/error.hpp"
#include "qx/events/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qx::events::detail {

/// The remembered answer to a command id.
struct command_record {
  std::string stream;
  append_result answer;
};

/// What the builder needs to know of the durable log.
class committed_state {
 public:
  virtual ~committed_state() = default;
  [[nodiscard]] virtual result<std::uint64_t> committed_version(std::string_view stream) = 0;
  [[nodiscard]] virtual result<std::optional<command_record>>
  committed_command(std::string_view command_id) = 0;
};

struct staged_event {
  std::uint64_t position = 0;
  std::string stream;
  std::uint64_t version = 0;
  std::string bytes;
};

struct staged_command {
  std::string id;
  command_record record;
};

class batch_builder {
 public:
  batch_builder(committed_state& state, chain_head head, std::int64_t now_unix_ns)
      : state_(state), head_(head), now_(now_unix_ns) {}

  /// Stages one (already validated) append, or answers why it cannot be written. A command id
  /// seen before answers its first result with `duplicate` set and stages nothing.
  [[nodiscard]] result<append_result> add(const append_request& req);

  [[nodiscard]] std::vector<staged_event>& events() { return events_; }
  [[nodiscard]] std::vector<staged_command>& commands() { return commands_; }
  /// The last version of every stream this batch writes to.
  [[nodiscard]] const std::unordered_map<std::string, std::uint64_t>& stream_versions() const {
    return versions_;
  }
  /// The chain head once this batch is durable.
  [[nodiscard]] chain_head head() const { return head_; }
  [[nodiscard]] bool empty() const { return events_.empty(); }

 private:
  result<std::uint64_t> current_version(const std::string& stream);
  result<std::optional<command_record>> earlier_answer(const std::string& command_id);

  committed_state& state_;
  chain_head head_;
  std::int64_t now_;
  std::vector<staged_event> events_;
  std::vector<staged_command> commands_;
  std::unordered_map<std::string, std::uint64_t> versions_;
  std::unordered_map<std::string, std::size_t> command_index_;
};

} // namespace qx::events::detail
