// /api/v1/clusters and /api/v1/nodes.
#include "handlers_common.hpp"

#include <qx/projections/usage.hpp>

namespace qx::api {

namespace {

using actors::cluster_aggregate;
using actors::node_aggregate;
namespace cluster = domain::cluster;
namespace node = domain::node;

result<cluster::command> cluster_create(const json& b, const path_params&) {
  cluster::create c;
  status ok = read_string(b, "name", c.name, true, 256);
  if (ok)
    ok = read_string(b, "description", c.description, false, 4096);
  if (ok)
    ok = read_message(b, "ha", c.ha);
  if (ok)
    ok = read_message(b, "drs", c.drs);
  if (!ok)
    return ok.error();
  return cluster::command{std::move(c)};
}

result<cluster::command> cluster_update(const json& b, const path_params&) {
  cluster::update u;
  std::string text;
  status ok;
  if (b.contains("name") && (ok = read_string(b, "name", text, true, 256)))
    u.name = text;
  if (ok && b.contains("description") && (ok = read_string(b, "description", text, true, 4096)))
    u.description = text;
  if (ok && b.contains("ha")) {
    events::v1::HaSettings ha;
    if ((ok = read_message(b, "ha", ha, true)))
      u.ha = ha;
  }
  if (ok && b.contains("drs")) {
    events::v1::DrsSettings drs;
    if ((ok = read_message(b, "drs", drs, true)))
      u.drs = drs;
  }
  if (!ok)
    return ok.error();
  return cluster::command{std::move(u)};
}

void cluster_usage(resource_context& ctx, const http_request&, const path_params& p,
                   responder respond) {
  const auto u = projections::usage_of(ctx.proj.inv(), p.at("id"));
  if (!u) {
    respond(not_found<cluster_aggregate>(p.at("id")));
    return;
  }
  respond(json_response(200, json{{"clusterId", u->cluster_id},
                                  {"nodes", u->nodes},
                                  {"cpu",
                                   {{"totalThreads", u->cpu_threads},
                                    {"capacityVcpus", u->cpu_capacity},
                                    {"allocatedVcpus", u->cpu_allocated}}},
                                  {"memory",
                                   {{"totalMib", u->memory_total_mib},
                                    {"capacityMib", u->memory_capacity_mib},
                                    {"allocatedMib", u->memory_allocated_mib}}},
                                  {"storage",
                                   {{"totalBytes", u->storage_total_bytes},
                                    {"allocatedBytes", u->storage_allocated_bytes}}}}));
}

result<node::command> node_register(const json& b, const path_params&) {
  node::register_node c;
  status ok = read_string(b, "hostname", c.hostname, true, 256);
  if (ok)
    ok = read_string(b, "address", c.address, true, 256);
  if (ok)
    ok = read_message(b, "hardware", c.hardware, true);
  if (!ok)
    return ok.error();
  return node::command{std::move(c)};
}

/// PATCH: a ratio left out keeps its current value (read from the inventory; If-Match
/// guards against a change in between).
void node_patch(resource_context& ctx, const http_request& req, const path_params& p,
                responder respond) {
  const auto current = ctx.proj.inv().get<node_aggregate>(p.at("id"));
  if (!current) {
    respond(not_found<node_aggregate>(p.at("id")));
    return;
  }
  const double cpu = current->state.cpu_overcommit();
  const double memory = current->state.memory_overcommit();
  command_route<node_aggregate>(
      {"cpuOvercommit", "memoryOvercommit"}, 200,
      [cpu, memory](const json& b, const path_params&) -> result<node::command> {
        node::set_overcommit c{cpu, memory};
        status ok = read_double(b, "cpuOvercommit", c.cpu_ratio);
        if (ok)
          ok = read_double(b, "memoryOvercommit", c.memory_ratio);
        if (!ok)
          return ok.error();
        return node::command{c};
      },
      {{"cpuRatio", "cpuOvercommit"}, {"memoryRatio", "memoryOvercommit"}})(ctx, req, p,
                                                                            std::move(respond));
}

result<node::command> node_disconnect(const json& b, const path_params&) {
  node::disconnect c;
  if (auto ok = read_string(b, "reason", c.reason, false, 1024); !ok)
    return ok.error();
  return node::command{std::move(c)};
}

} // namespace

void add_cluster_routes(router& r) {
  list_route<cluster_aggregate>(r, "/api/v1/clusters");
  r.add("POST", "/api/v1/clusters",
        command_route<cluster_aggregate>({"id", "name", "description", "ha", "drs"}, 201,
                                         cluster_create));
  r.add(
      "PATCH", "/api/v1/clusters/{id}",
      command_route<cluster_aggregate>({"name", "description", "ha", "drs"}, 200, cluster_update));
  r.add("DELETE", "/api/v1/clusters/{id}",
        command_route<cluster_aggregate>({}, 200, [](const json&, const path_params&) {
          return result<cluster::command>{cluster::remove{}};
        }));
  r.add("POST", "/api/v1/clusters/{id}/nodes/{nodeId}",
        command_route<cluster_aggregate>({}, 200, [](const json&, const path_params& p) {
          return result<cluster::command>{cluster::add_node{p.at("nodeId")}};
        }));
  r.add("DELETE", "/api/v1/clusters/{id}/nodes/{nodeId}",
        command_route<cluster_aggregate>({}, 200, [](const json&, const path_params& p) {
          return result<cluster::command>{cluster::remove_node{p.at("nodeId")}};
        }));
  r.add("GET", "/api/v1/clusters/{id}/usage", cluster_usage);
}

void add_node_routes(router& r) {
  list_route<node_aggregate>(r, "/api/v1/nodes");
  r.add(
      "POST", "/api/v1/nodes",
      command_route<node_aggregate>({"id", "hostname", "address", "hardware"}, 201, node_register));
  r.add("PATCH", "/api/v1/nodes/{id}", node_patch);
  r.add("DELETE", "/api/v1/nodes/{id}",
        command_route<node_aggregate>({}, 200, node_plain<node::decommission>));
  r.add("POST", "/api/v1/nodes/{id}/connect",
        command_route<node_aggregate>({}, 200, node_plain<node::connect>));
  r.add("POST", "/api/v1/nodes/{id}/disconnect",
        command_route<node_aggregate>({"reason"}, 200, node_disconnect));
  // enter-maintenance and exit-maintenance: handlers_evacuate.cpp (DRS empties a clustered node).
}

} // namespace qx::api
