#pragma once

// What the DRS and HA reactors know of the datacenter: a read model they fold from the event
// log (nodes, their cluster, state, capacity and pools; VMs, their node, power state, size,
// restart priority and pools; clusters and their settings). Pure: `apply` takes one recorded
// event, so the reactors, the simulator and the tests feed it the same way.

#include "qx/actors/domain/drs.hpp"
#include "qx/actors/domain/placement.hpp"

#include <qx/events/types.hpp>
#include <qx/events/v1/cluster.pb.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace qx::domain {

class cluster_view {
 public:
  struct node_info {
    std::string cluster_id;
    std::string state; ///< connected, disconnected, maintenance, decommissioned
    std::uint32_t cpu_threads = 0;
    std::uint64_t memory_mib = 0;
    double cpu_ratio = 4.0;
    double memory_ratio = 1.0;
    std::set<std::string> pool_ids;
  };
  struct vm_info {
    std::string node_id; ///< where it runs or last ran; empty when never placed
    std::string power;   ///< the VM aggregate's power state
    std::string migration_target;
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::int32_t ha_priority = 0; ///< 0: not protected; 1 lowest .. 5 highest
    std::vector<std::string> volume_ids;
  };
  struct cluster_info {
    events::v1::HaSettings ha;
    events::v1::DrsSettings drs;
    std::set<std::string> node_ids;
    std::vector<drs::rule> rules; ///< as the log set them, in the order first set
  };

  /// A recorded placement rule as the planners take it (an unknown kind reads as keep_apart;
  /// the cluster aggregate records none).
  [[nodiscard]] static drs::rule rule_of(const events::v1::PlacementRule& r);
  /// The rules of `cluster_id` (none for an unknown cluster).
  [[nodiscard]] const std::vector<drs::rule>& rules_of(const std::string& cluster_id) const;
  /// Folds one event in; types it does not know are ignored.
  void apply(const events::recorded_event& e);

  [[nodiscard]] const std::map<std::string, node_info>& nodes() const { return nodes_; }
  [[nodiscard]] const std::map<std::string, vm_info>& vms() const { return vms_; }
  [[nodiscard]] const std::map<std::string, cluster_info>& clusters() const { return clusters_; }
  [[nodiscard]] std::uint64_t position() const { return position_; }

  /// The cluster a VM belongs to: its node's cluster (empty when unplaced or standalone).
  [[nodiscard]] std::string cluster_of_vm(const std::string& vm_id) const;
  /// True when the VM holds capacity on its node (starting, running, paused, stopping,
  /// migrating).
  [[nodiscard]] static bool holds_capacity(const std::string& power);
  /// The pools a VM's volumes live on.
  [[nodiscard]] std::set<std::string> pools_of(const vm_info& vm) const;

  /// The nodes of a cluster as placement sees them, allocations counted from the VMs.
  [[nodiscard]] std::vector<placement::node_view> node_views(const std::string& cluster_id) const;

  /// The cluster's hosts and VMs as the DRS planner wants them; `demand` gives each VM's
  /// measured (cpu vCPUs busy, memory MiB touched); a VM without a measure counts as idle.
  struct drs_facts {
    std::vector<drs::host> hosts;
    std::vector<drs::vm> vms;
  };
  [[nodiscard]] drs_facts
  drs_input(const std::string& cluster_id,
            const std::map<std::string, std::pair<double, double>>& demand) const;

 private:
  std::map<std::string, node_info> nodes_;
  std::map<std::string, vm_info> vms_;
  std::map<std::string, cluster_info> clusters_;
  std::map<std::string, std::string> volume_pool_;
  /// node id -> the VMs whose node or migration target it is: node_views and drs_input visit
  /// a cluster's VMs without walking every VM of the datacenter.
  std::map<std::string, std::set<std::string>> vms_by_node_;
  std::uint64_t position_ = 0;

  void relocate(const std::string& vm_id, vm_info& vm, std::string node_id, std::string target);
};

} // namespace qx::domain
