#pragma once

// One traits type per aggregate, binding its pure domain functions for the generic actor
// shell. Adding an aggregate: a domain header with the usual shape, one line here, one line
// in fwd.hpp's type-ID block and one explicit instantiation in src/aggregate_actor.cpp.

#include "qx/actors/domain/alert.hpp"
#include "qx/actors/domain/cluster.hpp"
#include "qx/actors/domain/image.hpp"
#include "qx/actors/domain/network.hpp"
#include "qx/actors/domain/node.hpp"
#include "qx/actors/domain/role.hpp"
#include "qx/actors/domain/security_group.hpp"
#include "qx/actors/domain/storage_pool.hpp"
#include "qx/actors/domain/user.hpp"
#include "qx/actors/domain/vm.hpp"
#include "qx/actors/domain/volume.hpp"

#include <string>
#include <string_view>

namespace qx::actors {

/// Binds namespace `Ns` (with state, command, event, kind, stream_prefix, initial, decide,
/// evolve, name_of) as an aggregate type.
#define QX_AGGREGATE(type_name, ns)                                                                \
  struct type_name {                                                                               \
    using state = ns::state;                                                                       \
    using command = ns::command;                                                                   \
    using event = ns::event;                                                                       \
    static constexpr const char* kind = ns::kind;                                                  \
    static std::string stream(std::string_view id) { return ns::stream_prefix + std::string{id}; } \
    static state initial(std::string_view id) { return ns::initial(id); }                          \
    static domain::decision<event> decide(const state& s, const command& c) {                      \
      return ns::decide(s, c);                                                                     \
    }                                                                                              \
    static void evolve(state& s, const event& e) { ns::evolve(s, e); }                             \
    static std::string_view name_of(const command& c) { return ns::name_of(c); }                   \
  };

QX_AGGREGATE(vm_aggregate, domain::vm)
QX_AGGREGATE(node_aggregate, domain::node)
QX_AGGREGATE(cluster_aggregate, domain::cluster)
QX_AGGREGATE(storage_pool_aggregate, domain::storage_pool)
QX_AGGREGATE(volume_aggregate, domain::volume)
QX_AGGREGATE(network_aggregate, domain::network)
QX_AGGREGATE(security_group_aggregate, domain::security_group)
QX_AGGREGATE(image_aggregate, domain::image)
QX_AGGREGATE(alert_aggregate, domain::alert)
QX_AGGREGATE(user_aggregate, domain::user)
QX_AGGREGATE(role_aggregate, domain::role)

/// Calls `f(tag<A>{})` for every aggregate type.
template<class A>
struct tag {
  using type = A;
};
template<class F>
void for_each_aggregate(F&& f) {
  f(tag<vm_aggregate>{});
  f(tag<node_aggregate>{});
  f(tag<cluster_aggregate>{});
  f(tag<storage_pool_aggregate>{});
  f(tag<volume_aggregate>{});
  f(tag<network_aggregate>{});
  f(tag<security_group_aggregate>{});
  f(tag<image_aggregate>{});
  f(tag<alert_aggregate>{});
  f(tag<user_aggregate>{});
  f(tag<role_aggregate>{});
}

} // namespace qx::actors
