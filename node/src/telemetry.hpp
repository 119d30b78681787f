#pragma once

// Telemetry the agent sends with each heartbeat: the host from /proc and statvfs (what the
// machine really does, whichever hypervisor runs), each domain from libvirt (CPU time as a
// share of one vCPU-second per second, memory). Per-VM disk and network counters are not in
// the hypervisor interface yet: they go out as 0.

#include "qx/node/hypervisor.hpp"

#include <qx/agent/v1/session.pb.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace qx::node {

class telemetry_sampler {
 public:
  explicit telemetry_sampler(std::string disk_path) : disk_path_(std::move(disk_path)) {}
  /// One sample; rates are over the time since the previous call (0 on the first).
  [[nodiscard]] agent::v1::Telemetry sample(hypervisor& hv);

 private:
  std::string disk_path_;
  std::uint64_t prev_busy_ = 0;
  std::uint64_t prev_total_ = 0;
  std::chrono::steady_clock::time_point prev_at_{};
  std::map<std::string, std::uint64_t> prev_cpu_ns_;
};

} // namespace qx::node
