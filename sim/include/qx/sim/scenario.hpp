#pragma once

// A simulator scenario (`qvdc-sim run SCENARIO.yaml`): hosts, clusters with their DRS and HA
// settings, VMs with a workload each, placement rules, and a timeline of steps. Read from YAML,
// checked whole before anything runs: every refusal names the field at fault by its path
// ("vms[3].workload.cpu") and nothing half-read is returned.

#include <qx/base/error.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qx::sim {

using sim_duration = std::chrono::milliseconds;

struct host_spec {
  std::string id;
  std::string cluster; ///< may be empty: a standalone host
  std::uint32_t cpus = 0;
  std::uint64_t memory_mib = 0;
  std::vector<std::string> pools;
};

struct drs_spec {
  bool enabled = true;
  std::string automation = "fully_automated"; ///< manual, partially_automated, fully_automated
  std::uint32_t threshold = 3;                ///< 1..5
  std::string placement = "spread";           ///< spread, pack (initial placement)
  std::uint32_t max_moves = 8;                ///< balancing moves per pass
  std::uint32_t max_per_host = 2;             ///< migrations in or out of one host at once
  std::uint32_t max_per_cluster = 8;          ///< migrations in the cluster at once
  /// Above target this long before balancing; no VM balanced again sooner. Unset: twice the
  /// scenario's drs_interval.
  std::optional<sim_duration> hold;
  double min_gain = 0.01; ///< a balancing move's least score
  bool fail_back = true;  ///< should-run-on VMs return to their preferred hosts
  /// vCPUs per host thread on the cluster's hosts; unset: the node default (4).
  std::optional<double> cpu_overcommit;
  /// One migration's bandwidth (its copy time); unset: the run's option (1 GiB/s).
  std::optional<double> migration_gib_per_s;
};

struct ha_spec {
  bool enabled = true;
  std::string admission = "host_failures"; ///< host_failures, percentage, none
  std::uint32_t host_failures_to_tolerate = 1;
  std::uint32_t reserved_percent = 25;
  std::string shutdown_policy =
      "failover"; ///< freeze, failover, migrate (a host shut down on purpose)
};

struct cluster_spec {
  std::string id;
  drs_spec drs;
  ha_spec ha;
};

/// Demand over time, in fractions of the VM's size (CPU: of its vCPUs; memory: of its memory).
struct workload_spec {
  std::string type = "constant"; ///< constant, diurnal, random_walk, spikes, trace, folder
  double cpu = 0.5;              ///< constant level; base of diurnal and spikes; start of a walk
  double memory = 0.5;           ///< memory level (all types but trace)
  double amplitude = 0.3;        ///< diurnal: +/- around the base
  double peak_hour = 14;         ///< diurnal: hour of the day at the peak
  double step = 0.05;            ///< random_walk: largest change per minute
  double peak = 0.95;            ///< spikes: level during a spike
  sim_duration every{std::chrono::hours{1}};    ///< spikes: one every
  sim_duration length{std::chrono::minutes{5}}; ///< spikes: lasting
  std::filesystem::path path; ///< trace: CSV file; folder: directory (resolved, checked)
  sim_duration interval{std::chrono::minutes{5}}; ///< folder: time between lines
  /// folder: how its files are matched to VMs: "name" (the default: `<vm id>` or
  /// `<vm id>.txt`), "order" (sorted file names: the i-th VM of the folder takes the i-th
  /// file), "mapping" (a `file,vm` CSV file, `mapping`).
  std::string match = "name";
  std::filesystem::path mapping; ///< folder, match mapping: the CSV file (resolved, checked)
  /// folder: this VM's own file, chosen and checked (inside the scenario's folder, symlinks
  /// resolved) when the scenario is read. Empty: chosen by the VM's id when the workload is
  /// made (a workload_spec built in code).
  std::filesystem::path file;
};

struct vm_spec {
  std::string id;
  std::string cluster;
  std::string host; ///< initial host; empty: placement chooses at start
  /// At the start of the run (or when an add_vm step adds it): "running" (the default:
  /// created and started) or "stopped" (created only; a vm_start step may start it).
  std::string state = "running";
  std::uint32_t vcpus = 1;
  std::uint64_t memory_mib = 1024;
  std::int32_t priority = 0; ///< HA restart priority: lowest -2 .. highest 2
  bool ha_protected = true;
  std::vector<std::string> pools;
  workload_spec workload;
};

struct rule_spec {
  std::string name;
  std::string kind; ///< keep_together, keep_apart, must_run_on, must_not_run_on, should_run_on
  std::vector<std::string> vms;
  std::vector<std::string> hosts;
  std::map<std::string, std::int32_t> priorities; ///< should_run_on: host -> 0..100
};

/// One timeline step. `action` names it; `target` is the host or VM it acts on.
struct step_spec {
  sim_duration at{0};
  std::string action; ///< see step_actions()
  std::string target;
  std::string to;                ///< migrate / relocate: destination host (optional)
  sim_duration duration{0};      ///< slow_libvirt: added latency; fail_libvirt: how long
  std::optional<vm_spec> vm;     ///< add_vm: the new VM
  std::optional<rule_spec> rule; ///< set_rule: a rule to add or replace (by name)
};

/// The actions a step may name.
[[nodiscard]] const std::vector<std::string>& step_actions();

/// What a library scenario promises about its end (checked by the tests, not by the run).
struct expectation {
  std::map<std::string, std::string> running_on; ///< VM -> the host it runs on at the end
  std::vector<std::string> running;              ///< VMs running somewhere at the end
  std::vector<std::string> not_running;          ///< VMs not running at the end
  std::vector<std::string> events;    ///< event types (short: "HaRestartPlanned") that occur
  std::vector<std::string> no_events; ///< event types that never occur
};

struct scenario {
  std::string name;
  sim_duration duration{std::chrono::hours{1}};
  sim_duration drs_interval{std::chrono::minutes{5}};
  sim_duration metrics_interval{std::chrono::minutes{1}};
  std::vector<host_spec> hosts;
  std::vector<cluster_spec> clusters;
  std::vector<vm_spec> vms;
  std::vector<rule_spec> rules;
  std::vector<step_spec> timeline; ///< sorted by `at` (stable)
  expectation expect;
};

/// What a scenario may hold; beyond, the file is refused (a scenario is a program's input,
/// and the simulator must not be made to exhaust its host).
struct scenario_limits {
  std::uintmax_t max_file_bytes = std::uintmax_t{16} << 20U;
  std::size_t max_hosts = 10'000;
  std::size_t max_vms = 200'000;
  std::size_t max_steps = 100'000;
  sim_duration max_duration{std::chrono::hours{24 * 31}};
};

/// "90s", "5m", "2h", "1d", "250ms" (integers only); nullopt when malformed or negative.
[[nodiscard]] std::optional<sim_duration> parse_duration(std::string_view text);

/// Parses `text` (the YAML), resolving trace and folder paths against `base_dir`; a path that
/// leaves `base_dir` is refused.
[[nodiscard]] result<scenario> parse_scenario(std::string_view text,
                                              const std::filesystem::path& base_dir,
                                              const scenario_limits& limits = {});

/// Reads and parses a scenario file (size checked before reading).
[[nodiscard]] result<scenario> load_scenario(const std::filesystem::path& file,
                                             const scenario_limits& limits = {});

} // namespace qx::sim
