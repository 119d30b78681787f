#pragma once

// An event of the log as the API shows it (GET /api/v1/events and the watch stream).

#include "json_codec.hpp"

#include <qx/events/types.hpp>

#include <cstdint>
#include <string>

namespace qx::api {

/// {"position","stream","version","type","time","principal","correlationId","causationId","data"}.
/// `data` is the payload decoded by its protobuf type, or {"undecodable": true} for a type
/// this build does not know.
[[nodiscard]] json event_to_json(const events::recorded_event& e);

/// RFC 3339 UTC with nanoseconds: "2026-11-23T08:30:00.123456789Z".
[[nodiscard]] std::string rfc3339(std::int64_t unix_ns);

/// Parses RFC 3339 ("2026-11-23T08:30:00Z", fraction and offset optional); nullopt if invalid.
[[nodiscard]] std::optional<std::int64_t> parse_rfc3339(std::string_view text);

} // namespace qx::api
