// /api/v1/clusters/{id}/drs and /ha: what the DRS and HA reactors know and decide, read from
// them (not from the read models: their state is theirs), and DRS's recommendations applied
// or rejected under the caller's principal. Durations are milliseconds (the reactors count on
// the actor clock, not the wall clock).
#include "handlers_common.hpp"

namespace qx::api {

namespace {

using actors::cluster_aggregate;

json ms_or_null(const std::optional<std::chrono::milliseconds>& d) {
  return d ? json(d->count()) : json(nullptr);
}

json move_json(const domain::drs::move& m) {
  return json{{"vmId", m.vm_id},
              {"from", m.from},
              {"to", m.to},
              {"reason", m.reason},
              {"imbalanceBefore", m.imbalance_before},
              {"imbalanceAfter", m.imbalance_after},
              {"score", m.score}};
}

/// Runs `f` when cluster `id` exists (404 otherwise): the reactors' answers for an unknown
/// cluster would be empty, not an error.
template<class F>
void with_cluster(resource_context& ctx, const path_params& p, responder& respond, F&& f) {
  if (found_or_404<cluster_aggregate>(ctx, p.at("id"), respond))
    f(p.at("id"));
}

void drs_status(resource_context& ctx, const http_request&, const path_params& p,
                responder respond) {
  with_cluster(ctx, p, respond, [&](const std::string& id) {
    ctx.gw.drs_status(id, [id, respond](result<actors::drs::cluster_status> s) {
      if (!s) {
        respond(error_response(s.error()));
        return;
      }
      respond(json_response(200, json{{"clusterId", id},
                                      {"enabled", s->enabled},
                                      {"automation", s->automation},
                                      {"migrationThreshold", s->threshold},
                                      {"imbalance", s->imbalance},
                                      {"targetImbalance", s->target},
                                      {"aboveTargetForMs", ms_or_null(s->above_for)},
                                      {"holdMs", s->hold.count()},
                                      {"lastPassAgoMs", ms_or_null(s->last_pass_ago)},
                                      {"nextPassInMs", s->next_pass_in.count()},
                                      {"pendingRecommendations", s->pending},
                                      {"live", s->live}}));
    });
  });
}

void drs_recommendations(resource_context& ctx, const http_request&, const path_params& p,
                         responder respond) {
  with_cluster(ctx, p, respond, [&](const std::string& id) {
    ctx.gw.drs_pending(id, [respond](result<std::vector<actors::drs::recommendation>> r) {
      if (!r) {
        respond(error_response(r.error()));
        return;
      }
      json items = json::array();
      for (const auto& rec : *r) {
        auto j = move_json(rec.move);
        j["id"] = rec.id;
        j["clusterId"] = rec.cluster_id;
        j["sourceLoad"] = rec.source_load;
        items.push_back(std::move(j));
      }
      respond(json_response(200, json{{"items", std::move(items)}}));
    });
  });
}

void drs_decide(resource_context& ctx, const http_request& req, const path_params& p,
                responder respond, bool apply) {
  with_body(req, respond, {}, [&](const json&) {
    with_cluster(ctx, p, respond, [&](const std::string& id) {
      auto meta = meta_of(req);
      if (!meta) {
        respond(error_response(meta.error()));
        return;
      }
      const auto rid = p.at("rid");
      ctx.gw.drs_decide(apply, id, rid, meta->principal, [rid, apply, respond](const status& s) {
        if (!s) {
          respond(error_response(s.error()));
          return;
        }
        respond(json_response(200, json{{"id", rid}, {"status", apply ? "applied" : "rejected"}}));
      });
    });
  });
}

void drs_what_if(resource_context& ctx, const http_request& req, const path_params& p,
                 responder respond) {
  with_body(req, respond, {}, [&](const json&) {
    with_cluster(ctx, p, respond, [&](const std::string& id) {
      ctx.gw.drs_what_if(id, [respond](result<domain::drs::pass> r) {
        if (!r) {
          respond(error_response(r.error()));
          return;
        }
        json moves = json::array();
        for (const auto& m : r->moves)
          moves.push_back(move_json(m));
        json stuck = json::object();
        for (const auto& [vm, why] : r->stuck)
          stuck[vm] = why;
        respond(json_response(200, json{{"imbalanceBefore", r->imbalance_before},
                                        {"imbalanceAfter", r->imbalance_after},
                                        {"targetImbalance", r->target},
                                        {"moves", std::move(moves)},
                                        {"stopped", r->stopped},
                                        {"stuck", std::move(stuck)}}));
      });
    });
  });
}

void ha_status(resource_context& ctx, const http_request&, const path_params& p,
               responder respond) {
  with_cluster(ctx, p, respond, [&](const std::string& id) {
    ctx.gw.ha_status(id, [id, respond](result<actors::ha::cluster_status> s) {
      if (!s) {
        respond(error_response(s.error()));
        return;
      }
      json nodes = json::array();
      for (const auto& n : s->nodes)
        nodes.push_back(
            {{"nodeId", n.node_id}, {"state", n.state}, {"heardAgoMs", ms_or_null(n.heard_ago)}});
      json queue = json::array();
      for (const auto& q : s->queue)
        queue.push_back({{"vmId", q.vm_id},
                         {"priority", q.priority},
                         {"attempts", q.attempts},
                         {"inFlight", q.in_flight},
                         {"targetNodeId", q.target},
                         {"failedNodeId", q.failed_node},
                         {"downReason", q.down_reason}});
      json down = json::array();
      for (const auto& [vm, why] : s->left_down)
        down.push_back({{"vmId", vm}, {"reason", why}});
      respond(json_response(200, json{{"clusterId", id},
                                      {"enabled", s->enabled},
                                      {"leaseMs", s->lease.count()},
                                      {"fenceBoundMs", s->fence_bound.count()},
                                      {"shutdownPolicy", s->shutdown_policy},
                                      {"nodes", std::move(nodes)},
                                      {"restartQueue", std::move(queue)},
                                      {"admission",
                                       {{"policy", s->admission_policy},
                                        {"hostFailuresToTolerate", s->host_failures_to_tolerate},
                                        {"reservedCpuPercent", s->reserved_cpu_percent},
                                        {"reservedMemoryPercent", s->reserved_memory_percent},
                                        {"admitsMore", s->admits_more},
                                        {"breached", s->admission_breached}}},
                                      {"leftDown", std::move(down)},
                                      {"live", s->live}}));
    });
  });
}

} // namespace

void add_drs_routes(router& r) {
  r.add("GET", "/api/v1/clusters/{id}/drs", drs_status);
  r.add("GET", "/api/v1/clusters/{id}/drs/recommendations", drs_recommendations);
  r.add("POST", "/api/v1/clusters/{id}/drs/recommendations/{rid}/apply",
        [](resource_context& ctx, const http_request& req, const path_params& p,
           responder respond) { drs_decide(ctx, req, p, std::move(respond), true); });
  r.add("POST", "/api/v1/clusters/{id}/drs/recommendations/{rid}/reject",
        [](resource_context& ctx, const http_request& req, const path_params& p,
           responder respond) { drs_decide(ctx, req, p, std::move(respond), false); });
  r.add("POST", "/api/v1/clusters/{id}/drs/what-if", drs_what_if);
  r.add("GET", "/api/v1/clusters/{id}/ha", ha_status);
}

} // namespace qx::api
