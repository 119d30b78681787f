#pragma once

// What a simulator run writes beside its event log: metrics over time (CSV) and report.html,
// one self-contained page (inline SVG, no script, no external file) that shows the run at a
// glance: host load, cluster imbalance, migrations, VM downtime, refusals and decisions.

#include "qx/sim/scenario.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace qx::sim {

/// The state of the simulated datacenter at one instant.
struct metrics_sample {
  sim_duration at{0};
  std::map<std::string, double> host_load;         ///< host id -> load (0..; 1 = full)
  std::map<std::string, double> cluster_imbalance; ///< cluster id -> std. deviation of loads
  std::uint64_t migrations_total = 0;              ///< migrations completed so far
  std::uint64_t restarts_total = 0;                ///< HA restarts so far
  std::uint32_t vms_running = 0;
  std::uint32_t vms_down = 0;     ///< VMs that should run (started by the scenario) but do not
  std::uint32_t hosts_active = 0; ///< powered on and taking VMs (connected, not in maintenance)
  /// Hosts whose load is above overload_threshold: their VMs want more than the host has.
  std::uint32_t hosts_overloaded = 0;
  /// CPU demand above capacity, in CPUs: over the hosts, what their VMs want beyond the host's
  /// physical CPUs (demand of VMs that are down is not counted).
  double unmet_cpu = 0;
};

/// A host is overloaded when its load (the larger of CPU demand / CPUs and memory demand /
/// memory) is above this.
inline constexpr double overload_threshold = 1.0;

/// An action the control plane refused (or HA's admission control): the timeline's, or the
/// start of a VM the scenario starts at set-up ("start").
struct refusal {
  sim_duration at{0};
  std::string action;  ///< the step's action ("vm_migrate") or "start" at set-up
  std::string target;  ///< the VM or host it acted on
  std::string code;    ///< the error's code, as the API shows it: "FAILED_PRECONDITION"
  std::string reason;  ///< the refusal's stable token when it has one: "INVALID_POWER_STATE"
  std::string message; ///< the error's message
};

/// A decision of DRS or HA, as the log records it, with its reason.
struct decision {
  sim_duration at{0};
  std::string kind;   ///< the event's short type: DrsRecommended, HaRestartPlanned, ...
  std::string vm;     ///< the VM it is about (a node's id for HaNodeFailed)
  std::string detail; ///< "h1 -> h2", "automatic", "attempt 2" ...
  std::string reason; ///< BALANCE, MAINTENANCE, RULE:<name>, STALE, NO_SUITABLE_NODE ...
};

/// The outcome of a run, for the report's header and tables.
struct run_summary {
  std::string scenario;
  std::uint64_t seed = 0;
  sim_duration duration{0};
  std::string log_hash; ///< hex SHA-256 of the last record (the chain head)
  std::uint64_t events = 0;
  std::uint64_t migrations = 0;
  std::uint64_t restarts = 0;
  std::vector<std::string> violations;          ///< invariant violations (empty: none)
  std::map<std::string, sim_duration> downtime; ///< VM id -> time it should have run but did not
  double wall_seconds = 0;
  std::vector<refusal> refusals;   ///< in time order
  std::vector<decision> decisions; ///< DRS's and HA's, in log order
  std::vector<std::string> notes;  ///< notes.txt, one line each
};

/// Writes `at_s,cluster:<id>...,host:<id>...,migrations,restarts,vms_running,vms_down,
/// hosts_active,hosts_overloaded,unmet_cpu` rows,
/// one per sample, with a header line. Columns are the union of ids over all samples, sorted;
/// a host or cluster absent from a sample is an empty field.
void write_metrics_csv(std::ostream& out, const std::vector<metrics_sample>& samples);

/// The spread of the host loads at one instant, over the hosts powered on (nearest-rank
/// quantiles); nullopt when no host has a usable load.
struct load_quantiles {
  double min = 0;
  double median = 0;
  double p90 = 0;
  double max = 0;
};
[[nodiscard]] std::optional<load_quantiles> host_load_quantiles(const metrics_sample& sample);

/// The whole report.html. Every text that comes from the scenario (names, ids) is
/// HTML-escaped; large runs are thinned so the page stays small (at most ~2,000 points per
/// line). Host load is shown for every host as its distribution over time (min, median, p90,
/// max), and by name for the 8 hottest (by peak, then mean load) with a table; a host's line
/// breaks while it is off. Also: active and overloaded hosts, unmet CPU demand, overloaded
/// host-time, refused actions, DRS's and HA's decisions, notes.txt.
[[nodiscard]] std::string render_report(const run_summary& summary,
                                        const std::vector<metrics_sample>& samples);

} // namespace qx::sim
