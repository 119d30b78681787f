#pragma once

// The DRS reactor's logic, without actors or clock: it folds the log into a cluster view,
// keeps the latest demand per VM, and on each pass turns the planner's moves into events that
// carry their reason and into migrate commands, following each cluster's automation level:
//
// - fully_automated: a move is recorded (automatic) and applied at once;
// - partially_automated, manual: a move is recorded as a recommendation and waits for
//   approve() or reject(); a pending recommendation whose VM has moved or stopped, or that a
//   later pass no longer proposes, is rejected as STALE. Initial placement (scope()) and
//   maintenance (request_maintenance()) act in every mode: the operator asked for them.
//
// A balancing move happens only once the imbalance has stayed above the target for the hold
// period; mandatory moves (maintenance, must rules) do not wait. With the planner's minimum
// gain this keeps DRS from moving a VM back and forth.

#include "qx/actors/aggregates.hpp"
#include "qx/actors/domain/cluster_view.hpp"
#include "qx/actors/domain/drs.hpp"
#include "qx/actors/messages.hpp"

#include <qx/events/types.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace qx::actors::drs {

using time_point = std::chrono::milliseconds; ///< since a fixed epoch (virtual in the simulator)

inline constexpr const char* principal = "system:drs";

struct config {
  std::chrono::milliseconds hold{std::chrono::minutes{10}};
  domain::drs::settings planner; ///< threshold is taken from each cluster's settings
  /// Fold the log without acting until go_live() (a server replaying its log at start).
  bool catch_up_first = false;
};

/// What a pass or a call asks the actor to do: records to append (stream "drs-<cluster>"),
/// then migrations to send to the coordinator.
struct actions {
  std::vector<events::append_request> records;
  std::vector<migrate_vm> migrations;
  /// Hosts emptied for maintenance enter it (the node aggregate refuses while VMs remain).
  std::vector<command_request<node_aggregate>> node_commands;
};

struct recommendation {
  std::string id;
  std::string cluster_id;
  domain::drs::move move;
  double source_load = 0; ///< the source host's load when it was planned
};

/// A cluster's DRS as GET /clusters/{id}/drs shows it. Times are durations from now: the
/// reactors count on the actor clock, not the wall clock.
struct cluster_status {
  bool enabled = false;
  std::string automation;
  std::uint32_t threshold = 0;
  double imbalance = 0; ///< now, from the latest demand
  double target = 0;    ///< the threshold's target imbalance
  /// Above the target for this long (balancing starts once it reaches `hold`); nullopt when
  /// not above.
  std::optional<std::chrono::milliseconds> above_for;
  std::chrono::milliseconds hold{0};
  std::optional<std::chrono::milliseconds> last_pass_ago; ///< nullopt: no pass yet
  std::chrono::milliseconds next_pass_in{0};
  std::size_t pending = 0; ///< recommendations waiting for approval
  bool live = false;       ///< false while the server replays its log at start
};

/// What DRS's passes saw, for the metrics: passes run since start, and each DRS-enabled
/// cluster's imbalance and target at its latest pass.
struct pass_stats {
  std::uint64_t passes = 0;
  std::chrono::nanoseconds last_pass{0};     ///< the latest pass's wall time (the actor times it)
  std::chrono::nanoseconds last_pass_cpu{0}; ///< and the CPU time its thread spent on it
  std::map<std::string, std::pair<double, double>> imbalance; ///< cluster -> (now, target)
};

/// The latest pass_stats, published by the DRS actor and read by the metrics endpoint on
/// another thread.
class stats_board {
 public:
  void publish(pass_stats s) {
    std::lock_guard lock{mutex_};
    stats_ = std::move(s);
  }
  [[nodiscard]] pass_stats read() const {
    std::lock_guard lock{mutex_};
    return stats_;
  }

 private:
  mutable std::mutex mutex_;
  pass_stats stats_;
};

class controller {
 public:
  explicit controller(config cfg = {}) : cfg_(cfg) {}

  /// Folds one event of the log in. While replaying (before go_live), the recommendations
  /// still pending come back from the log, and new ids continue after the last recorded.
  void on_event(const events::recorded_event& e);
  /// The latest measure of a VM: vCPUs busy and memory MiB touched.
  void on_demand(const std::string& vm_id, double cpu, double memory_mib);
  /// Maintenance asked for on a node: its VMs are sent away at once, whatever the cluster's
  /// automation level (and again each pass for any whose move failed), and the node enters
  /// maintenance once nothing holds capacity on it. Refused (NODE_DOWN) for a node that is
  /// not connected: nothing can be moved off it. Withdrawn: the node leaves maintenance and
  /// the VMs it sent away come back once it takes VMs again (where the rules allow).
  [[nodiscard]] result<actions> request_maintenance(const std::string& node_id, bool enable,
                                                    const std::string& by);
  /// After the log's new events: nodes emptied for maintenance enter it, and VMs a node's
  /// maintenance sent away return once it is back.
  [[nodiscard]] actions after_events();

