// Node agents: registering a host by its token (POST /api/v1/nodes/discover, the control
// plane calls the host), a host joining by a token the control plane issued (POST
// /api/v1/nodes/registration-tokens, then the host's POST /api/v1/nodes/register), and the
// state of a node's agent session (GET /api/v1/nodes/{id}/agent).
#include "event_json.hpp"
#include "handlers_common.hpp"
#include "node_discovery.hpp"

#include <qx/net/url.hpp>
#include <qx/security/secrets.hpp>

namespace qx::api {

namespace {

using actors::cluster_aggregate;
using actors::node_aggregate;
namespace node = domain::node;

/// A token's expiry as the API writes every time (event_json's rfc3339).
std::string expiry(std::chrono::system_clock::time_point t) {
  return rfc3339(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

http_response discovery_error(const error& e) {
  auto r = error_response(e);
  r.status = discovery_status(e);
  return r;
}

/// A node id from a host name: lower case, [a-z0-9-], at most 64 characters.
std::string id_from_hostname(const std::string& hostname) {
  std::string id;
  for (const char c : hostname) {
    if (id.size() == 64)
      break;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
      id += c;
    else if (c >= 'A' && c <= 'Z')
      id += static_cast<char>(c - 'A' + 'a');
    else if (c == '.')
      break; // the short name
  }
  return id;
}

struct host_facts {
  std::string hostname;
  std::string address;
  std::string cpu_model;
  std::uint32_t cores = 0;
  std::uint32_t threads = 0;
  std::uint64_t memory_mib = 0;
};

/// Registers the node (with the hash of a fresh agent key) and, once the read models show it,
/// calls `then(key, node id)`; answers errors itself.
void register_node(agent_context& ctx, const http_request& req, const std::string& id,
                   const host_facts& h, const std::string& cluster_id, responder respond,
                   std::function<void(const std::string& key)> then) {
  if (auto ok = check_id("nodeId", id); !ok) {
    respond(error_response(ok.error()));
    return;
  }
  auto meta = meta_of(req);
  if (!meta) {
    respond(error_response(meta.error()));
    return;
  }
  const auto key = security::random_token(32);
  node::register_node c;
  c.hostname = h.hostname;
  c.address = h.address;
  c.hardware.set_cpu_model(h.cpu_model);
  c.hardware.set_cpu_cores(std::max<std::uint32_t>(1, h.cores));
  c.hardware.set_cpu_threads(std::max(h.threads, std::max<std::uint32_t>(1, h.cores)));
  c.hardware.set_memory_mib(h.memory_mib);
  c.agent_key_sha256 = security::sha256_hex(key);
  auto cluster_meta = *meta;
  ctx.gw.send(
      actors::command_request<node_aggregate>{id, node::command{std::move(c)}, std::move(*meta)},
      [&ctx, id, key, cluster_id, cluster_meta, respond, then](actors::command_outcome o) {
        if (!o) {
          respond(error_response(o.error()));
          return;
        }
        const auto joined = [&ctx, key, then](std::uint64_t position) {
          ctx.proj.when_applied(position, [key, then] { then(key); });
        };
        if (cluster_id.empty()) {
          joined(last_position(*o));
          return;
        }
        ctx.gw.send(
            actors::command_request<cluster_aggregate>{
                cluster_id, domain::cluster::command{domain::cluster::add_node{id}}, cluster_meta},
            [respond, joined, id, cluster_id](actors::command_outcome added) {
              if (!added) {
                auto e = added.error();
                e.details["nodeId"] = id;
                e.message = "node " + id + " is registered but did not join cluster " + cluster_id +
                            ": " + e.message;
                respond(error_response(e));
                return;
              }
              joined(last_position(*added));
            });
      });
}

void discover(agent_context& ctx, const http_request& req, const path_params&, responder respond) {
  with_body(
      req, respond, {"hostUrl", "token", "register", "nodeId", "clusterId", "timeoutMs"},
      [&](const json& b) {
        discovery_target t;
        std::string node_id;
        std::string cluster_id;
        bool do_register = false;
        status ok = read_string(b, "hostUrl", t.host_url, true, 2048);
        if (ok)
          ok = read_string(b, "token", t.token, false, 512);
        if (ok)
          ok = read_string(b, "nodeId", node_id, false, 64);
        if (ok)
          ok = read_string(b, "clusterId", cluster_id, false, 64);
        if (ok && b.contains("timeoutMs")) {
          const auto& v = b["timeoutMs"];
          if (!v.is_number_unsigned() || v.get<std::uint64_t>() < 100 ||
              v.get<std::uint64_t>() > 60'000)
            ok = error{
                errc::invalid_argument, "timeoutMs must be 100..60000", {{"field", "timeoutMs"}}};
          else
            t.timeout = std::chrono::milliseconds{v.get<std::uint64_t>()};
        }
        if (ok && b.contains("register")) {
          if (!b["register"].is_boolean())
            ok = error{
                errc::invalid_argument, "register must be true or false", {{"field", "register"}}};
          else
            do_register = b["register"].get<bool>();
        }
        if (ok) {
          if (auto u = net::parse_url(t.host_url, "hostUrl"); !u)
            ok = u.error();
        }
        if (!ok) {
          respond(error_response(ok.error()));
          return;
        }
        auto job = [&ctx, req, t, node_id, cluster_id, do_register, respond] {
          auto info = discover_host(t);
          if (!info) {
            respond(discovery_error(info.error()));
            return;
          }
          if (!do_register) {
            respond(json_response(200, json{{"hostUrl", t.host_url}, {"host", *info}}));
            return;
          }
          const auto& d = *info;
          host_facts h;
          h.hostname = d["hostname"].get<std::string>();
          h.address = net::parse_url(t.host_url)->host;
          h.cpu_model = d["cpu"].value("model", std::string{});
          h.threads = d["cpu"]["threads"].get<std::uint32_t>();
          h.cores = d["cpu"].value("cores", 0U) * std::max(1U, d["cpu"].value("sockets", 1U));
          h.memory_mib = d["memoryMib"].get<std::uint64_t>();
          const auto id = node_id.empty() ? id_from_hostname(h.hostname) : node_id;
          register_node(
              ctx, req, id, h, cluster_id, respond,
              [&ctx, t, id, cluster_id, respond, d](const std::string& key) {
                const bool queued = ctx.blocking.post([&ctx, t, id, cluster_id, respond, key, d] {
                  auto done =
                      complete_registration(t, id, ctx.advertise_url, key, cluster_id, ctx.tls_pin);
                  if (!done) {
                    auto e = done.error();
                    e.details["nodeId"] = id;
                    e.message = "node " + id +
                                " is registered, but its host did not "
                                "take the registration (" +
                                e.message + "): delete the node and register again";
                    respond(discovery_error(e));
                    return;
                  }
                  const auto r = ctx.proj.inv().get<node_aggregate>(id);
                  json out{{"node", r ? render(*r) : json{}}, {"host", d}};
                  respond(json_response(201, out));
                });
                if (!queued)
                  respond(error_response(error{errc::unavailable, "too many discoveries at once"}));
              });
        };
        if (!ctx.blocking.post(std::move(job)))
          respond(error_response(error{errc::unavailable, "too many discoveries at once"}));
      });
}

void new_registration_token(agent_context& ctx, const http_request& req, const path_params&,
                            responder respond) {
  with_body(req, respond, {}, [&](const json&) {
    auto t = ctx.node_tokens.issue();
    json out{{"token", t.token},
             {"expiresAt", expiry(t.expires_at)},
             {"controlPlaneAddress", ctx.advertise_url}};
    // What the host's join takes as controlPlaneCertHash (kubeadm's
    // --discovery-token-ca-cert-hash).
    if (!ctx.tls_pin.empty())
      out["controlPlaneCertHash"] = ctx.tls_pin;
    respond(json_response(201, out));
  });
}

/// A host joins with a token this control plane issued.
void register_joining(agent_context& ctx, const http_request& req, const path_params&,
                      responder respond) {
  with_body(
      req, respond,
      {"registrationToken", "hostUrl", "hostname", "cpuThreads", "cpuCores", "cpuModel",
       "memoryMib", "nodeId", "clusterId"},
      [&](const json& b) {
        std::string token;
        std::string host_url;
        std::string node_id;
        std::string cluster_id;
        host_facts h;
        status ok = read_string(b, "registrationToken", token, false, 512);
        if (ok)
          ok = read_string(b, "hostUrl", host_url, false, 2048);
        if (ok)
          ok = read_string(b, "hostname", h.hostname, true, 253);
        if (ok)
          ok = read_string(b, "cpuModel", h.cpu_model, false, 256);
        if (ok)
          ok = read_string(b, "nodeId", node_id, false, 64);
        if (ok)
          ok = read_string(b, "clusterId", cluster_id, false, 64);
        for (const auto* f : {"cpuThreads", "memoryMib"})
          if (ok && (!b.contains(f) || !b[f].is_number_unsigned()))
            ok = error{
                errc::invalid_argument, std::string{f} + " must be a whole number", {{"field", f}}};
        if (ok && b.contains("cpuCores") && !b["cpuCores"].is_number_unsigned())
          ok = error{
              errc::invalid_argument, "cpuCores must be a whole number", {{"field", "cpuCores"}}};
        if (ok && !host_url.empty()) {
          auto u = net::parse_url(host_url, "hostUrl");
          if (!u)
            ok = u.error();
          else
            h.address = u->host;
        }
        if (!ok) {
          respond(error_response(ok.error()));
          return;
        }
        if (h.address.empty())
          h.address = host_of(req.remote);
        h.threads = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(b["cpuThreads"].get<std::uint64_t>(), 1U << 20U));
        h.cores = b.contains("cpuCores") ? static_cast<std::uint32_t>(std::min<std::uint64_t>(
                                               b["cpuCores"].get<std::uint64_t>(), 1U << 20U))
                                         : h.threads;
        h.memory_mib = b["memoryMib"].get<std::uint64_t>();
        // Used up before the node exists: two hosts racing with one token cannot both
        // join. A join refused after this point needs a new token.
        if (auto used = ctx.node_tokens.consume(token); !used) {
          respond(error_response(used.error()));
          return;
        }
        const auto id = node_id.empty() ? id_from_hostname(h.hostname) : node_id;
        register_node(
            ctx, req, id, h, cluster_id, respond, [&ctx, id, respond](const std::string& key) {
              const auto r = ctx.proj.inv().get<node_aggregate>(id);
              respond(json_response(
                  201, json{{"nodeId", id}, {"agentKey", key}, {"node", r ? render(*r) : json{}}}));
            });
      });
}

void agent_status(agent_context& ctx, const http_request&, const path_params& p,
                  responder respond) {
  const auto& id = p.at("id");
  if (!ctx.proj.inv().get<node_aggregate>(id)) {
    respond(not_found<node_aggregate>(id));
    return;
  }
  auto s = ctx.agents.status(id);
  if (s.is_null())
    s = json{{"connected", false}, {"epoch", 0}};
  s["nodeId"] = id;
  respond(json_response(200, s));
}

void session_without_upgrade(agent_context&, const http_request&, const path_params& p,
                             responder respond) {
  respond(error_response(
      error{errc::failed_precondition,
            "/api/v1/nodes/" + p.at("id") + "/session is the agent's WebSocket endpoint",
            {{"reason", "UPGRADE_REQUIRED"}}}));
}

} // namespace

void add_agent_routes(router& r) {
  r.add("POST", "/api/v1/nodes/discover", discover);
  r.add("POST", "/api/v1/nodes/registration-tokens", new_registration_token);
  r.add("POST", "/api/v1/nodes/register", register_joining);
  r.add("GET", "/api/v1/nodes/{id}/agent", agent_status);
  r.add("GET", "/api/v1/nodes/{id}/session", session_without_upgrade);
}

} // namespace qx::api
