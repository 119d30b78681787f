// POST /api/v1/nodes/{id}/evacuate: live-migrates every VM off a node, as vCenter does before
// maintenance and Proxmox's bulk migrate. Placement picks each target (never the node itself);
// the answer is a 202 operation that follows the node and the VMs until each has left or failed.
#include "handlers_common.hpp"

#include <mutex>

namespace qx::api {

namespace {

using actors::node_aggregate;
using actors::vm_aggregate;
namespace vm = domain::vm;

/// A VM that could not be asked to leave, and why.
struct refusal {
  std::string vm_id;
  std::string code;
  std::string message;
};

/// What the node holds when the request comes: VMs to migrate, VMs already leaving, refusals.
struct evacuation_plan {
  std::vector<std::string> to_migrate;
  std::vector<std::string> leaving;
  std::vector<refusal> refused;
};

evacuation_plan plan_of(const projections::inventory& inv, const domain::node::state& node) {
  evacuation_plan plan;
  for (const auto& [vm_id, allocation] : node.allocations()) {
    const auto r = inv.get<vm_aggregate>(vm_id);
    if (!r)
      continue; // a reservation whose VM is gone holds nothing that can move
    const auto& s = r->state;
    if (s.node_id() != node.id()) {
      plan.refused.push_back({vm_id, "VM_ARRIVING", "vm " + vm_id + " is migrating to this node"});
    } else if (s.power_state() == vm::power::migrating) {
      plan.leaving.push_back(vm_id);
    } else if (s.power_state() == vm::power::running) {
      plan.to_migrate.push_back(vm_id);
    } else {
      plan.refused.push_back(
          {vm_id, "INVALID_POWER_STATE",
           "vm " + vm_id + " is " + s.power_state() + ", only running VMs move"});
    }
  }
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

void begin_operation(api_context& ctx, const std::string& node_id,
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

void evacuate(api_context& ctx, const http_request& req, const path_params& p, responder respond) {
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
    run->waiting = run->plan.to_migrate.size();
    run->last_position = node->position;
    if (run->waiting == 0) {
      begin_operation(ctx, node_id, run, std::move(respond));
      return;
    }
    for (const auto& vm_id : run->plan.to_migrate) {
      ctx.gw.send(actors::migrate_vm{vm_id, "", *meta}, [&ctx, node_id, vm_id, run,
                                                         respond](actors::placement_outcome o) {
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

} // namespace

void add_evacuation_routes(router& r) {
  r.add("POST", "/api/v1/nodes/{id}/evacuate", evacuate);
}

} // namespace qx::api
