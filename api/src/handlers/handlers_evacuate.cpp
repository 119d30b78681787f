// POST /api/v1/nodes/{id}/evacuate: live-migrates every VM off a node, as vCenter does before
// maintenance and Proxmox's bulk migrate. DRS's planner picks each target
// (domain::drs::plan_evacuation, the planner of DRS's own maintenance moves, with the cluster's
// rules) among the node's cluster, or among the other standalone nodes when it is in none; the
// answer is a 202 operation that follows the node and the VMs until each has left or failed.
//
// POST /api/v1/nodes/{id}/enter-maintenance and exit-maintenance of a node in a cluster go to
// DRS itself (vCenter's maintenance mode): it records the request, sends the VMs away with the
// cluster's rules, puts the node in maintenance once empty, and brings the VMs back after the
// exit. A standalone node (or a server without DRS) takes the node's own command.
#include "handlers_common.hpp"

#include <qx/actors/domain/cluster_view.hpp>
#include <qx/actors/domain/drs.hpp>

#include <map>
#include <mutex>
#include <set>

namespace qx::api {

namespace {

using actors::cluster_aggregate;
using actors::node_aggregate;
using actors::storage_pool_aggregate;
using actors::vm_aggregate;
using actors::volume_aggregate;
namespace drs = domain::drs;
namespace vm = domain::vm;

/// A VM that could not be asked to leave, and why.
struct refusal {
  std::string vm_id;
  std::string code;
  std::string message;
};

/// What the node holds when the request comes: VMs to migrate and where, VMs already leaving,
/// refusals.
struct evacuation_plan {
  std::vector<drs::move> moves;
  std::vector<std::string> leaving;
  std::vector<refusal> refused;
};

/// The nodes the VMs may go to, the node itself last: its cluster's members, or the standalone
/// nodes when it is in no cluster. An evacuation keeps VMs where DRS would: a cluster's rules,
/// admission and balance are its own.
std::vector<domain::node::state> group_of(const projections::inventory& inv,
                                          const domain::node::state& self) {
  std::vector<domain::node::state> out;
  if (!self.cluster_id().empty()) {
    std::vector<std::string> ids;
    if (const auto c = inv.get<cluster_aggregate>(self.cluster_id()))
      ids.assign(c->state.node_ids().begin(), c->state.node_ids().end());
    for (const auto& id : ids)
      if (const auto n = inv.get<node_aggregate>(id); n && id != self.id())
        out.push_back(n->state);
  } else {
    inv.for_each<node_aggregate>([&](const projections::resource<node_aggregate>& r) {
      if (r.state.cluster_id().empty() && r.state.id() != self.id())
        out.push_back(r.state);
    });
  }
  out.push_back(self);
  return out;
}

/// The VMs holding capacity on `nodes`, read once: what the node holds is classified and planned
/// from the same states.
std::map<std::string, vm::state> vms_on(const projections::inventory& inv,
                                        const std::vector<domain::node::state>& nodes) {
  std::map<std::string, vm::state> out;
  for (const auto& n : nodes)
    for (const auto& [vm_id, allocation] : n.allocations())
      if (!out.contains(vm_id))
        if (auto r = inv.get<vm_aggregate>(vm_id))
          out.emplace(vm_id, std::move(r->state));
  return out;
}

/// Sorts out what the planner does not move: VMs already leaving, and VMs that cannot be asked
/// to (arriving, not running).
void sort_out(const std::map<std::string, vm::state>& vms, const domain::node::state& self,
              evacuation_plan& plan) {
  for (const auto& [vm_id, allocation] : self.allocations()) {
    const auto it = vms.find(vm_id);
    if (it == vms.end())
      continue; // a reservation whose VM is gone holds nothing that can move
    const auto& s = it->second;
    if (s.node_id() != self.id()) {
      plan.refused.push_back({vm_id, "VM_ARRIVING", "vm " + vm_id + " is migrating to this node"});
    } else if (s.power_state() == vm::power::migrating) {
      plan.leaving.push_back(vm_id);
    } else if (s.power_state() != vm::power::running) {
      plan.refused.push_back(
          {vm_id, "INVALID_POWER_STATE",
           "vm " + vm_id + " is " + s.power_state() + ", only running VMs move"});
    }
    // Running: the planner gives it a target or says why there is none.
  }
}

/// The planner's facts: each node as placement sees it (state, allocation, pools) with its
/// physical size, each VM holding capacity on one of them. With no telemetry here, a VM's demand
/// is its allocation. The node's VMs that cannot live-migrate (paused, starting, stopping) are
/// left out: the planner would find them a place they never take, and count it against it.
struct evacuation_facts {
  std::vector<drs::host> hosts;
  std::vector<drs::vm> vms;
};

evacuation_facts facts_of(const projections::inventory& inv,
                          const std::vector<domain::node::state>& nodes,
                          const std::map<std::string, vm::state>& vms, const std::string& node_id) {
  std::map<std::string, std::set<std::string>> pools_of_node;
  inv.for_each<storage_pool_aggregate>([&](const projections::resource<storage_pool_aggregate>& r) {
    for (const auto& n : r.state.node_ids())
      pools_of_node[n].insert(r.state.id());
  });
  evacuation_facts out;
  std::set<std::string> ids;
  for (const auto& n : nodes) {
    ids.insert(n.id());
    drs::host h;
    h.node = {n.id(),
              n.state(),
              domain::node::cpu_capacity(n),
              domain::node::allocated_vcpus(n),
              domain::node::memory_capacity_mib(n),
              domain::node::allocated_memory_mib(n),
              pools_of_node[n.id()]};
    h.cpu_threads = n.hardware().cpu_threads();
    h.memory_mib = static_cast<double>(n.hardware().memory_mib());
    out.hosts.push_back(std::move(h));
  }
  for (const auto& [id, s] : vms) {
    const bool migrating = s.power_state() == vm::power::migrating;
    if (!domain::cluster_view::holds_capacity(s.power_state()) || !ids.contains(s.node_id()) ||
        (s.node_id() == node_id && !migrating && s.power_state() != vm::power::running))
      continue;
    drs::vm v;
    v.id = id;
    v.host_id = s.node_id();
    v.vcpus = s.spec().vcpus();
    v.memory_mib = s.spec().memory_mib();
    v.cpu_demand = v.vcpus;
    v.memory_demand_mib = static_cast<double>(v.memory_mib);
    for (const auto& volume : s.spec().volume_ids())
      if (auto pool = inv.read<volume_aggregate>(
              volume,
              [](const projections::resource<volume_aggregate>& r) { return r.state.pool_id(); }))
        v.pool_ids.insert(std::move(*pool));
    v.migrating = migrating;
    out.vms.push_back(std::move(v));
  }
  return out;
}

/// The evacuation of `self`, planned by DRS's planner with its cluster's rules.
evacuation_plan plan_of(const projections::inventory& inv, const domain::node::state& self) {
  const auto nodes = group_of(inv, self);
  const auto vms = vms_on(inv, nodes);
  evacuation_plan plan;
  sort_out(vms, self, plan);
  const auto facts = facts_of(inv, nodes, vms, self.id());
  std::vector<drs::rule> rules;
  if (const auto c = inv.get<cluster_aggregate>(self.cluster_id()); c && !self.cluster_id().empty())
    for (const auto& r : c->state.rules())
      rules.push_back(domain::cluster_view::rule_of(r));
  auto planned = drs::plan_evacuation(facts.hosts, facts.vms, rules, self.id());
  const auto where = self.cluster_id().empty() ? std::string{"no other standalone node"}
                                               : "no other node of cluster " + self.cluster_id();
  for (const auto& [vm_id, why] : planned.stuck) {
    auto message = where;
    message.append(" can take vm ").append(vm_id);
    plan.refused.push_back({vm_id, why, std::move(message)});
  }
  plan.moves = std::move(planned.moves);
  return plan;
}

/// Where a leaving VM stands: still on the way, gone from the node, or back on it.
enum class departure : std::uint8_t { pending, left, failed };

departure departure_of(const projections::inventory& inv, const std::string& vm_id,
                       const std::string& node_id) {
  const auto r = inv.get<vm_aggregate>(vm_id, true);
  if (!r)
    return departure::left;
  const auto& s = r->state;
  if (s.power_state() == vm::power::in_error)
    return departure::failed;
  if (s.node_id() != node_id || s.power_state() == vm::power::stopped ||
      s.power_state() == vm::power::deleted || s.power_state() == vm::power::defined)
    return departure::left;
  if (s.power_state() == vm::power::migrating)
    return departure::pending;
  return departure::failed; // back on the node: the migration failed
}

goal evacuation_goal(std::string node_id, std::vector<std::string> leaving,
                     std::vector<refusal> refused) {
  return [node_id = std::move(node_id), leaving = std::move(leaving),
          refused = std::move(refused)](const projections::inventory& inv) {
    std::size_t left = 0;
    std::vector<std::string> failed;
    for (const auto& id : leaving) {
      const auto d = departure_of(inv, id, node_id);
      if (d == departure::pending)
        continue;
      if (d == departure::left)
        ++left;
      else
        failed.push_back(id);
    }
    const auto total = leaving.size() + refused.size();
    if (left + failed.size() < leaving.size())
      return verdict{verdict::kind::pending,
                     static_cast<int>(left * 99 / std::max<std::size_t>(total, 1)), "", ""};
    if (failed.empty() && refused.empty())
      return verdict{verdict::kind::succeeded, 100, "", ""};
    std::string which;
    for (const auto& id : failed)
      which += (which.empty() ? "" : ", ") + id + " (migration failed)";
    for (const auto& r : refused)
      which += (which.empty() ? "" : ", ") + r.vm_id + " (" + r.code + ")";
    return verdict{verdict::kind::failed, 100, "EVACUATION_INCOMPLETE",
                   std::to_string(failed.size() + refused.size()) + " of " + std::to_string(total) +
                       " VMs did not leave node " + node_id + ": " + which};
  };
}

/// Collects the migrate replies, which arrive on actor threads in any order.
struct evacuation_run {
  std::mutex mutex;
  std::size_t waiting = 0;
  std::uint64_t last_position = 0;
  evacuation_plan plan;
  json moves = json::array();
};

void begin_operation(resource_context& ctx, const std::string& node_id,
                     const std::shared_ptr<evacuation_run>& run, responder respond) {
  ctx.proj.when_applied(run->last_position, [&ctx, node_id, run, respond]() mutable {
    auto& plan = run->plan;
    json refused = json::array();
    for (const auto& r : plan.refused)
      refused.push_back(json{{"vmId", r.vm_id}, {"code", r.code}, {"message", r.message}});
    std::vector<std::string> streams;
    for (const auto& id : plan.leaving)
      streams.push_back(vm_aggregate::stream(id));
    auto op = ctx.ops.begin("node.evacuate", node_aggregate::stream(node_id),
                            evacuation_goal(node_id, plan.leaving, plan.refused),
                            json{{"nodeId", node_id}, {"moves", run->moves}, {"refused", refused}},
                            std::move(streams));
    auto resp = json_response(202, to_json(op));
    resp.headers.emplace_back("Location", "/api/v1/operations/" + op.id);
    respond(std::move(resp));
  });
}

void evacuate(resource_context& ctx, const http_request& req, const path_params& p,
              responder respond) {
  with_body(req, respond, {}, [&](const json&) {
    const auto& node_id = p.at("id");
    const auto node = ctx.proj.inv().get<node_aggregate>(node_id);
    if (!node) {
      respond(not_found<node_aggregate>(node_id));
      return;
    }
    if (node->state.state() == domain::node::states::disconnected) {
      respond(error_response(409, "NODE_DISCONNECTED",
                             "node " + node_id + " is disconnected: its VMs cannot live-migrate",
                             json{{"id", node_id}}));
      return;
    }
    auto meta = meta_of(req);
    if (!meta) {
      respond(error_response(meta.error()));
      return;
    }
    auto run = std::make_shared<evacuation_run>();
    run->plan = plan_of(ctx.proj.inv(), node->state);
    run->waiting = run->plan.moves.size();
    run->last_position = node->position;
    if (run->waiting == 0) {
      begin_operation(ctx, node_id, run, std::move(respond));
      return;
    }
    for (const auto& m : run->plan.moves) {
      const auto& vm_id = m.vm_id;
      ctx.gw.send(actors::migrate_vm{vm_id, m.to, *meta, {}}, [&ctx, node_id, vm_id, run, respond](
                                                                  actors::placement_outcome o) {
        {
          std::lock_guard lock{run->mutex};
          if (o) {
            run->plan.leaving.push_back(vm_id);
            run->moves.push_back(json{{"vmId", vm_id}, {"targetNodeId", o->node_id}});
            run->last_position = std::max(run->last_position, last_position(o->vm));
          } else {
            const auto& e = o.error();
            const auto reason = e.details.find("reason");
            run->plan.refused.push_back(
                {vm_id, reason != e.details.end() ? reason->second : std::string{to_string(e.code)},
                 e.message});
          }
          if (--run->waiting > 0)
            return;
        }
        begin_operation(ctx, node_id, run, respond);
      });
    }
  });
}

/// Where a node's maintenance stands: entered (or left), still under way, or impossible now.
goal maintenance_goal(std::string node_id, bool enable, std::size_t holding) {
  return [node_id = std::move(node_id), enable, holding](const projections::inventory& inv) {
    const auto n = inv.get<node_aggregate>(node_id, true);
    if (!n || n->state.state() == domain::node::states::decommissioned)
      return verdict{verdict::kind::failed, 100, "NOT_FOUND", "node " + node_id + " is gone"};
    const auto& state = n->state.state();
    if (enable && state == domain::node::states::maintenance)
      return verdict{verdict::kind::succeeded, 100, "", ""};
    if (!enable && state != domain::node::states::maintenance)
      return verdict{verdict::kind::succeeded, 100, "", ""};
    if (state == domain::node::states::disconnected)
      return verdict{verdict::kind::failed, 100, "NODE_DOWN",
                     "node " + node_id + " disconnected before its maintenance " +
                         (enable ? "began" : "ended")};
    const auto left = holding - std::min(holding, n->state.allocations().size());
    return verdict{verdict::kind::pending,
                   static_cast<int>(left * 99 / std::max<std::size_t>(holding, 1)), "", ""};
  };
}

void begin_maintenance(resource_context& ctx, const domain::node::state& node, bool enable,
                       const actors::command_meta& meta, responder respond) {
  const auto& node_id = node.id();
  const auto holding = node.allocations().size();
  ctx.gw.drs_maintenance(
      node_id, enable, meta.principal, [&ctx, node_id, enable, holding, respond](const status& s) {
        if (!s) {
          respond(error_response(s.error()));
          return;
        }
        auto op = ctx.ops.begin(enable ? "node.enter-maintenance" : "node.exit-maintenance",
                                node_aggregate::stream(node_id),
                                maintenance_goal(node_id, enable, holding),
                                json{{"nodeId", node_id}, {"vmsOnNode", holding}});
        auto resp = json_response(202, to_json(op));
        resp.headers.emplace_back("Location", "/api/v1/operations/" + op.id);
        respond(std::move(resp));
      });
}

template<class Command, bool Enable>
void maintenance(resource_context& ctx, const http_request& req, const path_params& p,
                 responder respond) {
  static const auto own_command = command_route<node_aggregate>({}, 200, node_plain<Command>);
  const auto node = ctx.proj.inv().get<node_aggregate>(p.at("id"));
  if (!node || node->state.cluster_id().empty() || !ctx.gw.has_drs()) {
    own_command(ctx, req, p, std::move(respond));
    return;
  }
  with_body(req, respond, {}, [&](const json&) {
    auto meta = meta_of(req);
    if (!meta) {
      respond(error_response(meta.error()));
      return;
    }
    if (meta->expected_version && *meta->expected_version != node->version) {
      respond(error_response(412, "PRECONDITION_FAILED",
                             "node " + node->state.id() + " is at version " +
                                 std::to_string(node->version) + ", not " +
                                 std::to_string(*meta->expected_version),
                             json{{"field", "If-Match"}}));
      return;
    }
    begin_maintenance(ctx, node->state, Enable, *meta, std::move(respond));
  });
}

} // namespace

void add_evacuation_routes(router& r) {
  r.add("POST", "/api/v1/nodes/{id}/evacuate", evacuate);
  r.add("POST", "/api/v1/nodes/{id}/enter-maintenance",
        maintenance<domain::node::enter_maintenance, true>);
  r.add("POST", "/api/v1/nodes/{id}/exit-maintenance",
        maintenance<domain::node::exit_maintenance, false>);
}

} // namespace qx::api
