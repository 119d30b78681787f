#pragma once

// The audit read model: every AuditRecorded event of the log's "audit" stream, queryable by
// principal, object and time (GET /api/v1/audit). Rebuilt from the log at every start.

#include <qx/events/types.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace qx::api {

inline constexpr const char* audit_stream = "audit";

struct audit_row {
  std::uint64_t position = 0;
  std::int64_t time_unix_ns = 0;
  std::string principal;
  std::string remote;
  std::string method;
  std::string path;
  std::string object;
  std::string action;
  unsigned status = 0;
  std::string code;
  std::string request_id;
  std::string privilege;
  std::uint64_t count = 1;        ///< Requests this row stands for (aggregated refusals).
  std::int64_t first_unix_ns = 0; ///< The first of them (the row's own time when count is 1).
};

struct audit_query {
  std::string principal; ///< exact; empty: any
  std::string object;    ///< exact; empty: any
  std::optional<std::int64_t> from_ns;
  std::optional<std::int64_t> to_ns;
  std::uint64_t after_position = 0;
  std::size_t limit = 100;
};

class audit_trail {
 public:
  /// Takes `e` when it is an AuditRecorded of the audit stream.
  void apply(const events::recorded_event& e);
  /// Rows matching `q`, oldest first, at most q.limit + 1 (the extra one says there is more).
  [[nodiscard]] std::vector<audit_row> query(const audit_query& q) const;

 private:
  mutable std::mutex mutex_;
  std::vector<audit_row> rows_;
};

} // namespace qx::api
