#pragma once

// The network aggregate: type (vlan with an id, overlay, external), an IPv4 CIDR, gateway,
// DHCP, and the addresses handed out (never one twice, never one outside the CIDR).

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/network.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <string>
#include <variant>

namespace qx::domain::network {

using state = snapshots::v1::NetworkState;

struct create {
  std::string name;
  std::string type; ///< vlan, overlay, external
  std::uint32_t vlan_id = 0;
  std::string cidr;
  std::string gateway;
  bool dhcp = true;
};
/// Hands out `ip`, or the lowest free host address when empty.
struct allocate_ip {
  std::string owner;
  std::string ip;
};
struct release_ip {
  std::string ip;
};
struct remove {};

using command = std::variant<create, allocate_ip, release_ip, remove>;
using event = std::variant<events::v1::NetworkCreated, events::v1::NetworkIpAllocated,
                           events::v1::NetworkIpReleased, events::v1::NetworkDeleted>;

inline constexpr const char* kind = "network";
inline constexpr const char* stream_prefix = "net-";

[[nodiscard]] state initial(std::string_view id);
[[nodiscard]] decision<event> decide(const state& s, const command& c);
void evolve(state& s, const event& e);
[[nodiscard]] std::string_view name_of(const command& c);

} // namespace qx::domain::network
