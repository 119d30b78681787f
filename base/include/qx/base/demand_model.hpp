#pragma once

// A VM's CPU demand over time as a fraction of its vCPUs (0..1): the workload shapes the
// simulator plays and the node agent reports for VMs on libvirt's test driver (which measures
// nothing real), written once here. Pure and header-only: the simulator and the agent call
// the same formulas, so a demand a scenario describes is the demand a test-driver host sends.

#include <qx/base/error.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <string_view>
#include <vector>

namespace qx::demand {

/// base + amplitude·cos(2π(hour − peak_hour)/24), the hour of day from `t_ms`; clamped.
[[nodiscard]] inline double diurnal(std::int64_t t_ms, double base, double amplitude,
                                    double peak_hour) {
  const double hour = static_cast<double>(t_ms % 86'400'000) / 3'600'000.0;
  return std::clamp(base + amplitude * std::cos(2 * std::numbers::pi * (hour - peak_hour) / 24),
                    0.0, 1.0);
}

/// `peak` for `length_ms` in every `every_ms` (shifted by `phase_ms`), `base` otherwise.
[[nodiscard]] inline double spikes(std::int64_t t_ms, double base, double peak,
                                   std::int64_t every_ms, std::int64_t length_ms,
                                   std::int64_t phase_ms) {
  const auto in_period = (t_ms + phase_ms) % std::max<std::int64_t>(every_ms, 1);
  return in_period < length_ms ? peak : base;
}

/// One line of a demand file: "constant F", "diurnal BASE AMPLITUDE PEAK_HOUR" or
/// "spikes BASE PEAK EVERY_S LENGTH_S" (fractions 0..1, hours 0..24, seconds > 0).
struct model {
  enum class kind : std::uint8_t { constant, diurnal, spikes } shape = kind::constant;
  double base = 0;
  double amplitude_or_peak = 0;
  double hour_or_every_s = 0;
  double length_s = 0;
};

/// The fraction of its vCPUs a VM with `m` is busy at `t_ms`.
[[nodiscard]] inline double at(const model& m, std::int64_t t_ms) {
  switch (m.shape) {
  case model::kind::diurnal:
    return diurnal(t_ms, m.base, m.amplitude_or_peak, m.hour_or_every_s);
  case model::kind::spikes:
    return spikes(t_ms, m.base, m.amplitude_or_peak,
                  static_cast<std::int64_t>(m.hour_or_every_s * 1000),
                  static_cast<std::int64_t>(m.length_s * 1000), 0);
  case model::kind::constant:
    break;
  }
  return std::clamp(m.base, 0.0, 1.0);
}

/// Parses the words of one model (see `model`); INVALID_ARGUMENT naming what is wrong.
[[nodiscard]] inline result<model> parse(const std::vector<std::string_view>& words) {
  const auto bad = [](const std::string& why) {
    return error{errc::invalid_argument, "demand model: " + why, {{"field", "demand"}}};
  };
  if (words.empty())
    return bad("empty");
  std::vector<double> v;
  for (std::size_t i = 1; i < words.size(); ++i) {
    double d = 0;
    const auto* end = words[i].data() + words[i].size();
    if (std::from_chars(words[i].data(), end, d).ptr != end || !std::isfinite(d))
      return bad("'" + std::string{words[i]} + "' is not a number");
    v.push_back(d);
  }
  const auto fraction = [](double d) {
    return d >= 0 && d <= 1;
  };
  model m;
  if (words[0] == "constant" && v.size() == 1 && fraction(v[0])) {
    m.base = v[0];
    return m;
  }
  if (words[0] == "diurnal" && v.size() == 3 && fraction(v[0]) && fraction(v[1]) && v[2] >= 0 &&
      v[2] <= 24) {
    m = {model::kind::diurnal, v[0], v[1], v[2], 0};
    return m;
  }
  if (words[0] == "spikes" && v.size() == 4 && fraction(v[0]) && fraction(v[1]) && v[2] > 0 &&
      v[3] > 0 && v[3] <= v[2]) {
    m = {model::kind::spikes, v[0], v[1], v[2], v[3]};
    return m;
  }
  return bad("expected 'constant F', 'diurnal BASE AMPLITUDE PEAK_HOUR' or "
             "'spikes BASE PEAK EVERY_S LENGTH_S' (fractions 0..1)");
}

} // namespace qx::demand
