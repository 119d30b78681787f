#pragma once

// The HA reactor's logic, without actors or clock. It folds the log into a cluster view, keeps
// each node's last heartbeat, and on every tick:
//
// - a node whose lease lapsed is suspect: recorded, and the node is marked disconnected;
// - after the lease and the fencing bound (its agent has stopped its VMs by then) the node is
//   failed: recorded with the VMs the log had there, each recorded stopped (HOST_FAILED), and
//   the protected ones queued for restart;
// - queued VMs restart by priority: a tier starts once every VM of the tier above runs, or
//   `tier_delay` after the tier above was started; each restart goes where the HA rules put it
//   (capacity, must/must-not/apart rules, should-run nodes first); a start that fails or does
//   not confirm within `start_timeout` is retried elsewhere, up to `max_restarts`, then the VM
//   is recorded left down and put in error (which raises an alert);
// - a node heard from again is recovered and reconnected.
//
// A host shut down on purpose follows its cluster's policy: freeze (its VMs stay down and start
// again on it when it returns), failover (restart elsewhere now: the shutdown stopped them
// cleanly, no lease to wait for) or migrate (the caller asks DRS to evacuate the host into
// maintenance first; nodes in maintenance are not watched).

#include "qx/actors/aggregates.hpp"
#include "qx/actors/domain/cluster_view.hpp"
#include "qx/actors/domain/ha.hpp"
#include "qx/actors/messages.hpp"

#include <qx/events/types.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace qx::actors::ha {

using domain::ha::time_point;

inline constexpr const char* principal = "system:ha";

struct config {
  domain::ha::lease_settings lease;
  domain::ha::restart_settings restart;
  std::chrono::milliseconds tier_delay{std::chrono::minutes{2}};
  std::chrono::milliseconds start_timeout{std::chrono::minutes{5}};
  /// Fold the log without acting until go_live(): a server replaying its log at start must
  /// not restart VMs for failures the log already resolved (the simulator starts live).
  bool catch_up_first = false;
};

/// What a tick asks the actor to do, in this order: append the records (stream
/// "ha-<cluster>"), send the node and VM commands, then the starts.
struct actions {
  std::vector<events::append_request> records;
  std::vector<command_request<node_aggregate>> node_commands;
  std::vector<command_request<vm_aggregate>> vm_commands;
  std::vector<start_vm> starts;
  [[nodiscard]] bool empty() const {
    return records.empty() && node_commands.empty() && vm_commands.empty() && starts.empty();
  }
};

/// One node's lease as GET /clusters/{id}/ha shows it.
struct node_lease {
  std::string node_id;
  /// alive, suspect (lease lapsed), failed (lease + fence bound lapsed: its agent has
  /// stopped its protected VMs; they restart elsewhere), off (shut down on purpose),
  /// maintenance (not watched).
  std::string state;
  std::optional<std::chrono::milliseconds> heard_ago; ///< nullopt: never heard since start
};

/// A protected VM waiting for (or in) its restart.
struct queued_restart {
  std::string vm_id;
  std::int32_t priority = 0;
  std::uint32_t attempts = 0;
  bool in_flight = false;
  std::string target;      ///< the node of the restart in flight
  std::string failed_node; ///< where it ran
  std::string down_reason; ///< why it waits (NO_SUITABLE_NODE, ADMISSION ...), once recorded
};

/// A cluster's HA as GET /clusters/{id}/ha shows it.
struct cluster_status {
  bool enabled = false;
  std::string admission_policy;
  std::uint32_t host_failures_to_tolerate = 0;
  std::uint32_t reserved_cpu_percent = 0;
  std::uint32_t reserved_memory_percent = 0;
  std::string shutdown_policy;
  std::chrono::milliseconds lease{0};
  std::chrono::milliseconds fence_bound{0};
  std::vector<node_lease> nodes;
  std::vector<queued_restart> queue; ///< highest priority first
  /// VMs HA gave up on (MAX_RESTARTS ...) and why, until they run again.
  std::vector<std::pair<std::string, std::string>> left_down;
  bool admits_more = true; ///< admission control would still admit a small VM
  /// What the VMs hold exceeds what survives the tolerated failures (HaAdmissionChanged).
  bool admission_breached = false;
  bool live = false;
};

class controller {
 public:
  explicit controller(config cfg = {}) : cfg_(cfg) {}

