// The invariants the engine checks beyond the world's own (a VM never runs twice, no host
// beyond its overcommit): they need what the operator asked for and what DRS decided, which
// only the engine knows. Each is checked at the step it could break, and a breach is a
// violation of the run (qvdc-sim exits 1).
#include "engine.hpp"

#include <algorithm>

namespace qx::sim {

namespace {

bool rule_names(const rule_spec& r, const std::string& vm) {
  return std::find(r.vms.begin(), r.vms.end(), vm) != r.vms.end();
}

bool rule_lists(const rule_spec& r, const std::string& host) {
  return std::find(r.hosts.begin(), r.hosts.end(), host) != r.hosts.end();
}

} // namespace

/// A VM that has just started or arrived on `host` breaks no strict rule in force: not beside
/// a VM it is kept apart from, not off its must-run hosts, not on a must-not host. (Keep-
/// together is left out: a pair cannot move but one VM at a time.)
void engine::check_rules(const std::string& vm, const std::string& host) {
  for (const auto& r : rules_) {
    if (!rule_names(r, vm))
      continue;
    bool broken = false;
    if (r.kind == "must_run_on")
      broken = !rule_lists(r, host);
    else if (r.kind == "must_not_run_on")
      broken = rule_lists(r, host);
    else if (r.kind == "keep_apart")
      broken = std::any_of(r.vms.begin(), r.vms.end(), [&](const std::string& other) {
        return other != vm && world_.runs(other, host);
      });
    if (!broken)
      continue;
    std::string what = "VM ";
    what.append(vm).append(" on ").append(host).append(" breaks rule ").append(r.name);
    world_.violation(what, now_);
  }
}

/// A VM the operator stopped runs again only when the operator starts it.
void engine::check_not_stopped_by_user(const std::string& vm) {
  if (stopped_by_user_.count(vm) != 0)
    world_.violation("VM " + vm + " runs although the operator stopped it", now_);
}

/// No balancing move sends a VM back to the host it left by balancing within the hold period.
void engine::check_balance_move(const events::v1::DrsRecommended& rec) {
  if (rec.reason() != "BALANCE" || !rec.automatic())
    return;
  sim_duration hold = 2 * scenario_.drs_interval;
  for (const auto& c : scenario_.clusters)
    if (c.id == rec.cluster_id() && c.drs.hold)
      hold = *c.drs.hold;
  const auto last = last_balance_.find(rec.vm_id());
  if (last != last_balance_.end() && last->second.from == rec.target_node_id() &&
      now_ - last->second.at < hold)
    world_.violation("VM " + rec.vm_id() + " balanced back to " + rec.target_node_id() +
                         " within the hold period",
                     now_);
  last_balance_[rec.vm_id()] = balance_move{rec.source_node_id(), now_};
}

} // namespace qx::sim
