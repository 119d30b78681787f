#pragma once

// A resource of the inventory as the API shows it: its state's fields minus the bookkeeping,
// plus its version. GET, lists, `?as_of=` and `qvdc replay` all render through here, so a
// replayed state compares byte for byte with what the API answered.

#include "json_codec.hpp"

#include <qx/projections/inventory.hpp>

#include <array>
#include <string_view>

namespace qx::api {

/// Fields of a state that are bookkeeping, not shown
/// (and the hash of a node agent's key: not secret, but nobody's business;
/// and a user's password hash: never shown).
inline constexpr std::array<std::string_view, 5> hidden_fields = {
    "created", "deleted", "registered", "agent_key_sha256", "password_hash"};

template<class A>
[[nodiscard]] json render(const projections::resource<A>& r) {
  auto j = to_json(r.state, hidden_fields);
  j["version"] = r.version;
  return j;
}

} // namespace qx::api
