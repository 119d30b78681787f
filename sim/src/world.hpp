#pragma once

// The simulated hosts as they really are, whatever the control plane believes: power, network,
// agent, libvirt's health, and which VMs actually run where. Every change that starts a VM or
// moves one checks the invariants at once, so a violation is caught at the step it happens.

#include "qx/sim/scenario.hpp"

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace qx::sim {

struct host_truth {
  host_spec spec;
  bool powered = true;
  bool network = true;
  bool agent = true;
  sim_duration agent_back_at{0};
  sim_duration last_ack{0};       ///< last heartbeat the control plane received
  bool heard = true;              ///< its last heartbeat went through (reconcile on change)
  sim_duration slow{0};           ///< added libvirt latency
  sim_duration failing_until{-1}; ///< libvirt calls fail until then
  bool power_off_when_empty = false;
  bool operator_maintenance = false; ///< set by the timeline; powering on never clears it
  double cpu_overcommit = 4.0;       ///< its cluster's drs.cpu_overcommit, else the node default
};

class world {
 public:
  void add_host(const host_spec& h);
  void add_vm(const vm_spec& v) { vms_[v.id] = v; }
  void remove_vm(const std::string& id);

  /// The VM now runs on `host` (besides wherever else it runs: that is the violation).
  void run(const std::string& vm, const std::string& host, sim_duration now);
  void stop(const std::string& vm, const std::string& host);
  void stop_all(const std::string& host);

  [[nodiscard]] bool reachable(const std::string& host) const;
  [[nodiscard]] bool runs(const std::string& vm, const std::string& host) const;
  [[nodiscard]] std::set<std::string> vms_on(const std::string& host) const;
  /// The host a VM runs on (the first, if it ran twice), or empty.
  [[nodiscard]] std::string host_of(const std::string& vm) const;

  std::map<std::string, host_truth>& hosts() { return hosts_; }
  [[nodiscard]] const std::map<std::string, host_truth>& hosts() const { return hosts_; }
  [[nodiscard]] const std::map<std::string, vm_spec>& vms() const { return vms_; }
  [[nodiscard]] const std::vector<std::string>& violations() const { return violations_; }
  /// An invariant checked outside the world was broken at `now`.
  void violation(const std::string& what, sim_duration now);
  /// Changes whenever a VM starts or stops anywhere (callers cache what they derive).
  [[nodiscard]] std::uint64_t generation() const { return generation_; }

 private:
  void check_capacity(const std::string& host, sim_duration now);

  std::map<std::string, host_truth> hosts_;
  std::map<std::string, vm_spec> vms_;
  std::map<std::string, std::set<std::string>> running_; ///< vm -> hosts running it
  std::map<std::string, std::set<std::string>> on_host_; ///< host -> vms
  std::vector<std::string> violations_;
  std::uint64_t generation_ = 0;
};

/// The memory overcommit the simulated hosts are registered with (the node aggregate's
/// default); the CPU ratio is each host's (host_truth::cpu_overcommit).
inline constexpr double memory_overcommit = 1.0;

} // namespace qx::sim
