#pragma once

// One traits type per aggregate, binding its pure domain functions for the generic actor
// shell. Adding an aggregate: a domain header with the usual shape, one line here, one line
// in fwd.hpp's type-ID block and one explicit instantiation in src/aggregate_actor.cpp.

#include "qx/actors/domain/vm.hpp"

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

} // namespace qx::actors
