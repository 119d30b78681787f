// /api/v1/networks and /api/v1/security-groups.
#include "handlers_common.hpp"

namespace qx::api {

namespace {

using actors::network_aggregate;
using actors::security_group_aggregate;
namespace network = domain::network;
namespace sg = domain::security_group;

result<network::command> network_create(const json& b, const path_params&) {
  network::create c;
  status ok = read_string(b, "name", c.name, true, 256);
  if (ok)
    ok = read_string(b, "type", c.type, true, 32);
  if (ok)
    ok = read_u32(b, "vlanId", c.vlan_id);
  if (ok)
    ok = read_string(b, "cidr", c.cidr, true, 64);
  if (ok)
    ok = read_string(b, "gateway", c.gateway, false, 64);
  if (ok)
    ok = read_bool(b, "dhcp", c.dhcp);
  if (!ok)
    return ok.error();
  return network::command{std::move(c)};
}

result<network::command> allocate_ip(const json& b, const path_params&) {
  network::allocate_ip c;
  status ok = read_string(b, "owner", c.owner, true, 128);
  if (ok)
    ok = read_string(b, "ip", c.ip, false, 64);
  if (!ok)
    return ok.error();
  return network::command{std::move(c)};
}

result<sg::command> sg_create(const json& b, const path_params&) {
  sg::create c;
  status ok = read_string(b, "name", c.name, true, 256);
  if (ok)
    ok = read_string(b, "description", c.description, false, 4096);
  if (!ok)
    return ok.error();
  return sg::command{std::move(c)};
}

result<sg::command> sg_add_rule(const json& b, const path_params&) {
  sg::add_rule c;
  if (auto ok = from_json(b, c.rule, "rule"); !ok)
    return ok.error();
  return sg::command{std::move(c)};
}

} // namespace

void add_network_routes(router& r) {
  list_route<network_aggregate>(r, "/api/v1/networks");
  r.add("POST", "/api/v1/networks",
        command_route<network_aggregate>(
            {"id", "name", "type", "vlanId", "cidr", "gateway", "dhcp"}, 201, network_create));
  r.add("DELETE", "/api/v1/networks/{id}",
        command_route<network_aggregate>({}, 200, [](const json&, const path_params&) {
          return result<network::command>{network::remove{}};
        }));
  r.add("POST", "/api/v1/networks/{id}/ips",
        command_route<network_aggregate>({"owner", "ip"}, 200, allocate_ip));
  r.add("DELETE", "/api/v1/networks/{id}/ips/{ip}",
        command_route<network_aggregate>({}, 200, [](const json&, const path_params& p) {
          return result<network::command>{network::release_ip{p.at("ip")}};
        }));

  list_route<security_group_aggregate>(r, "/api/v1/security-groups");
  r.add("POST", "/api/v1/security-groups",
        command_route<security_group_aggregate>({"id", "name", "description"}, 201, sg_create));
  r.add("DELETE", "/api/v1/security-groups/{id}",
        command_route<security_group_aggregate>({}, 200, [](const json&, const path_params&) {
          return result<sg::command>{sg::remove{}};
        }));
  // The rule id is the group's to give ("rule-<n>").
  r.add("POST", "/api/v1/security-groups/{id}/rules",
        command_route<security_group_aggregate>(
            {"direction", "protocol", "portFrom", "portTo", "cidr"}, 200, sg_add_rule,
            {{"rule.", ""}}));
  r.add("DELETE", "/api/v1/security-groups/{id}/rules/{ruleId}",
        command_route<security_group_aggregate>({}, 200, [](const json&, const path_params& p) {
          return result<sg::command>{sg::remove_rule{p.at("ruleId")}};
        }));
}

} // namespace qx::api
