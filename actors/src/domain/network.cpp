#include "qx/actors/domain/network.hpp"

#include "qx/actors/domain/ipv4.hpp"

#include "overloaded.hpp"

namespace qx::domain::network {

namespace {

using namespace events::v1;
using detail::overloaded;

constexpr auto one = &one_event<event>;

status check_create(const create& cmd) {
  if (auto ok = check_name("name", cmd.name, 80); !ok)
    return ok;
  if (cmd.type != "vlan" && cmd.type != "overlay" && cmd.type != "external")
    return invalid_field("type", "type must be vlan, overlay or external");
  if (cmd.type == "vlan" && (cmd.vlan_id < 1 || cmd.vlan_id > 4094))
    return invalid_field("vlan_id", "a vlan network needs a vlan_id from 1 to 4094");
  if (cmd.type != "vlan" && cmd.vlan_id != 0)
    return invalid_field("vlan_id", "only vlan networks carry a vlan_id");
  auto net = ipv4::parse_cidr(cmd.cidr, 8, 30);
  if (!net)
    return invalid_field("cidr", "cidr must be an IPv4 network a.b.c.d/n, n from 8 to 30, "
                                 "with zero host bits");
  if (!cmd.gateway.empty()) {
    auto gw = ipv4::parse_address(cmd.gateway);
    if (!gw || !net->contains(*gw) || *gw == net->network || *gw == net->broadcast())
      return invalid_field("gateway", "gateway must be a host address inside the cidr");
  }
  return {};
}

} // namespace

state initial(std::string_view id) {
  return initial_state<state>(id);
}

std::string_view name_of(const command& c) {
  static constexpr const char* names[] = {"create", "allocate_ip", "release_ip", "remove"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[c.index()];
}

decision<event> decide(const state& s, const command& c) {
  if (auto refusal = lifecycle_refusal(kind, s, std::holds_alternative<create>(c)))
    return *refusal;
  return std::visit(
      overloaded{
          [&](const create& cmd) -> decision<event> {
            if (auto ok = check_create(cmd); !ok)
              return ok.error();
            NetworkCreated ev;
            ev.set_id(s.id());
            ev.set_name(cmd.name);
            ev.set_type(cmd.type);
            ev.set_vlan_id(cmd.vlan_id);
            ev.set_cidr(cmd.cidr);
            ev.set_gateway(cmd.gateway);
            ev.set_dhcp(cmd.dhcp);
            return one(std::move(ev));
          },
          [&](const allocate_ip& cmd) -> decision<event> {
            if (auto ok = check_name("owner", cmd.owner, 64); !ok)
              return ok.error();
            const auto net = *ipv4::parse_cidr(s.cidr(), 8, 30);
            const auto gateway = ipv4::parse_address(s.gateway());
            auto usable = [&](std::uint32_t a) {
              return a != net.network && a != net.broadcast() && (!gateway || a != *gateway);
            };
            std::string ip = cmd.ip;
            if (ip.empty()) {
              for (auto a = net.network + 1; a < net.broadcast(); ++a)
                if (usable(a) && s.allocations().count(ipv4::to_string(a)) == 0) {
                  ip = ipv4::to_string(a);
                  break;
                }
              if (ip.empty())
                return error{errc::resource_exhausted,
                             "network " + s.id() + " has no free address",
                             {{"reason", "NO_FREE_ADDRESS"}}};
            } else {
              auto a = ipv4::parse_address(ip);
              if (!a)
                return invalid_field("ip", "ip is not an IPv4 address");
              if (!net.contains(*a) || *a == net.network || *a == net.broadcast())
                return refused("ADDRESS_OUTSIDE_CIDR", ip + " is not a host address of " + s.cidr(),
                               {{"field", "ip"}});
              if (gateway && *a == *gateway)
                return refused("ADDRESS_IN_USE", ip + " is the gateway",
                               {{"field", "ip"}, {"owner", "gateway"}});
              if (s.allocations().count(ip) != 0)
                return refused("ADDRESS_IN_USE", ip + " is held by " + s.allocations().at(ip),
                               {{"field", "ip"}, {"owner", s.allocations().at(ip)}});
            }
            NetworkIpAllocated ev;
            ev.set_id(s.id());
            ev.set_ip(ip);
            ev.set_owner(cmd.owner);
            return one(std::move(ev));
          },
          [&](const release_ip& cmd) -> decision<event> {
            if (!ipv4::parse_address(cmd.ip))
              return invalid_field("ip", "ip is not an IPv4 address");
            if (s.allocations().count(cmd.ip) == 0)
              return refused("ADDRESS_NOT_ALLOCATED", cmd.ip + " is not allocated",
                             {{"field", "ip"}});
            NetworkIpReleased ev;
            ev.set_id(s.id());
            ev.set_ip(cmd.ip);
            return one(std::move(ev));
          },
          [&](const remove&) -> decision<event> {
            if (!s.allocations().empty())
              return refused("NETWORK_IN_USE",
                             "network " + s.id() + " still hands out " +
                                 std::to_string(s.allocations_size()) + " addresses",
                             {{"allocations", std::to_string(s.allocations_size())}});
            NetworkDeleted ev;
            ev.set_id(s.id());
            return one(std::move(ev));
          },
      },
      c);
}

void evolve(state& s, const event& e) {
  std::visit(
      overloaded{
          [&](const NetworkCreated& ev) {
            s.set_created(true);
            s.set_name(ev.name());
            s.set_type(ev.type());
            s.set_vlan_id(ev.vlan_id());
            s.set_cidr(ev.cidr());
            s.set_gateway(ev.gateway());
            s.set_dhcp(ev.dhcp());
          },
          [&](const NetworkIpAllocated& ev) { (*s.mutable_allocations())[ev.ip()] = ev.owner(); },
          [&](const NetworkIpReleased& ev) { s.mutable_allocations()->erase(ev.ip()); },
          [&](const NetworkDeleted&) { s.set_deleted(true); },
      },
      e);
}

} // namespace qx::domain::network
