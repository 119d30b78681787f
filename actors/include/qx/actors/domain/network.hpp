#pragma once

// The network aggregate: type (vlan with an id, overlay, external), an IPv4 CIDR, gateway,
// DHCP, and the addresses handed out (never one twice, never one outside the CIDR).
//
// Commands and their refusals (before create every command is NOT_FOUND, create twice is
// ALREADY_EXISTS, and a deleted network refuses everything with reason DELETED):
//   create       vlan_id 1..4094 for vlan and 0 otherwise; cidr a.b.c.d/n (strict, n 8..30,
//                host bits zero); gateway (optional) a host address inside the cidr
//   allocate_ip  ip given: malformed INVALID_ARGUMENT, the network or broadcast address or
//                outside the cidr ADDRESS_OUTSIDE_CIDR, the gateway or held ADDRESS_IN_USE (all
//                with field ip); ip empty: the lowest free host address, or RESOURCE_EXHAUSTED
//                NO_FREE_ADDRESS
//   release_ip   not allocated: ADDRESS_NOT_ALLOCATED
//   remove       while addresses are allocated: NETWORK_IN_USE

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
  std::string gateway; ///< empty: none
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
