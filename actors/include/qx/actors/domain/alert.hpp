#pragma once

// The alert aggregate: what people do with an alert. Alerts are raised by rules in the
// alerts projection (deterministically, so a rebuild raises the same ones); acknowledging
// and resolving are commands like any other and land in the log.
//   open --acknowledge--> acknowledged --resolve--> resolved (final)
//   open --resolve--> resolved
// Acknowledging twice changes nothing; anything after resolve is refused ALERT_RESOLVED.
// That the alert exists is checked by the caller against the projection.

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/alert.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <string>
#include <variant>

namespace qx::domain::alert {

using state = snapshots::v1::AlertState;

struct acknowledge {
  std::string comment;
};
struct resolve {
  std::string comment;
};

using command = std::variant<acknowledge, resolve>;
using event = std::variant<events::v1::AlertAcknowledged, events::v1::AlertResolved>;

inline constexpr const char* kind = "alert";
inline constexpr const char* stream_prefix = "alert-";

[[nodiscard]] state initial(std::string_view id);
[[nodiscard]] decision<event> decide(const state& s, const command& c);
void evolve(state& s, const event& e);
[[nodiscard]] std::string_view name_of(const command& c);

} // namespace qx::domain::alert
