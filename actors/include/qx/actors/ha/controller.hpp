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
#include <set>
#include <string>
#include <vector>

namespace qx::actors::ha {

using domain::ha::time_point;

inline constexpr const char* principal = "system:ha";

struct config {
  domain::ha::lease_settings lease;
  domain::ha::restart_settings restart;
  std::chrono::milliseconds tier_delay{std::chrono::minutes{2}};
  std::chrono::milliseconds start_timeout{std::chrono::minutes{5}};
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

class controller {
 public:
  explicit controller(config cfg = {}) : cfg_(cfg) {}

  void on_event(const events::recorded_event& e);
  void on_heartbeat(const std::string& node_id, time_point at);
  /// A start HA asked for was refused; the VM is retried on the next tick.
  void on_start_refused(const std::string& vm_id, const std::string& node_id);
  void set_rules(const std::string& cluster_id, std::vector<domain::drs::rule> rules);
  /// "freeze", "failover" or "migrate" for hosts of `cluster_id` shut down on purpose.
  void set_shutdown_policy(const std::string& cluster_id, std::string policy);

  [[nodiscard]] actions tick(time_point now);
  /// Node `node_id` is being shut down on purpose, now.
  [[nodiscard]] actions host_shutdown(const std::string& node_id, time_point now);
  /// Admission control for a start of this size in `cluster_id` (true when HA is off).
  [[nodiscard]] bool admits(const std::string& cluster_id, std::uint32_t vcpus,
                            std::uint64_t memory_mib) const;

  [[nodiscard]] const domain::cluster_view& view() const { return view_; }
  [[nodiscard]] std::size_t queued() const { return queue_.size(); }

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

  config cfg_;
  domain::cluster_view view_;
  std::map<std::string, time_point> last_heartbeat_;
  std::set<std::string> suspected_;
  std::set<std::string> failed_;
  std::map<std::string, queued_vm> queue_; ///< vm id ->
  std::map<std::string, std::vector<domain::drs::rule>> rules_;
  std::map<std::string, std::string> shutdown_policy_;
  /// Hosts shut down on purpose, and when: failed until heard from after that.
  std::map<std::string, time_point> powered_off_;
};

} // namespace qx::actors::ha
