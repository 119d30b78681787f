#pragma once

// DRS, the pure part: given a cluster's hosts, its VMs with their measured demand, its rules
// and settings, what to move now. No actors, no clock: the DRS actor (and the simulator)
// gather the facts, call plan(), and turn each move into a migrate command with its reason.
//
// The model is the one of VMware's DRS paper: a host's load is demand / capacity (the larger
// of CPU and memory), the cluster's imbalance is the standard deviation of its hosts' loads,
// and a migration threshold 1..5 sets how much imbalance is tolerated. Moves are chosen
// greedily: the candidate with the best score (imbalance gained minus a cost that grows with
// the VM's memory, which a live migration copies) until the target is met, the gain is too
// small, or a per-pass or concurrency limit is reached. Mandatory moves come first: VMs on a
// host entering maintenance, and VMs breaking a must rule. Deterministic: ties go to the
// smaller VM id, then the smaller host id. plan_evacuation() is the same mandatory moves for
// one host an operator evacuates (the API's POST /nodes/{id}/evacuate), without the limits:
// one planner decides where evacuated VMs go, whoever asked.

#include "qx/actors/domain/placement.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace qx::domain::drs {

struct host {
  placement::node_view node; ///< state, allocation-based admission, pools (as placement)
  double cpu_threads = 0;    ///< physical capacity for CPU demand
  double memory_mib = 0;     ///< physical capacity for memory demand
  /// Maintenance was asked for: its VMs must leave (the node enters maintenance once empty).
  bool evacuate = false;
};

struct vm {
  std::string id;
  std::string host_id;
  std::uint32_t vcpus = 0;        ///< allocation, checked against the target's capacity
  std::uint64_t memory_mib = 0;   ///< allocation; also what a migration copies
  double cpu_demand = 0;          ///< vCPUs busy, measured
  double memory_demand_mib = 0;   ///< memory touched, measured
  std::set<std::string> pool_ids; ///< the target must reach these pools
  bool migrating = false;         ///< already moving: counted against the limits, not moved
  /// Moved within the hold period: no balancing move takes it again (mandatory moves may).
  bool settling = false;
  /// The host it last left and that host's load then: balancing never sends it back there
  /// unless that load has changed by more than `settings::return_margin` (no A→B→A).
  std::string left_host;
  double left_host_load = 0;
};

enum class rule_kind : std::uint8_t {
  keep_together,   ///< the VMs run on one host
  keep_apart,      ///< no two of the VMs on one host
  must_run_on,     ///< the VMs run on one of the hosts
  must_not_run_on, ///< the VMs never run on these hosts
  should_run_on,   ///< preferred hosts: moving away costs `should_penalty`
};

struct rule {
  std::string name;
  rule_kind kind = rule_kind::keep_apart;
  std::vector<std::string> vm_ids;
  std::set<std::string> host_ids;
  /// should_run_on: each listed host's priority (absent: 0); higher is preferred.
  std::map<std::string, std::int32_t> priorities{};
};

/// Whether `vm_id` on `node_id` breaks strict rule `r` (one naming it), given where the
/// rule's other VMs are: `holds(other, node)` when VM `other` holds capacity on `node` (runs,
/// starts or migrates there), `placed(other)` when it holds capacity anywhere. should_run_on
/// is a preference and never breaks. The one definition every path that places a VM uses:
/// placement's scope, the DRS planner, HA's restarts and evacuation.
template<class Holds, class Placed>
[[nodiscard]] bool breaks(const rule& r, const std::string& vm_id, const std::string& node_id,
                          Holds&& holds, Placed&& placed) {
  const auto any_other = [&](auto&& pred) {
    for (const auto& other : r.vm_ids)
      if (other != vm_id && pred(other))
        return true;
    return false;
  };
  switch (r.kind) {
  case rule_kind::must_run_on:
    return !r.host_ids.contains(node_id);
  case rule_kind::must_not_run_on:
    return r.host_ids.contains(node_id);
  case rule_kind::keep_apart:
    return any_other([&](const std::string& o) { return holds(o, node_id); });
  case rule_kind::keep_together:
    return any_other([&](const std::string& o) { return placed(o) && !holds(o, node_id); });
  case rule_kind::should_run_on:
    return false;
  }
  return false;
}

/// Whether rule `r` names `vm_id`.
[[nodiscard]] bool names(const rule& r, const std::string& vm_id);

/// How much should-run-on rule `r` wants a VM on `node_id`: 0 when the rule does not list the
/// node, else 1 + the node's priority in the rule.
[[nodiscard]] std::int32_t rank_in(const rule& r, const std::string& node_id);

/// The highest rank_in() over `vm_id`'s should-run-on rules (0 without one): placement, HA
/// and DRS put a VM on the highest rank that fits, and fail-back brings it back there.
[[nodiscard]] std::int32_t rank(const std::vector<rule>& rules, const std::string& vm_id,
                                const std::string& node_id);

