// /api/v1/vms: CRUD, power actions, migration and snapshots.
#include "handlers_common.hpp"

namespace qx::api {

namespace {

using actors::vm_aggregate;
namespace vm = domain::vm;

void create_vm(resource_context& ctx, const http_request& req, const path_params&,
               responder respond) {
  with_body(req, respond, {"id", "spec"}, [&](const json& body) {
    auto id = new_id(body, req);
    vm::create cmd;
    auto ok = id ? read_message(body, "spec", cmd.spec, true) : status{id.error()};
    if (!ok) {
      respond(error_response(ok.error()));
      return;
    }
    write<vm_aggregate>(ctx, req, *id, std::move(cmd), 201, std::move(respond));
  });
}

/// A power action without a body (or with only `reason` for force-stop).
template<class Command>
auto simple_action() {
  return
      [](resource_context& ctx, const http_request& req, const path_params& p, responder respond) {
        if constexpr (std::is_same_v<Command, vm::force_stop>) {
          with_body(req, respond, {"reason"}, [&](const json& body) {
            vm::force_stop cmd;
            if (auto ok = read_string(body, "reason", cmd.reason, false, 1024); !ok) {
              respond(error_response(ok.error()));
              return;
            }
            write<vm_aggregate>(ctx, req, p.at("id"), cmd, 200, std::move(respond));
          });
        } else {
          with_body(req, respond, {}, [&](const json&) {
            write<vm_aggregate>(ctx, req, p.at("id"), Command{}, 200, std::move(respond));
          });
        }
      };
}

/// An operation's goal: the VM reaches `power` (on `node` when given); error or stopped
/// (unless wanted) fails it.
goal vm_reaches(std::string id, std::string power, std::string node = {}) {
  return [id = std::move(id), power = std::move(power),
          node = std::move(node)](const projections::inventory& inv) {
    verdict v;
    const auto r = inv.get<vm_aggregate>(id, true);
    if (!r)
      return verdict{verdict::kind::failed, 0, "NOT_FOUND", "vm " + id + " is gone"};
    const auto& s = r->state;
    if (s.power_state() == power && (node.empty() || s.node_id() == node))
      return verdict{verdict::kind::succeeded, 100, "", ""};
    // A migration that failed leaves the VM running where it was, with no target.
    if (!node.empty() && s.power_state() == power && s.migration_target().empty())
      return verdict{verdict::kind::failed, 0, "MIGRATION_FAILED",
                     "vm " + id + " stays on " + s.node_id() +
                         (s.last_reason().empty() ? std::string{} : ": " + s.last_reason())};
    // Every operation ends: a VM that errs, is deleted, or falls back to stopped while it
    // should come up (a host refused to start it) fails the operation with the reason given.
    const bool fell_back = s.power_state() == vm::power::stopped && power != vm::power::stopped;
    if (s.power_state() == vm::power::in_error || s.power_state() == vm::power::deleted ||
        fell_back)
      return verdict{verdict::kind::failed, 0, "VM_" + std::string{s.power_state()},
                     "vm " + id + " went to " + s.power_state() +
                         (s.last_reason().empty() ? std::string{} : ": " + s.last_reason())};
    v.progress = 50;
    return v;
  };
}

void respond_operation(responder& respond, const operation& op) {
  auto resp = json_response(202, to_json(op));
  resp.headers.emplace_back("Location", "/api/v1/operations/" + op.id);
  respond(std::move(resp));
}

template<class Request>
constexpr bool starts_vm = std::is_same_v<Request, actors::start_vm>;

/// The cluster whose placement rules name VM `id` ("" when none does): a start or migration
/// of it takes that cluster's scope from DRS, as DRS's and HA's own moves do.
std::string cluster_ruling(const projections::inventory& inv, const std::string& id) {
  std::string found;
  inv.for_each<actors::cluster_aggregate>([&](const auto& c) {
    for (const auto& r : c.state.rules())
      if (std::find(r.vm_ids().begin(), r.vm_ids().end(), id) != r.vm_ids().end())
        found = c.state.id();
  });
  return found;
}

/// Start and migrate: the coordinator places and reserves (within the scope the VM's rules
/// allow, when a cluster's rules name it), then an operation follows the VM.
template<class Request>
void placed_action(resource_context& ctx, const http_request& req, const path_params& p,
                   responder respond, std::string_view node_field) {
  with_body(req, respond, {node_field}, [&](const json& body) {
    auto meta = meta_of(req);
    std::string node;
    auto ok = meta ? read_string(body, node_field, node, false, 64) : status{meta.error()};
    if (!ok) {
      respond(error_response(ok.error()));
      return;
    }
    const auto id = p.at("id");
    auto send = [&ctx, id, node, respond](actors::command_meta m,
                                          actors::placement_scope scope) mutable {
      ctx.gw.send(
          Request{id, node, std::move(m), std::move(scope)},
          [&ctx, id, respond](const actors::placement_outcome& o) mutable {
            if (!o) {
              respond(error_response(o.error()));
              return;
            }
            const auto node_id = o->node_id;
            ctx.proj.when_applied(last_position(o->vm), [&ctx, id, node_id, respond]() mutable {
              auto op = ctx.ops.begin(
                  starts_vm<Request> ? "vm.start" : "vm.migrate", vm_aggregate::stream(id),
                  vm_reaches(id, vm::power::running, starts_vm<Request> ? std::string{} : node_id),
                  json{{"vmId", id}, {"nodeId", node_id}});
              respond_operation(respond, op);
            });
          });
    };
    const auto cluster = cluster_ruling(ctx.proj.inv(), id);
    if (cluster.empty()) {
      send(std::move(*meta), {});
      return;
    }
    ctx.gw.drs_scope(
        cluster, id, node,
        [send, respond, m = std::move(*meta)](result<actors::placement_scope> scope) mutable {
          if (!scope) {
            respond(error_response(scope.error()));
            return;
          }
          send(std::move(m), std::move(*scope));
        });
  });
}

void create_snapshot(resource_context& ctx, const http_request& req, const path_params& p,
                     responder respond) {
  with_body(req, respond, {"name", "description"}, [&](const json& body) {
    vm::create_snapshot cmd;
    auto ok = read_string(body, "name", cmd.name, true, 128);
    if (ok)
      ok = read_string(body, "description", cmd.description, false, 1024);
    auto meta = ok ? meta_of(req) : result<actors::command_meta>{ok.error()};
    if (!meta) {
      respond(error_response(meta.error()));
      return;
    }
    const auto id = p.at("id");
    const auto name = cmd.name;
    const bool if_match = meta->expected_version.has_value();
    ctx.gw.send(actors::command_request<vm_aggregate>{id, std::move(cmd), std::move(*meta)},
                [&ctx, id, name, if_match, respond](actors::command_outcome o) mutable {
                  if (!o) {
                    respond(error_response(o.error(), if_match));
                    return;
                  }
                  ctx.proj.when_applied(last_position(*o), [&ctx, id, name, respond]() mutable {
                    // Taking the snapshot is one durable event: the operation is done at once;
                    // it stays an operation so clients treat every snapshot the same way.
                    auto op = ctx.ops.begin(
                        "vm.snapshot", vm_aggregate::stream(id),
                        [](const projections::inventory&) {
                          return verdict{verdict::kind::succeeded, 100, "", ""};
                        },
                        json{{"vmId", id}, {"snapshot", name}});
                    respond_operation(respond, op);
                  });
                });
  });
}

/// A VM's snapshots in the order they were taken, a page at a time: pageToken is the name
/// of the last snapshot of the previous page.
void list_snapshots(resource_context& ctx, const http_request& req, const path_params& p,
                    responder respond) {
  auto page = page_of(req);
  if (!page) {
    respond(error_response(page.error()));
    return;
  }
  for (const auto& [key, value] : req.query)
    if (key != "limit" && key != "pageToken") {
      respond(error_response(
          error{errc::invalid_argument, "unknown query parameter " + key, {{"field", key}}}));
      return;
    }
  const auto r = ctx.proj.inv().get<vm_aggregate>(p.at("id"));
  if (!r) {
    respond(not_found<vm_aggregate>(p.at("id")));
    return;
  }
  const auto& snaps = r->state.snapshots();
  int from = 0;
  if (!page->after.empty()) {
    while (from < snaps.size() && snaps[from].name() != page->after)
      ++from;
    if (from == snaps.size()) {
      respond(error_response(error{errc::invalid_argument,
                                   "pageToken names no snapshot of vm " + p.at("id"),
                                   {{"field", "pageToken"}}}));
      return;
    }
    ++from;
  }
  json items = json::array();
  std::string next;
  for (int i = from; i < snaps.size(); ++i) {
    if (items.size() == page->limit) {
      next = snaps[i - 1].name();
      break;
    }
    items.push_back(to_json(snaps[i]));
  }
  auto resp = list_response(std::move(items), next);
  resp.headers.emplace_back(log_position_header, std::to_string(r->position));
  respond(std::move(resp));
}

} // namespace

void add_vm_routes(router& r) {
  r.add("GET", "/api/v1/vms",
        [](resource_context& ctx, const http_request& req, const path_params&, responder respond) {
          read_list<vm_aggregate>(ctx, req, respond);
        });
  r.add("POST", "/api/v1/vms", create_vm);
  r.add("GET", "/api/v1/vms/{id}",
        [](resource_context& ctx, const http_request& req, const path_params& p,
           responder respond) { read_one<vm_aggregate>(ctx, req, p.at("id"), respond); });
  r.add("DELETE", "/api/v1/vms/{id}", simple_action<vm::remove>());
  r.add(
      "POST", "/api/v1/vms/{id}/start",
      [](resource_context& ctx, const http_request& req, const path_params& p, responder respond) {
        placed_action<actors::start_vm>(ctx, req, p, std::move(respond), "nodeId");
      });
  r.add(
      "POST", "/api/v1/vms/{id}/migrate",
      [](resource_context& ctx, const http_request& req, const path_params& p, responder respond) {
        placed_action<actors::migrate_vm>(ctx, req, p, std::move(respond), "targetNodeId");
      });
  r.add("POST", "/api/v1/vms/{id}/stop", simple_action<vm::stop>());
  r.add("POST", "/api/v1/vms/{id}/force-stop", simple_action<vm::force_stop>());
  r.add("POST", "/api/v1/vms/{id}/reboot", simple_action<vm::reboot>());
  r.add("POST", "/api/v1/vms/{id}/pause", simple_action<vm::pause>());
  r.add("POST", "/api/v1/vms/{id}/resume", simple_action<vm::resume>());
  r.add("GET", "/api/v1/vms/{id}/snapshots", list_snapshots);
  r.add("POST", "/api/v1/vms/{id}/snapshots", create_snapshot);
  r.add(
      "DELETE", "/api/v1/vms/{id}/snapshots/{name}",
      [](resource_context& ctx, const http_request& req, const path_params& p, responder respond) {
        write<vm_aggregate>(ctx, req, p.at("id"), vm::delete_snapshot{p.at("name")}, 200,
                            std::move(respond));
      });
  r.add(
      "POST", "/api/v1/vms/{id}/snapshots/{name}/revert",
      [](resource_context& ctx, const http_request& req, const path_params& p, responder respond) {
        write<vm_aggregate>(ctx, req, p.at("id"), vm::revert_snapshot{p.at("name")}, 200,
                            std::move(respond));
      });
}

} // namespace qx::api
