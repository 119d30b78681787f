#include "qx/actors/domain/cluster_view.hpp"

#include <algorithm>

#include <qx/events/v1/node.pb.h>
#include <qx/events/v1/storage.pb.h>
#include <qx/events/v1/vm.pb.h>

#include <qx/events/text_fields.hpp>
#include <string_view>
#include <utility>

namespace qx::domain {

namespace {

namespace v1 = events::v1;

/// Runs `f` on the payload when the event is of `type`; true when the type matched.
template<class M, class F>
bool when(const events::recorded_event& e, std::string_view type, F&& f) {
  if (e.type != type)
    return false;
  M msg;
  if (qx::events::parse_message(msg, e.payload))
    std::forward<F>(f)(msg);
  return true;
}

} // namespace

// One branch per event type that changes what the reactors see; the rest is ignored.
void cluster_view::apply(const events::recorded_event& e) {
  position_ = e.position;
  static_cast<void>(
      when<v1::VmPowerStateChanged>(e, "qx.events.v1.VmPowerStateChanged",
                                    [&](const v1::VmPowerStateChanged& ev) {
                                      auto& vm = vms_[ev.id()];
                                      vm.power = ev.to();
                                      relocate(ev.id(), vm, ev.node_id(), {});
                                    }) ||
      when<v1::VmMigrationStarted>(e, "qx.events.v1.VmMigrationStarted",
                                   [&](const v1::VmMigrationStarted& ev) {
                                     auto& vm = vms_[ev.id()];
                                     vm.power = "migrating";
                                     relocate(ev.id(), vm, vm.node_id, ev.target_node_id());
                                   }) ||
      when<v1::VmMigrated>(e, "qx.events.v1.VmMigrated",
                           [&](const v1::VmMigrated& ev) {
                             auto& vm = vms_[ev.id()];
                             vm.power = "running";
                             relocate(ev.id(), vm, ev.target_node_id(), {});
                           }) ||
      when<v1::VmMigrationFailed>(e, "qx.events.v1.VmMigrationFailed",
                                  [&](const v1::VmMigrationFailed& ev) {
                                    auto& vm = vms_[ev.id()];
                                    vm.power = "running";
                                    relocate(ev.id(), vm, vm.node_id, {});
                                  }) ||
      when<v1::VmCreated>(e, "qx.events.v1.VmCreated",
                          [&](const v1::VmCreated& ev) {
                            auto& vm = vms_[ev.id()];
                            vm.power = "defined";
                            vm.vcpus = ev.spec().vcpus();
                            vm.memory_mib = ev.spec().memory_mib();
                            vm.ha_priority = ev.spec().ha_restart_priority();
                            vm.volume_ids.assign(ev.spec().volume_ids().begin(),
                                                 ev.spec().volume_ids().end());
                          }) ||
      when<v1::VmDeleted>(e, "qx.events.v1.VmDeleted",
                          [&](const v1::VmDeleted& ev) {
                            if (auto vm = vms_.find(ev.id()); vm != vms_.end()) {
                              relocate(ev.id(), vm->second, {}, {});
                              vms_.erase(vm);
                            }
                          }) ||
      when<v1::NodeRegistered>(e, "qx.events.v1.NodeRegistered",
                               [&](const v1::NodeRegistered& ev) {
                                 auto& n = nodes_[ev.id()];
                                 n.state = "connected";
                                 n.cpu_threads = ev.hardware().cpu_threads();
                                 n.memory_mib = ev.hardware().memory_mib();
                               }) ||
      when<v1::NodeStateChanged>(
          e, "qx.events.v1.NodeStateChanged",
          [&](const v1::NodeStateChanged& ev) { nodes_[ev.id()].state = ev.to(); }) ||
      when<v1::NodeOvercommitSet>(e, "qx.events.v1.NodeOvercommitSet",
                                  [&](const v1::NodeOvercommitSet& ev) {
                                    auto& n = nodes_[ev.id()];
                                    n.cpu_ratio = ev.cpu_ratio();
                                    n.memory_ratio = ev.memory_ratio();
                                  }) ||
      when<v1::ClusterCreated>(e, "qx.events.v1.ClusterCreated",
                               [&](const v1::ClusterCreated& ev) {
                                 auto& c = clusters_[ev.id()];
                                 c.ha = ev.ha();
                                 c.drs = ev.drs();
                               }) ||
      when<v1::ClusterUpdated>(e, "qx.events.v1.ClusterUpdated",
                               [&](const v1::ClusterUpdated& ev) {
                                 auto& c = clusters_[ev.id()];
                                 c.ha = ev.ha();
                                 c.drs = ev.drs();
                               }) ||
      when<v1::ClusterRuleSet>(e, "qx.events.v1.ClusterRuleSet",
                               [&](const v1::ClusterRuleSet& ev) {
                                 auto& rules = clusters_[ev.cluster_id()].rules;
                                 auto r = rule_of(ev.rule());
                                 for (auto& old : rules)
                                   if (old.name == r.name) {
                                     old = std::move(r);
                                     return;
                                   }
                                 rules.push_back(std::move(r));
                               }) ||
      when<v1::ClusterRuleRemoved>(e, "qx.events.v1.ClusterRuleRemoved",
                                   [&](const v1::ClusterRuleRemoved& ev) {
                                     auto& rules = clusters_[ev.cluster_id()].rules;
                                     std::erase_if(rules, [&](const drs::rule& r) {
                                       return r.name == ev.name();
                                     });
                                   }) ||
      when<v1::ClusterDeleted>(e, "qx.events.v1.ClusterDeleted",
                               [&](const v1::ClusterDeleted& ev) { clusters_.erase(ev.id()); }) ||
      when<v1::ClusterNodeAdded>(e, "qx.events.v1.ClusterNodeAdded",
                                 [&](const v1::ClusterNodeAdded& ev) {
                                   clusters_[ev.cluster_id()].node_ids.insert(ev.node_id());
                                   nodes_[ev.node_id()].cluster_id = ev.cluster_id();
                                 }) ||
      when<v1::ClusterNodeRemoved>(e, "qx.events.v1.ClusterNodeRemoved",
                                   [&](const v1::ClusterNodeRemoved& ev) {
                                     clusters_[ev.cluster_id()].node_ids.erase(ev.node_id());
                                     if (auto it = nodes_.find(ev.node_id());
                                         it != nodes_.end() &&
                                         it->second.cluster_id == ev.cluster_id())
                                       it->second.cluster_id.clear();
                                   }) ||
      when<v1::StoragePoolAssigned>(e, "qx.events.v1.StoragePoolAssigned",
                                    [&](const v1::StoragePoolAssigned& ev) {
                                      nodes_[ev.node_id()].pool_ids.insert(ev.pool_id());
                                    }) ||
      when<v1::StoragePoolUnassigned>(e, "qx.events.v1.StoragePoolUnassigned",
                                      [&](const v1::StoragePoolUnassigned& ev) {
                                        nodes_[ev.node_id()].pool_ids.erase(ev.pool_id());
                                      }) ||
      when<v1::VolumeCreated>(e, "qx.events.v1.VolumeCreated", [&](const v1::VolumeCreated& ev) {
        volume_pool_[ev.id()] = ev.pool_id();
      }));
}

std::string cluster_view::cluster_of_vm(const std::string& vm_id) const {
  const auto vm = vms_.find(vm_id);
  if (vm == vms_.end() || vm->second.node_id.empty())
    return {};
  const auto node = nodes_.find(vm->second.node_id);
  return node == nodes_.end() ? std::string{} : node->second.cluster_id;
}

bool cluster_view::holds_capacity(const std::string& power) {
  return power == "starting" || power == "running" || power == "paused" || power == "stopping" ||
         power == "migrating";
}

std::set<std::string> cluster_view::pools_of(const vm_info& vm) const {
  std::set<std::string> out;
  for (const auto& vol : vm.volume_ids)
    if (auto it = volume_pool_.find(vol); it != volume_pool_.end())
      out.insert(it->second);
  return out;
}

drs::rule cluster_view::rule_of(const events::v1::PlacementRule& r) {
  drs::rule out;
  out.name = r.name();
  const auto& k = r.kind();
  out.kind = k == "keep_together"     ? drs::rule_kind::keep_together
             : k == "must_run_on"     ? drs::rule_kind::must_run_on
             : k == "must_not_run_on" ? drs::rule_kind::must_not_run_on
             : k == "should_run_on"   ? drs::rule_kind::should_run_on
                                      : drs::rule_kind::keep_apart;
  out.vm_ids.assign(r.vm_ids().begin(), r.vm_ids().end());
  out.host_ids.insert(r.node_ids().begin(), r.node_ids().end());
  out.priorities.insert(r.priorities().begin(), r.priorities().end());
  return out;
}

const std::vector<drs::rule>& cluster_view::rules_of(const std::string& cluster_id) const {
  static const std::vector<drs::rule> none;
  const auto c = clusters_.find(cluster_id);
  return c == clusters_.end() ? none : c->second.rules;
}

void cluster_view::relocate(const std::string& vm_id, vm_info& vm, std::string node_id,
                            std::string target) {
  for (const auto* old : {&vm.node_id, &vm.migration_target})
    if (!old->empty())
      if (auto it = vms_by_node_.find(*old); it != vms_by_node_.end()) {
        it->second.erase(vm_id);
        if (it->second.empty())
          vms_by_node_.erase(it);
      }
  vm.node_id = std::move(node_id);
  vm.migration_target = std::move(target);
  for (const auto* now : {&vm.node_id, &vm.migration_target})
    if (!now->empty())
      vms_by_node_[*now].insert(vm_id);
}

std::vector<placement::node_view> cluster_view::node_views(const std::string& cluster_id) const {
  const auto cluster = clusters_.find(cluster_id);
  if (cluster == clusters_.end())
    return {};
  std::vector<placement::node_view> out;
  out.reserve(cluster->second.node_ids.size());
  for (const auto& id : cluster->second.node_ids) {
    const auto n = nodes_.find(id);
    if (n == nodes_.end())
      continue;
    const auto& info = n->second;
    placement::node_view view{id,
                              info.state,
                              info.cpu_threads * info.cpu_ratio,
                              0,
                              static_cast<double>(info.memory_mib) * info.memory_ratio,
                              0,
                              info.pool_ids};
    // A migrating VM holds capacity on its source and its target until the move ends.
    if (const auto here = vms_by_node_.find(id); here != vms_by_node_.end())
      for (const auto& vm_id : here->second)
        if (const auto vm = vms_.find(vm_id);
            vm != vms_.end() && holds_capacity(vm->second.power)) {
          view.cpu_allocated += vm->second.vcpus;
          view.memory_allocated_mib += vm->second.memory_mib;
        }
    out.push_back(std::move(view));
  }
  return out;
}

cluster_view::drs_facts
cluster_view::drs_input(const std::string& cluster_id,
                        const std::map<std::string, std::pair<double, double>>& demand) const {
  drs_facts out;
  for (auto& view : node_views(cluster_id)) {
    const auto& info = nodes_.at(view.id);
    drs::host h;
    h.cpu_threads = info.cpu_threads;
    h.memory_mib = static_cast<double>(info.memory_mib);
    h.node = std::move(view);
    out.hosts.push_back(std::move(h));
  }
  // The VMs running (or starting, migrating away) on the cluster's nodes, in id order as the
  // planner has always seen them (its ties break by order).
  std::vector<std::map<std::string, vm_info>::const_iterator> here;
  for (const auto& h : out.hosts)
    if (const auto on = vms_by_node_.find(h.node.id); on != vms_by_node_.end())
      for (const auto& vm_id : on->second)
        if (const auto vm = vms_.find(vm_id);
            vm != vms_.end() && vm->second.node_id == h.node.id && holds_capacity(vm->second.power))
          here.push_back(vm);
  std::sort(here.begin(), here.end(),
            [](const auto& a, const auto& b) { return a->first < b->first; });
  for (const auto& it : here) {
    const auto& [id, vm] = *it;
    drs::vm v;
    v.id = id;
    v.host_id = vm.node_id;
    v.vcpus = vm.vcpus;
    v.memory_mib = vm.memory_mib;
    if (auto d = demand.find(id); d != demand.end()) {
      v.cpu_demand = d->second.first;
      v.memory_demand_mib = d->second.second;
    }
    v.pool_ids = pools_of(vm);
    v.migrating = vm.power == "migrating";
    out.vms.push_back(std::move(v));
  }
  return out;
}

} // namespace qx::domain
