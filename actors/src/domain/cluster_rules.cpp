// A cluster's placement rules as the cluster aggregate checks them: each rule alone (its
// kind, VMs, nodes and priorities), then against the cluster's other strict rules (a rule
// that contradicts one is refused naming it). Whether the VMs belong to the cluster is the
// API's check (the aggregate does not know where VMs run).
#include "qx/actors/domain/cluster.hpp"

#include <algorithm>
#include <set>

namespace qx::domain::cluster {

namespace {

using events::v1::PlacementRule;

constexpr int max_rule_vms = 1000;
constexpr int max_rule_nodes = 1000;
constexpr int max_node_priority = 100;

bool names_hosts(const std::string& kind) {
  return kind == "must_run_on" || kind == "must_not_run_on" || kind == "should_run_on";
}

std::set<std::string> shared_vms(const PlacementRule& a, const PlacementRule& b) {
  std::set<std::string> in_a{a.vm_ids().begin(), a.vm_ids().end()};
  std::set<std::string> both;
  for (const auto& vm : b.vm_ids())
    if (in_a.contains(vm))
      both.insert(vm);
  return both;
}

/// `field`: what of the new rule collides (its VMs, or its nodes).
error contradiction(const PlacementRule& r, const PlacementRule& other, const std::string& field,
                    const std::string& why) {
  return error{errc::invalid_argument,
               "rule " + r.name() + " contradicts rule " + other.name() + ": " + why,
               {{"field", field}, {"reason", "RULE_CONFLICT"}, {"conflicts_with", other.name()}}};
}

/// The nodes VM `vm` may run on under must_run_on / must_not_run_on rules `rules` (all the
/// cluster's nodes when no must_run_on names it).
std::set<std::string> allowed_nodes(const state& s, const std::vector<const PlacementRule*>& rules,
                                    const std::string& vm) {
  std::set<std::string> allowed{s.node_ids().begin(), s.node_ids().end()};
  for (const auto* r : rules) {
    if (std::find(r->vm_ids().begin(), r->vm_ids().end(), vm) == r->vm_ids().end())
      continue;
    if (r->kind() == "must_run_on") {
      std::set<std::string> keep;
      for (const auto& n : r->node_ids())
        if (allowed.contains(n))
          keep.insert(n);
      allowed = std::move(keep);
    } else if (r->kind() == "must_not_run_on") {
      for (const auto& n : r->node_ids())
        allowed.erase(n);
    }
  }
  return allowed;
}

} // namespace

status check_rule(const state& s, const PlacementRule& r) {
  if (auto ok = check_name("rule.name", r.name(), 80); !ok)
    return ok;
  static const std::set<std::string> kinds{"keep_together", "keep_apart", "must_run_on",
                                           "must_not_run_on", "should_run_on"};
  if (!kinds.contains(r.kind()))
    return invalid_field("rule.kind", "kind must be keep_together, keep_apart, must_run_on, "
                                      "must_not_run_on or should_run_on");
  const bool vm_vm = !names_hosts(r.kind());
  if (r.vm_ids_size() < (vm_vm ? 2 : 1) || r.vm_ids_size() > max_rule_vms)
    return invalid_field("rule.vm_ids", vm_vm ? "a VM-VM rule names 2 to 1000 VMs"
                                              : "a VM-host rule names 1 to 1000 VMs");
  std::set<std::string> vms;
  for (int i = 0; i < r.vm_ids_size(); ++i) {
    const auto field = "rule.vm_ids[" + std::to_string(i) + "]";
    if (auto ok = check_name(field, r.vm_ids(i), 64); !ok)
      return ok;
    if (!vms.insert(r.vm_ids(i)).second)
      return invalid_field(field, "VM " + r.vm_ids(i) + " is named twice");
  }
  if (vm_vm && (r.node_ids_size() > 0 || !r.priorities().empty()))
    return invalid_field("rule.node_ids", "a VM-VM rule names no nodes");
  if (!vm_vm && (r.node_ids_size() < 1 || r.node_ids_size() > max_rule_nodes))
    return invalid_field("rule.node_ids", "a VM-host rule names 1 to 1000 nodes");
  std::set<std::string> nodes;
  for (int i = 0; i < r.node_ids_size(); ++i) {
    const auto field = "rule.node_ids[" + std::to_string(i) + "]";
    const auto& n = r.node_ids(i);
    if (std::find(s.node_ids().begin(), s.node_ids().end(), n) == s.node_ids().end())
      return invalid_field(field, "node " + n + " is not a member of cluster " + s.id());
    if (!nodes.insert(n).second)
      return invalid_field(field, "node " + n + " is named twice");
  }
  if (!r.priorities().empty() && r.kind() != "should_run_on")
    return invalid_field("rule.priorities", "only should_run_on rules take node priorities");
  for (const auto& [n, p] : r.priorities()) {
    if (!nodes.contains(n))
      return invalid_field("rule.priorities",
                           "priority for node " + n + ", which the rule does not name");
    if (p < 0 || p > max_node_priority)
      return invalid_field("rule.priorities", "a node's priority is 0 to 100");
  }
  // Against the other strict rules (the one replaced by the same name excluded).
  std::vector<const PlacementRule*> others;
  for (const auto& o : s.rules())
    if (o.name() != r.name())
      others.push_back(&o);
  for (const auto* o : others) {
    const bool opposite = (r.kind() == "keep_apart" && o->kind() == "keep_together") ||
                          (r.kind() == "keep_together" && o->kind() == "keep_apart");
    if (opposite && shared_vms(r, *o).size() >= 2)
      return contradiction(r, *o, "rule.vm_ids", "it keeps together VMs the other keeps apart");
  }
  if (r.kind() == "must_run_on" || r.kind() == "must_not_run_on") {
    auto with = others;
    with.push_back(&r);
    for (const auto& vm : r.vm_ids())
      if (allowed_nodes(s, with, vm).empty()) {
        for (const auto* o : others)
          if ((o->kind() == "must_run_on" || o->kind() == "must_not_run_on") &&
              std::find(o->vm_ids().begin(), o->vm_ids().end(), vm) != o->vm_ids().end())
            return contradiction(r, *o, "rule.node_ids",
                                 "VM " + vm + " would have no node it may run on");
        return invalid_field("rule.node_ids",
                             "VM " + vm + " would have no node of the cluster it may run on");
      }
  }
  return {};
}

} // namespace qx::domain::cluster
