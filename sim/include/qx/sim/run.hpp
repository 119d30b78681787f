#pragma once

// `qvdc-sim run`: a scenario played against the real VM, node, cluster, DRS and HA actors on
// CAF's deterministic scheduler (one thread, virtual time) over the in-memory event store.
// The simulator stands in for the hosts and their agents: it powers hosts on and off, cuts
// their network, runs the VMs the control plane starts (after a simulated libvirt latency),
// reports heartbeats and demand, self-fences an agent whose lease lapsed, and reconciles
// after a reconnect. At every step it checks the invariants: never two running copies of a VM,
// never a host beyond its overcommit ratios; at the end, every acknowledged command is in the
// log. Same scenario + seed: the same log, byte for byte (its hash is printed).

#include "qx/sim/report.hpp"
#include "qx/sim/scenario.hpp"

#include <qx/base/error.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace qx::sim {

struct run_options {
  std::uint64_t seed = 1;
  std::filesystem::path out_dir; ///< where events.jsonl, metrics.csv, report.html go; empty: none
  sim_duration step{std::chrono::seconds{5}};   ///< heartbeat period and time step
  sim_duration lease{std::chrono::seconds{15}}; ///< HA lease
  sim_duration fence_bound{std::chrono::seconds{10}};
  sim_duration libvirt_latency{std::chrono::seconds{2}}; ///< start, stop, before any slowness
  double migration_gib_per_s = 1.0;                      ///< memory copied per second
  std::int64_t epoch_unix_ms = 1'767'225'600'000;        ///< 2026-01-01T00:00:00Z
  /// Agents stop their VMs once their lease lapses. Off only to show what the invariant check
  /// catches without it (a partitioned host keeps running VMs HA restarts elsewhere).
  bool self_fencing = true;
};

struct run_result {
  run_summary summary;
  std::vector<metrics_sample> samples;
  /// Where each VM runs at the end, as the simulated hosts see it (absent: not running).
  std::map<std::string, std::string> placement;
  /// The VM aggregate's power state at the end, as the log says.
  std::map<std::string, std::string> power;
  /// How many events of each type the log holds.
  std::map<std::string, std::uint64_t> event_counts;
  /// The VMs meant to run at the end: started and not stopped or deleted on purpose since.
  std::set<std::string> meant_to_run;
};

/// Plays `s`. Errors only for a run that cannot be played (an output folder that cannot be
/// written); what goes wrong inside the simulated datacenter is part of the result.
[[nodiscard]] result<run_result> run_scenario(const scenario& s, const run_options& opts);

/// The scenario's `expect` held against run `r`: one line per unmet expectation (a VM not
/// running, or not where it should; an event type missing or present against the promise).
/// Empty: every expectation met.
[[nodiscard]] std::vector<std::string> unmet_expectations(const scenario& s, const run_result& r);

} // namespace qx::sim
