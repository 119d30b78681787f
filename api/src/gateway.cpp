#include "gateway.hpp"

#include <qx/actors/datacenter.hpp>
#include <qx/actors/reactor_wiring.hpp>

#include <caf/all.hpp>

#include <map>
#include <mutex>

namespace qx::api {

struct gateway::impl {
  caf::actor_system& sys;
  actors::datacenter_actor coordinator;
  actors::reactor_set reactors;
  caf::duration timeout;
  std::mutex mutex{};
  bool stopped = false;                          ///< guarded by mutex
  std::map<caf::actor_id, caf::actor> waiting{}; ///< the askers in flight, guarded by mutex

  void done(caf::actor_id id) {
    const std::lock_guard lock{mutex};
    waiting.erase(id);
  }

  /// One short-lived actor per request: it asks `dest` and hands the answer (of type Reply,
  /// made an Outcome) to `k`. Spawning costs microseconds and keeps the callback out of any
  /// message type.
  template<class Reply, class Outcome, class Dest, class... Ts>
  void ask_at(Dest dest, std::function<void(Outcome)> k, Ts... xs) {
    std::unique_lock lock{mutex};
    if (stopped || !dest) {
      lock.unlock();
      k(Outcome{error{errc::unavailable, stopped ? "the server is stopping"
                                                 : "DRS and HA do not run in this server"}});
      return;
    }
    auto asker = sys.spawn(
        [this, dest = std::move(dest), k = std::move(k), timeout = timeout,
         ... xs = std::move(xs)](caf::event_based_actor* self, int) mutable {
          self->request(dest, timeout, std::move(xs)...)
              .then(
                  [this, k, self](Reply& r) {
                    done(self->id());
                    k(Outcome{std::move(r)});
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

  template<class Request, class Outcome>
  void ask(Request req, std::function<void(Outcome)> k) {
    ask_at<Outcome>(coordinator, std::move(k), std::move(req));
  }
};

gateway::gateway(caf::actor_system& sys, const actors::datacenter& dc, actors::reactor_set reactors,
                 std::chrono::milliseconds timeout)
    : impl_(new impl{sys, dc.coordinator, std::move(reactors), caf::duration{timeout}}) {}

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

void gateway::drs_status(std::string cluster,
                         std::function<void(result<actors::drs::cluster_status>)> k) {
  impl_->ask_at<result<actors::drs::cluster_status>>(
      impl_->reactors.drs, std::move(k), actors::status_atom::value, std::move(cluster));
}

void gateway::drs_pending(std::string cluster,
                          std::function<void(result<std::vector<actors::drs::recommendation>>)> k) {
  impl_->ask_at<std::vector<actors::drs::recommendation>>(
      impl_->reactors.drs, std::move(k), actors::pending_atom::value, std::move(cluster));
}

void gateway::drs_decide(bool apply, std::string cluster, std::string id, std::string by,
                         std::function<void(status)> k) {
  if (apply)
    impl_->ask_at<status>(impl_->reactors.drs, std::move(k), actors::approve_atom::value,
                          std::move(cluster), std::move(id), std::move(by));
  else
    impl_->ask_at<status>(impl_->reactors.drs, std::move(k), actors::reject_atom::value,
                          std::move(cluster), std::move(id), std::move(by));
}

void gateway::drs_what_if(std::string cluster, std::function<void(result<domain::drs::pass>)> k) {
  impl_->ask_at<domain::drs::pass>(impl_->reactors.drs, std::move(k), actors::what_if_atom::value,
                                   std::move(cluster));
}

void gateway::drs_scope(std::string cluster, std::string vm, std::string node,
                        std::function<void(result<actors::placement_scope>)> k) {
  impl_->ask_at<result<actors::placement_scope>>(impl_->reactors.drs, std::move(k),
                                                 actors::place_atom::value, std::move(cluster),
                                                 std::move(vm), std::move(node));
}

void gateway::drs_maintenance(std::string node, bool enable, std::string by,
                              std::function<void(status)> k) {
  impl_->ask_at<status>(impl_->reactors.drs, std::move(k), actors::maintenance_atom::value,
                        std::move(node), enable, std::move(by));
}

bool gateway::has_drs() const {
  return static_cast<bool>(impl_->reactors.drs);
}

actors::drs::pass_stats gateway::drs_stats() const {
  return impl_->reactors.drs_stats ? impl_->reactors.drs_stats->read() : actors::drs::pass_stats{};
}

void gateway::ha_status(std::string cluster,
                        std::function<void(result<actors::ha::cluster_status>)> k) {
  impl_->ask_at<result<actors::ha::cluster_status>>(impl_->reactors.ha, std::move(k),
                                                    actors::status_atom::value, std::move(cluster));
}

} // namespace qx::api
