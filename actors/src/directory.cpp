#include "qx/actors/directory.hpp"

#include "aggregate_actor.hpp"

#include <unordered_map>

namespace qx::actors {

status validate(const directory_config& cfg) {
  if (cfg.idle_timeout.count() < 0)
    return error{errc::invalid_argument, "idle_timeout is negative", {{"field", "idle_timeout"}}};
  return {};
}

namespace {

template<class A>
struct directory_state {
  static inline const char* name = "directory";

  struct entry {
    aggregate_actor<A> actor;
    std::uint64_t routed = 0;
  };

  std::unordered_map<std::string, entry> active;
  directory_stats stats;
  events::event_store* store = nullptr;
  directory_config config;
};

template<class A>
using directory_pointer =
    typename directory_actor<A>::template stateful_pointer<directory_state<A>>;

/// The aggregate named `id`, spawned (and loaded) on first use. Counts the routed message.
template<class A>
aggregate_actor<A>& route(directory_pointer<A> self, const std::string& id) {
  auto& st = self->state;
  ++st.stats.routed;
  auto it = st.active.find(id);
  if (it == st.active.end()) {
    // Linked: when the directory stops, its aggregates stop with it.
    auto actor = self->template spawn<caf::linked>(detail::aggregate_behavior<A>, id, st.store,
                                                   st.config, directory_actor<A>{self});
    it = st.active.emplace(id, typename directory_state<A>::entry{std::move(actor), 0}).first;
    ++st.stats.activations;
  }
  ++it->second.routed;
  return it->second.actor;
}

template<class A>
status check_id(const std::string& id) {
  // The id becomes part of a stream id; the store's rules apply (the field is the id).
  if (auto ok = events::validate_stream_id(A::stream(id), events::append_limits{});
      !ok || id.empty())
    return error{errc::invalid_argument,
                 std::string{A::kind} + " id must be 1-200 of letters, digits and . _ : @ -",
                 {{"field", "id"}}};
  if (id.size() > 200 || id.find('/') != std::string::npos)
    return error{
        errc::invalid_argument, std::string{A::kind} + " id is malformed", {{"field", "id"}}};
  return {};
}

template<class A>
typename directory_actor<A>::behavior_type
directory_behavior(directory_pointer<A> self, events::event_store* store, directory_config cfg) {
  self->state.store = store;
  self->state.config = cfg;
  return {
      [self](command_request<A>& req) -> caf::result<command_outcome> {
        if (auto ok = check_id<A>(req.id); !ok)
          return command_outcome{ok.error()};
        auto& target = route<A>(self, req.id);
        return self->delegate(target, std::move(req));
      },
      [self](get_atom, std::string& id) -> caf::result<state_outcome<A>> {
        if (auto ok = check_id<A>(id); !ok)
          return state_outcome<A>{ok.error()};
        auto& target = route<A>(self, id);
        return self->delegate(target, get_atom::value);
      },
      [self](passivate_atom, const std::string& id, std::uint64_t handled) -> bool {
        auto& st = self->state;
        auto it = st.active.find(id);
        if (it == st.active.end() || it->second.routed != handled)
          return false; // something is on its way to the aggregate: it stays
        st.active.erase(it);
        ++st.stats.passivations;
        return true;
      },
      [self](stats_atom) -> directory_stats {
        auto stats = self->state.stats;
        stats.active = self->state.active.size();
        return stats;
      },
  };
}

} // namespace

template<class A>
directory_actor<A> spawn_directory(caf::actor_system& sys, events::event_store& store,
                                   directory_config cfg) {
  return sys.spawn(directory_behavior<A>, &store, cfg);
}

#define QX_INSTANTIATE_DIRECTORY(type_name)                                                        \
  template directory_actor<type_name> spawn_directory<type_name>(                                  \
      caf::actor_system&, events::event_store&, directory_config);

QX_INSTANTIATE_DIRECTORY(vm_aggregate)
QX_INSTANTIATE_DIRECTORY(node_aggregate)
QX_INSTANTIATE_DIRECTORY(cluster_aggregate)
QX_INSTANTIATE_DIRECTORY(storage_pool_aggregate)
QX_INSTANTIATE_DIRECTORY(volume_aggregate)
QX_INSTANTIATE_DIRECTORY(network_aggregate)
QX_INSTANTIATE_DIRECTORY(security_group_aggregate)
QX_INSTANTIATE_DIRECTORY(image_aggregate)
QX_INSTANTIATE_DIRECTORY(alert_aggregate)
QX_INSTANTIATE_DIRECTORY(user_aggregate)
QX_INSTANTIATE_DIRECTORY(role_aggregate)

} // namespace qx::actors
