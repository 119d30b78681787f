#pragma once

// Outcomes a sender does not act on, on purpose: a reactor's follow-up command, a release
// after a failed start, an agent's report the aggregate may refuse because its state already
// says so. Every such place calls drop_outcome (grep for it), never an empty handler: a
// failure is counted per component (qvdc_dropped_outcome_failures_total on /metrics) and
// logged as one JSON line, unless its code is one the caller expects.

#include <qx/base/error.hpp>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

namespace qx::actors {

/// Counts `failure` (when set) for `component`; logs it unless its code is in `quiet`.
void drop_failure(std::string_view component, std::string_view what, const error* failure,
                  std::initializer_list<errc> quiet = {});

/// The outcome of a command nobody waits for.
template<class T>
void drop_outcome(std::string_view component, std::string_view what, const result<T>& outcome,
                  std::initializer_list<errc> quiet = {}) {
  drop_failure(component, what, outcome ? nullptr : &outcome.error(), quiet);
}

/// Failed outcomes dropped since start, per component.
[[nodiscard]] std::map<std::string, std::uint64_t, std::less<>> dropped_failures();

} // namespace qx::actors