/// `vm_id`'s keep-apart and keep-together peers with their rules' names, for the
/// coordinator's own check against the nodes' reservations.
[[nodiscard]] placement::peers peers_of(const std::vector<rule>& rules, const std::string& vm_id);

struct settings {
  std::uint32_t threshold = 3; ///< 1 conservative (mandatory moves only) .. 5
  std::size_t max_moves_per_pass = 8;
  std::size_t max_concurrent_per_host = 2; ///< migrations in or out of one host at once
  std::size_t max_concurrent_per_cluster = 8;
  // A balancing move's score: how much it narrows the load gap between its source and its
  // target (|L_from - L_to| - |L'_from - L'_to|, host-load units), minus its cost, plus the
  // should-run-on preference. It depends on those two hosts only, so the limits mean the same
  // in a cluster of 8 hosts or of 800.
  double min_gain = 0.01;      ///< a balancing move must score at least this much
  double cost_per_gib = 0.001; ///< migration cost per GiB of VM memory
  double should_penalty = 0.1; ///< moving to a lower-ranked should_run_on host
  /// Fail-back: a VM not on its highest-ranked host that can take it moves there (reason
  /// "FAIL_BACK:<rule>"), after the mandatory moves and within the same limits.
  bool fail_back = true;
  /// How much the load of the host a VM left must have changed before balancing may send the
  /// VM back there.
  double return_margin = 0.1;
};

/// The imbalance a threshold tolerates: 1 none is acted on, 5 almost none.
[[nodiscard]] double target_imbalance(std::uint32_t threshold);

struct move {
  std::string vm_id;
  std::string from;
  std::string to;
  std::string reason; ///< "BALANCE", "MAINTENANCE", "RULE:<rule name>", "FAIL_BACK:<rule>"
  double imbalance_before = 0;
  double imbalance_after = 0;
  double score = 0; ///< gap narrowed minus cost, plus preference (0 for mandatory moves)
};

struct pass {
  double imbalance_before = 0;
  double imbalance_after = 0;
  double target = 0;
  std::vector<move> moves;
  /// Why the pass ended: TARGET_MET, NO_GAIN, PASS_LIMIT, CONCURRENCY_LIMIT, DISABLED (threshold
  /// 1 after the mandatory moves), NO_HOSTS.
  std::string stopped;
  /// Mandatory moves that found no target: vm id -> reason.
  std::map<std::string, std::string> stuck;
  /// Each host's load before the pass (what a VM leaving it remembers).
  std::map<std::string, double> host_loads;
};

/// A host's load: max(CPU demand / threads, memory demand / memory) of the VMs on it.
[[nodiscard]] double load_of(const host& h, const std::vector<vm>& vms);

/// The standard deviation of the loads of the hosts that take VMs (connected, not in
/// maintenance).
[[nodiscard]] double imbalance(const std::vector<host>& hosts, const std::vector<vm>& vms);

/// What DRS would do now. Nothing is changed: the what-if call and the actor both use it.
[[nodiscard]] pass plan(const std::vector<host>& hosts, const std::vector<vm>& vms,
                        const std::vector<rule>& rules, const settings& s);

/// Where an operator's evacuation of one host sends each of its VMs.
struct evacuation {
  double imbalance_before = 0; ///< of the hosts that take VMs (the evacuated one no longer does)
  double imbalance_after = 0;
  /// Each VM of the host (not migrating already) that found a target: reason "MAINTENANCE", in
  /// VM id order.
  std::vector<move> moves;
  /// The VMs no host can take: vm id -> NO_SUITABLE_HOST.
  std::map<std::string, std::string> stuck;
};

/// Plans the evacuation of host `node_id` (POST /nodes/{id}/evacuate): the host is treated as
/// `evacuate`, and each of its VMs that is not migrating already is given a target exactly as
/// plan()'s mandatory moves are (same order, admission checks, rules, least imbalance left), or
/// is named stuck. Only that host's VMs move: not those of other evacuating hosts, nor VMs
/// breaking a rule elsewhere (the next DRS pass mends those).
///
/// Unlike plan(), no per-pass or concurrency limit applies, so no settings are taken: as with
/// vCenter's maintenance mode the operator asked for every VM to leave, and limits throttle how
/// many migrations run at once, they never refuse a VM. The planner counts every move it makes
/// against its targets' capacity, so the whole plan fits whatever order it runs in; throttling
/// is the caller's (DRS's own passes apply the limits to these same moves a few at a time).
/// `node_id` not among `hosts`: nothing moves.
[[nodiscard]] evacuation plan_evacuation(const std::vector<host>& hosts, const std::vector<vm>& vms,
                                         const std::vector<rule>& rules,
                                         const std::string& node_id);

} // namespace qx::domain::drs