  void on_event(const events::recorded_event& e);
  void on_heartbeat(const std::string& node_id, time_point at);
  /// A start HA asked for was refused; the VM is retried on the next tick.
  void on_start_refused(const std::string& vm_id, const std::string& node_id);

  /// The log has been replayed up to its head: act from now on (see config::catch_up_first).
  void go_live() { live_ = true; }
  [[nodiscard]] bool live() const { return live_; }
  [[nodiscard]] actions tick(time_point now);
  /// Node `node_id` is being shut down on purpose, now.
  [[nodiscard]] actions host_shutdown(const std::string& node_id, time_point now);
  /// Admission control for a start of this size in `cluster_id` (true when HA is off).
  [[nodiscard]] bool admits(const std::string& cluster_id, std::uint32_t vcpus,
                            std::uint64_t memory_mib) const;

  [[nodiscard]] const domain::cluster_view& view() const { return view_; }
  [[nodiscard]] std::size_t queued() const { return queue_.size(); }
  /// The cluster's leases, restart queue and admission now; NOT_FOUND for an unknown cluster.
  [[nodiscard]] result<cluster_status> status_of(const std::string& cluster_id,
                                                 time_point now) const;

 private:
  struct queued_vm {
    std::string cluster_id;
    std::string failed_node;
    std::int32_t priority = 0;
    std::uint32_t attempts = 0;
    bool in_flight = false;
    std::string target;
    time_point started_at{0};
    bool reported_down = false;
    bool seen_down = false;     ///< the log has recorded it stopped since it was queued
    bool seen_starting = false; ///< the log has shown the current restart attempt
    std::string only_node;      ///< freeze: restart on this node only
    std::string down_reason;    ///< why it was recorded left down, once it was
  };
  static queued_vm queued(std::string cluster_id, std::string failed_node, std::int32_t priority) {
    queued_vm q;
    q.cluster_id = std::move(cluster_id);
    q.failed_node = std::move(failed_node);
    q.priority = priority;
    return q;
  }

  void node_health(const std::string& node_id, const domain::cluster_view::node_info& node,
                   time_point now, actions& out);
  void fail_node(const std::string& node_id, const std::string& cluster_id, time_point last,
                 const std::string& reason, actions& out);
  void restart_queued(time_point now, actions& out);
  void plan_group(const std::string& cluster_id, const std::string& only_node,
                  std::vector<domain::ha::protected_vm> candidates, time_point now, actions& out);
  void track_in_flight(time_point now, actions& out);
  void give_up(const std::string& vm_id, const std::string& reason, actions& out);
  /// While replaying the log at start: HA's own decisions and what became of them, so that a
  /// restarted server resumes the restarts of a failed node's VMs still down, keeps a failed
  /// node failed until it is heard from, and remembers the VMs it gave up on.
  void replay(const events::recorded_event& e);
  /// After changes to nodes, clusters or VMs: records each cluster whose admission verdict
  /// flipped (HaAdmissionChanged), so an alert is raised or cleared.
  void check_admission(actions& out);

  /// What HA knows of one node's lease. One record per node, found by one hash lookup: the
  /// tick visits every node every few seconds (four ordered containers cost 30 % of a
  /// simulated day at 800 hosts).
  struct node_track {
    time_point last_heartbeat{0};
    bool seen = false; ///< heard from, or given its first lease
    bool suspected = false;
    bool failed = false;
    /// Shut down on purpose at this time: failed until heard from after it.
    std::optional<time_point> powered_off;
  };
  [[nodiscard]] bool unavailable(const std::string& node_id) const; ///< suspected or failed
  [[nodiscard]] bool failed(const std::string& node_id) const;

  config cfg_;
  domain::cluster_view view_;
  std::unordered_map<std::string, node_track> tracks_;
  bool check_all_ = true;          ///< visit every node on the next tick (see tick())
  bool admission_due_ = true;      ///< the view changed since admission was last checked
  std::set<std::string> breached_; ///< clusters whose admission is breached (as recorded)
  /// VMs HA gave up on: vm id -> (cluster, reason), until they run again.
  std::map<std::string, std::pair<std::string, std::string>> left_down_;
  bool live_ = !cfg_.catch_up_first;
  std::map<std::string, queued_vm> queue_; ///< vm id ->
};

} // namespace qx::actors::ha
