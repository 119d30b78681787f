#include "gateway.hpp"

#include <qx/actors/datacenter.hpp>

#include <caf/all.hpp>

#include <map>
#include <mutex>

namespace qx::api {

struct gateway::impl {
  caf::actor_system& sys;
  actors::datacenter_actor coordinator;
  caf::duration timeout;
  std::mutex mutex{};
  bool stopped = false;                          ///< guarded by mutex
  std::map<caf::actor_id, caf::actor> waiting{}; ///< the askers in flight, guarded by mutex

  void done(caf::actor_id id) {
    const std::lock_guard lock{mutex};
    waiting.erase(id);
  }

  /// One short-lived actor per request: it asks the coordinator and hands the answer to `k`.
  /// Spawning costs microseconds and keeps the callback out of any message type.
  template<class Request, class Outcome>
  void ask(Request req, std::function<void(Outcome)> k) {
    std::unique_lock lock{mutex};
    if (stopped) {
      lock.unlock();
      k(Outcome{error{errc::unavailable, "the server is stopping"}});
      return;
    }
    auto asker = sys.spawn(
        [this, req = std::move(req), k = std::move(k), coordinator = coordinator,
         timeout = timeout](caf::event_based_actor* self, int) mutable {
          self->request(coordinator, timeout, std::move(req))
              .then(
                  [this, k, self](Outcome& o) {
                    done(self->id());
                    k(std::move(o));
                    self->quit();
                  },
                  [this, k, self](caf::error& e) {
                    done(self->id());
                    k(Outcome{error{errc::unavailable,
                                    "the actors did not answer: " + caf::to_string(e)}});
                    self->quit();
                  });
        },
        0);
    waiting.emplace(asker.id(), asker);
  }
};

gateway::gateway(caf::actor_system& sys, const actors::datacenter& dc,
                 std::chrono::milliseconds timeout)
    : impl_(new impl{sys, dc.coordinator, caf::duration{timeout}}) {}

gateway::~gateway() = default;

void gateway::stop() {
  std::map<caf::actor_id, caf::actor> left;
  {
    const std::lock_guard lock{impl_->mutex};
    impl_->stopped = true;
    left.swap(impl_->waiting);
  }
  for (const auto& [id, asker] : left)
    caf::anon_send_exit(asker, caf::exit_reason::user_shutdown);
}

#define QX_GATEWAY_SEND(type_name)                                                                 \
  void gateway::send(actors::command_request<actors::type_name> req,                               \
                     std::function<void(actors::command_outcome)> k) {                             \
    impl_->ask(std::move(req), std::move(k));                                                      \
  }
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

void gateway::send(actors::start_vm req, std::function<void(actors::placement_outcome)> k) {
  impl_->ask(std::move(req), std::move(k));
}

void gateway::send(actors::migrate_vm req, std::function<void(actors::placement_outcome)> k) {
  impl_->ask(std::move(req), std::move(k));
}

} // namespace qx::api
