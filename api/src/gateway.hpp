#pragma once

// The API's door to the actors: sends a command and calls back when the reply comes, so no
// HTTP thread ever blocks on an actor. CAF stays inside gateway.cpp.

#include <qx/actors/aggregates.hpp>
#include <qx/actors/messages.hpp>
#include <qx/actors/reactor_wiring.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace caf {
class actor_system;
}
namespace qx::actors {
struct datacenter;
}

namespace qx::api {

class gateway {
 public:
  /// `reactors` may be empty (no DRS/HA): their routes then answer UNAVAILABLE.
  gateway(caf::actor_system& sys, const actors::datacenter& dc, actors::reactor_set reactors = {},
          std::chrono::milliseconds timeout = std::chrono::seconds{30});
  ~gateway();
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

#define QX_GATEWAY_SEND(type_name)                                                                 \
  void send(actors::command_request<actors::type_name> req,                                        \
            std::function<void(actors::command_outcome)> k);
  QX_GATEWAY_SEND(vm_aggregate)
  QX_GATEWAY_SEND(node_aggregate)
  QX_GATEWAY_SEND(cluster_aggregate)
  QX_GATEWAY_SEND(storage_pool_aggregate)
  QX_GATEWAY_SEND(volume_aggregate)
  QX_GATEWAY_SEND(network_aggregate)
  QX_GATEWAY_SEND(security_group_aggregate)
  QX_GATEWAY_SEND(image_aggregate)
  QX_GATEWAY_SEND(alert_aggregate)
  QX_GATEWAY_SEND(user_aggregate)
  QX_GATEWAY_SEND(role_aggregate)
#undef QX_GATEWAY_SEND

  void send(actors::start_vm req, std::function<void(actors::placement_outcome)> k);
  void send(actors::migrate_vm req, std::function<void(actors::placement_outcome)> k);

  // DRS and HA (the reactors): a cluster's state, DRS's recommendations and what it would do.
  void drs_status(std::string cluster, std::function<void(result<actors::drs::cluster_status>)> k);
  void drs_pending(std::string cluster,
                   std::function<void(result<std::vector<actors::drs::recommendation>>)> k);
  /// Applies (`apply`) or rejects recommendation `id` as principal `by`.
  void drs_decide(bool apply, std::string cluster, std::string id, std::string by,
                  std::function<void(status)> k);
  void drs_what_if(std::string cluster, std::function<void(result<domain::drs::pass>)> k);
  /// Where the cluster's rules let `vm` start or migrate (on `node` when named): the scope to
  /// send with the start or migration (RULE_VIOLATION naming the rule when none may).
  void drs_scope(std::string cluster, std::string vm, std::string node,
                 std::function<void(result<actors::placement_scope>)> k);
  void ha_status(std::string cluster, std::function<void(result<actors::ha::cluster_status>)> k);
  /// Asks DRS to empty `node` into maintenance (`enable`) or to end it, as principal `by`:
  /// answered once its request is durable in the log.
  void drs_maintenance(std::string node, bool enable, std::string by,
                       std::function<void(status)> k);
  /// Whether DRS runs (a server started without the reactors has none).
  [[nodiscard]] bool has_drs() const;
  /// DRS's passes so far and each cluster's imbalance at the latest (empty without DRS).
  [[nodiscard]] actors::drs::pass_stats drs_stats() const;

  /// Ends every request still waiting for the actors (its continuation is dropped, not
  /// called) and answers later sends at once with UNAVAILABLE, so that a stop under load
  /// does not wait for answers the stopped actors will never give.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace qx::api
