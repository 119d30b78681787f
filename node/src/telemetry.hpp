#pragma once

// Telemetry the agent sends with each heartbeat: the host from /proc and statvfs (what the
// machine really does, whichever hypervisor runs), each domain from libvirt (CPU time as a
// share of one vCPU-second per second, memory). Per-VM disk and network counters are not in
// the hypervisor interface yet: they go out as 0.

#include "qx/node/hypervisor.hpp"

#include <qx/agent/v1/session.pb.h>
#include <qx/base/demand_model.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace qx::node {

class telemetry_sampler {
 public:
  /// `demand_file`, when set (libvirt's test driver, which measures no real CPU), gives each
  /// VM's CPU demand instead: lines "<vm id or *> <model>" (qx/base/demand_model.hpp:
  /// constant F | diurnal BASE AMPLITUDE PEAK_HOUR | spikes BASE PEAK EVERY_S LENGTH_S),
  /// '#' comments; read again whenever it changes, so a test can script a spike. A file that
  /// does not parse is logged and the previous models are kept.
  explicit telemetry_sampler(std::string disk_path, std::string demand_file = {})
      : disk_path_(std::move(disk_path)), demand_file_(std::move(demand_file)) {}
  /// One sample; rates are over the time since the previous call (0 on the first).
  [[nodiscard]] agent::v1::Telemetry sample(hypervisor& hv);

 private:
  /// Reads the demand file when its modification time changed.
  void reload_demand();

  std::string disk_path_;
  std::string demand_file_;
  std::int64_t demand_mtime_ns_ = -1;
  std::map<std::string, demand::model> demand_; ///< vm id or "*" ->
  std::uint64_t prev_busy_ = 0;
  std::uint64_t prev_total_ = 0;
  std::chrono::steady_clock::time_point prev_at_{};
  std::map<std::string, std::uint64_t> prev_cpu_ns_;
};

} // namespace qx::node
