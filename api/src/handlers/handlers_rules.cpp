// /api/v1/clusters/{id}/rules: a cluster's placement rules (DRS, HA and placement obey them).
// The cluster aggregate checks each rule against the cluster (its nodes, its other rules);
// here, before anything is sent: the body's shape, and that every VM the rule names exists
// and, when placed, runs in this cluster (the aggregate does not know where VMs run).
#include "handlers_common.hpp"

namespace qx::api {

namespace {

using actors::cluster_aggregate;
using actors::node_aggregate;
using actors::vm_aggregate;
namespace cluster = domain::cluster;

constexpr std::size_t max_priorities = 1000;

/// The body as a rule; the rule's name from the path when the route has one.
result<events::v1::PlacementRule> rule_of(const json& b, const path_params& p) {
  events::v1::PlacementRule r;
  json rest = b;
  rest.erase("priorities");
  if (auto ok = from_json(rest, r, ""); !ok)
    return ok.error();
  if (p.contains("ruleId")) {
    if (!r.name().empty() && r.name() != p.at("ruleId"))
      return invalid_field("name", "the body's name differs from the path's rule id");
    r.set_name(p.at("ruleId"));
  }
  if (const auto it = b.find("priorities"); it != b.end() && !it->is_null()) {
    if (!it->is_object() || it->size() > max_priorities)
      return invalid_field("priorities", "priorities is an object of node id to 0..100");
    for (const auto& [node, v] : it->items()) {
      if (!v.is_number_integer())
        return invalid_field("priorities." + node, "a priority is an integer 0..100");
      const auto n = v.get<std::int64_t>();
      if (n < 0 || n > 100)
        return invalid_field("priorities." + node, "a priority is an integer 0..100");
      (*r.mutable_priorities())[node] = static_cast<std::int32_t>(n);
    }
  }
  return r;
}

/// Every VM the rule names exists and, when placed, runs on a node of `cluster_id`.
status vms_in_cluster(const projections::inventory& inv, const std::string& cluster_id,
                      const events::v1::PlacementRule& r) {
  for (int i = 0; i < r.vm_ids_size(); ++i) {
    const auto field = "vmIds[" + std::to_string(i) + "]";
    const auto& id = r.vm_ids(i);
    const auto node = inv.read<vm_aggregate>(id, [](const auto& v) { return v.state.node_id(); });
    if (!node)
      return invalid_field(field, "VM " + id + " does not exist");
    if (node->empty())
      continue; // never placed: placement will put it in a cluster that obeys the rule
    const auto in = inv.read<node_aggregate>(
        *node, [](const auto& n) { return n.state.cluster_id(); }, true);
    if (!in || *in != cluster_id) {
      std::string why = "VM " + id;
      why += " runs on node " + *node;
      why += ", outside cluster " + cluster_id;
      return invalid_field(field, why);
    }
  }
  return {};
}

/// The domain's field names as the body spells them.
const field_renames rule_fields{{"rule.vmIds", "vmIds"},
                                {"rule.nodeIds", "nodeIds"},
                                {"rule.priorities", "priorities"},
                                {"rule.kind", "kind"},
                                {"rule.name", "name"}};

/// POST (create: 409 when the name exists) and PUT (create or replace).
void set_rule_route(resource_context& ctx, const http_request& req, const path_params& p,
                    responder respond, bool create) {
  respond = renaming_fields(std::move(respond), rule_fields);
  with_body(req, respond, {"name", "kind", "vmIds", "nodeIds", "priorities"}, [&](const json& b) {
    auto r = rule_of(b, p);
    if (!r) {
      respond(error_response(r.error()));
      return;
    }
    const auto& id = p.at("id");
    const auto c = found_or_404<cluster_aggregate>(ctx, id, respond);
    if (!c)
      return;
    if (create)
      for (const auto& existing : c->state.rules())
        if (existing.name() == r->name()) {
          respond(error_response(error{errc::already_exists,
                                       "cluster " + id + " has a rule " + r->name() +
                                           " (PUT /rules/{ruleId} replaces it)",
                                       {{"field", "name"}}}));
          return;
        }
    if (auto ok = vms_in_cluster(ctx.proj.inv(), id, *r); !ok) {
      respond(error_response(ok.error()));
      return;
    }
    write<cluster_aggregate>(ctx, req, id, cluster::set_rule{std::move(*r)}, create ? 201 : 200,
                             std::move(respond));
  });
}

json rules_json(const snapshots::v1::ClusterState& c) {
  json items = json::array();
  for (const auto& r : c.rules())
    items.push_back(to_json(r));
  return items;
}

void list_rules(resource_context& ctx, const http_request&, const path_params& p,
                responder respond) {
  const auto c = found_or_404<cluster_aggregate>(ctx, p.at("id"), respond);
  if (!c)
    return;
  respond(json_response(200, json{{"items", rules_json(c->state)}}));
}

void get_rule(resource_context& ctx, const http_request&, const path_params& p, responder respond) {
  const auto c = found_or_404<cluster_aggregate>(ctx, p.at("id"), respond);
  if (!c)
    return;
  for (const auto& r : c->state.rules())
    if (r.name() == p.at("ruleId")) {
      respond(json_response(200, to_json(r)));
      return;
    }
  respond(error_response(error{errc::not_found,
                               "cluster " + p.at("id") + " has no rule " + p.at("ruleId"),
                               {{"id", p.at("ruleId")}}}));
}

} // namespace

void add_rule_routes(router& r) {
  r.add("GET", "/api/v1/clusters/{id}/rules", list_rules);
  r.add("POST", "/api/v1/clusters/{id}/rules",
        [](resource_context& ctx, const http_request& req, const path_params& p,
           responder respond) { set_rule_route(ctx, req, p, std::move(respond), true); });
  r.add("GET", "/api/v1/clusters/{id}/rules/{ruleId}", get_rule);
  r.add("PUT", "/api/v1/clusters/{id}/rules/{ruleId}",
        [](resource_context& ctx, const http_request& req, const path_params& p,
           responder respond) { set_rule_route(ctx, req, p, std::move(respond), false); });
  r.add("DELETE", "/api/v1/clusters/{id}/rules/{ruleId}",
        command_route<cluster_aggregate>({}, 200, [](const json&, const path_params& p) {
          return result<cluster::command>{cluster::remove_rule{p.at("ruleId")}};
        }));
}

} // namespace qx::api