  /// The log has been replayed up to its head: passes act from now on.
  void go_live() { live_ = true; }
  [[nodiscard]] bool live() const { return live_; }
  /// One pass over every cluster with DRS enabled.
  [[nodiscard]] actions run_pass(time_point now);
  /// What DRS would do in `cluster_id` now, changing nothing.
  [[nodiscard]] domain::drs::pass what_if(const std::string& cluster_id) const;
  /// Applies or drops a pending recommendation. NOT_FOUND when unknown or no longer pending.
  [[nodiscard]] result<actions> approve(const std::string& cluster_id, const std::string& id,
                                        const std::string& by);
  [[nodiscard]] result<actions> reject(const std::string& cluster_id, const std::string& id,
                                       const std::string& by);
  /// The coordinator refused the migration of recommendation `m.meta.correlation_id`: the
  /// rejection to record, with the refusal's reason (or its code).
  [[nodiscard]] actions refused(const migrate_vm& m, const qx::error& err) const;
  /// Where `vm_id` may be started or migrated in `cluster_id`: the cluster's nodes its rules
  /// allow with their should-run ranks, or only `node_id` when the caller names one; the
  /// cluster's placement strategy; the VM's keep-apart/together peers. The coordinator chooses
  /// (the one placement path, which counts reservations in flight and checks the peers against
  /// them). RULE_VIOLATION naming the rule when the named node, or every node, breaks one.
  [[nodiscard]] result<placement_scope> scope(const std::string& cluster_id,
                                              const std::string& vm_id,
                                              const std::string& node_id = {}) const;

  [[nodiscard]] std::vector<recommendation> pending(const std::string& cluster_id) const;
  /// The cluster's DRS now (`interval`: the actor's pass period); NOT_FOUND for an unknown
  /// cluster.
  [[nodiscard]] result<cluster_status> status_of(const std::string& cluster_id, time_point now,
                                                 std::chrono::milliseconds interval) const;
  [[nodiscard]] const domain::cluster_view& view() const { return view_; }
  [[nodiscard]] const pass_stats& stats() const { return stats_; }

 private:
  /// The planner's settings of a cluster: its DRS settings over the configured defaults.
  [[nodiscard]] static domain::drs::settings settings_of(const events::v1::DrsSettings& drs,
                                                         domain::drs::settings defaults);
  /// The cluster's hold period (the configured one when the cluster has none).
  [[nodiscard]] std::chrono::milliseconds hold_of(const events::v1::DrsSettings& drs) const;
  [[nodiscard]] domain::drs::pass plan_for(const std::string& cluster_id) const;
  [[nodiscard]] result<recommendation> take_pending(const std::string& cluster_id,
                                                    const std::string& id);
  void enter_emptied(actions& out);
  /// Records a VM whose strict rule the pass cannot make true (DrsRuleCompliance, met =
  /// false) and, on a later pass, that it is met again.
  void track_compliance(const std::string& cluster_id, const domain::drs::pass& p, actions& out);
  /// A maintenance asked for (`enable`) or ended on `node_id`: what is being emptied and what
  /// is to come back (live, and while replaying its record).
  void maintenance_asked(const std::string& node_id, bool enable);
  /// While replaying: the maintenance requests and their progress as the live controller
  /// held them.
  void replay_maintenance(const events::recorded_event& e);
  [[nodiscard]] const std::vector<domain::drs::rule>& rules_of(const std::string& cluster_id) const;
  /// The migrate command of move `m`, with the VM's peers for the coordinator's check.
  [[nodiscard]] migrate_vm migration(const domain::drs::move& m, command_meta meta) const;
  /// Records `m` as recommended by `by` (automatic or waiting for approval): its id.
  [[nodiscard]] std::string recommend(const std::string& cluster_id, const domain::drs::move& m,
                                      double target, bool automatic, const std::string& by,
                                      actions& out);
  /// Records recommendation `id` (move `m`) applied by `by`, and migrates.
  void apply(const std::string& cluster_id, const std::string& id, const domain::drs::move& m,
             const std::string& by, actions& out);
  /// Records `m` as an automatic recommendation applied by `by`, and migrates.
  void apply_now(const std::string& cluster_id, const domain::drs::move& m, double target,
                 const std::string& by, actions& out);
  void evacuate(const std::string& node_id, const std::string& by, actions& out);
  void bring_back(const std::string& by, actions& out);
  [[nodiscard]] double target_imbalance_of(const std::string& cluster_id) const;
  void drop_stale(const std::string& cluster_id, const domain::drs::pass& p, actions& out);

  config cfg_;
  domain::cluster_view view_;
  std::map<std::string, std::pair<double, double>> demand_;
  std::set<std::string> evacuating_;
  std::map<std::string, std::set<std::string>> sent_away_; ///< node -> VMs maintenance moved
  std::map<std::string, std::set<std::string>> returning_; ///< node -> VMs to bring back
  std::map<std::string, time_point> above_since_;          ///< cluster -> since when above target
  /// cluster -> VM -> the strict rule recorded unmet for it (DrsRuleCompliance).
  std::map<std::string, std::map<std::string, std::string>> unmet_;
  std::map<std::string, std::map<std::string, recommendation>> pending_; ///< cluster -> id ->
  std::uint64_t next_id_ = 1;
  /// Each VM's latest move: when, and the host it left with that host's load then. Within the
  /// hold period the VM is not balanced again; it returns to that host only once its load
  /// changed by more than the planner's return margin (no ping-pong).
  struct last_move {
    time_point at{0};
    std::string from;
    double from_load = 0;
  };
  std::map<std::string, last_move> moved_;
  pass_stats stats_;
  time_point now_{0};   ///< of the latest pass
  bool passed_ = false; ///< a live pass ran
  bool live_ = !cfg_.catch_up_first;
  void moved(const domain::drs::move& m, double from_load) {
    moved_[m.vm_id] = last_move{now_, m.from, from_load};
  }
};

} // namespace qx::actors::drs
