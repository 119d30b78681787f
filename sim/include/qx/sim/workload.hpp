#pragma once

// A VM's demand over simulated time, from its scenario workload: deterministic for a given
// seed and VM id, so a scenario and a seed give the same run every time.

#include "qx/sim/scenario.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace qx::sim {

/// Demand in fractions of the VM's size: CPU of its vCPUs, memory of its memory.
struct demand {
  double cpu = 0;
  double memory = 0;
};

class workload {
 public:
  /// Builds the workload of VM `vm` (reads a trace or folder file now, with its limits:
  /// 16 MiB, one value per line, every value checked; errors name the file and line).
  [[nodiscard]] static result<workload> make(const workload_spec& spec, const vm_spec& vm,
                                             std::uint64_t seed);

  /// The demand at time t. Calls with non-decreasing t are O(1) amortised (a random walk
  /// advances from the previous call); an earlier t restarts the walk from 0.
  [[nodiscard]] demand at(sim_duration t);

 private:
  workload() = default;

  /// The spec's type, read once: at() runs for every VM every simulated minute.
  enum class kind : std::uint8_t { constant, diurnal, random_walk, spikes, trace, folder };
  workload_spec spec_;
  kind kind_ = kind::constant;
  std::uint64_t stream_ = 0;  ///< seed mixed with the VM id: each VM its own sequence
  std::int64_t phase_ms_ = 0; ///< spikes: where in its period this VM starts
  // random_walk
  std::int64_t walk_minute_ = 0;
  double walk_ = 0;
  // trace: (time ms, cpu fraction, memory fraction), by time
  std::vector<std::int64_t> times_;
  std::vector<demand> points_;
  // folder: CPU fraction per interval
  std::vector<double> samples_;
};

} // namespace qx::sim
