#include "route_policy.hpp"

#include <map>
#include <utility>

namespace qx::api {

namespace {

using route_key = std::pair<std::string_view, std::string_view>; // method, pattern

const std::map<route_key, route_policy>& table() {
  static const std::map<route_key, route_policy> t{
      // Authentication and access management.
      {{"POST", "/api/v1/auth/login"}, {"public", "datacenter"}},
      {{"POST", "/api/v1/auth/logout"}, {"authenticated", "datacenter"}},
      {{"GET", "/api/v1/auth/me"}, {"authenticated", "datacenter"}},
      {{"GET", "/api/v1/users"}, {"access.manage", "datacenter"}},
      {{"POST", "/api/v1/users"}, {"access.manage", "datacenter"}},
      {{"GET", "/api/v1/users/{id}"}, {"access.manage", "datacenter"}},
      {{"DELETE", "/api/v1/users/{id}"}, {"access.manage", "datacenter"}},
      {{"POST", "/api/v1/users/{id}/password"}, {"access.manage", "datacenter"}},
      {{"POST", "/api/v1/users/{id}/disable"}, {"access.manage", "datacenter"}},
      {{"POST", "/api/v1/users/{id}/enable"}, {"access.manage", "datacenter"}},
      {{"POST", "/api/v1/users/{id}/grants"}, {"access.manage", "datacenter"}},
      {{"DELETE", "/api/v1/users/{id}/grants"}, {"access.manage", "datacenter"}},
      {{"POST", "/api/v1/users/{id}/tokens"}, {"access.manage", "datacenter"}},
      {{"DELETE", "/api/v1/users/{id}/tokens/{tokenId}"}, {"access.manage", "datacenter"}},
      {{"GET", "/api/v1/roles"}, {"access.manage", "datacenter"}},
      {{"POST", "/api/v1/roles"}, {"access.manage", "datacenter"}},
      {{"GET", "/api/v1/roles/{id}"}, {"access.manage", "datacenter"}},
      {{"PUT", "/api/v1/roles/{id}"}, {"access.manage", "datacenter"}},
      {{"DELETE", "/api/v1/roles/{id}"}, {"access.manage", "datacenter"}},
      {{"GET", "/api/v1/audit"}, {"audit.read", "datacenter"}},
      // Node agents and registration.
      {{"POST", "/api/v1/nodes/discover"}, {"node.manage", "datacenter"}},
      {{"POST", "/api/v1/nodes/registration-tokens"}, {"node.manage", "datacenter"}},
      {{"POST", "/api/v1/nodes/register"}, {"public", "datacenter"}},
      {{"GET", "/api/v1/nodes/{id}/agent"}, {"read", "node/{id}"}},
      {{"GET", "/api/v1/nodes/{id}/session"}, {"read", "node/{id}"}},
      {{"POST", "/api/v1/nodes/{id}/evacuate"}, {"node.manage", "node/{id}"}},
      // Clusters and nodes.
      {{"GET", "/api/v1/clusters"}, {"list", "datacenter"}},
      {{"GET", "/api/v1/clusters/{id}"}, {"read", "cluster/{id}"}},
      {{"POST", "/api/v1/clusters"}, {"cluster.manage", "datacenter"}},
      {{"PATCH", "/api/v1/clusters/{id}"}, {"cluster.manage", "cluster/{id}"}},
      {{"DELETE", "/api/v1/clusters/{id}"}, {"cluster.manage", "cluster/{id}"}},
      {{"POST", "/api/v1/clusters/{id}/nodes/{nodeId}"}, {"cluster.manage", "cluster/{id}"}},
      {{"DELETE", "/api/v1/clusters/{id}/nodes/{nodeId}"}, {"cluster.manage", "cluster/{id}"}},
      {{"GET", "/api/v1/clusters/{id}/usage"}, {"read", "cluster/{id}"}},
      {{"GET", "/api/v1/clusters/{id}/rules"}, {"read", "cluster/{id}"}},
      {{"POST", "/api/v1/clusters/{id}/rules"}, {"cluster.manage", "cluster/{id}"}},
      {{"GET", "/api/v1/clusters/{id}/rules/{ruleId}"}, {"read", "cluster/{id}"}},
      {{"PUT", "/api/v1/clusters/{id}/rules/{ruleId}"}, {"cluster.manage", "cluster/{id}"}},
      {{"DELETE", "/api/v1/clusters/{id}/rules/{ruleId}"}, {"cluster.manage", "cluster/{id}"}},
      {{"GET", "/api/v1/clusters/{id}/drs"}, {"read", "cluster/{id}"}},
      {{"GET", "/api/v1/clusters/{id}/drs/recommendations"}, {"read", "cluster/{id}"}},
      {{"POST", "/api/v1/clusters/{id}/drs/recommendations/{rid}/apply"},
       {"cluster.manage", "cluster/{id}"}},
      {{"POST", "/api/v1/clusters/{id}/drs/recommendations/{rid}/reject"},
       {"cluster.manage", "cluster/{id}"}},
      {{"POST", "/api/v1/clusters/{id}/drs/what-if"}, {"read", "cluster/{id}"}},
      {{"GET", "/api/v1/clusters/{id}/ha"}, {"read", "cluster/{id}"}},
      {{"GET", "/api/v1/nodes"}, {"list", "datacenter"}},
      {{"POST", "/api/v1/nodes"}, {"node.manage", "datacenter"}},
      {{"GET", "/api/v1/nodes/{id}"}, {"read", "node/{id}"}},
      {{"PATCH", "/api/v1/nodes/{id}"}, {"node.manage", "node/{id}"}},
      {{"DELETE", "/api/v1/nodes/{id}"}, {"node.manage", "node/{id}"}},
      {{"POST", "/api/v1/nodes/{id}/connect"}, {"node.manage", "node/{id}"}},
      {{"POST", "/api/v1/nodes/{id}/disconnect"}, {"node.manage", "node/{id}"}},
      {{"POST", "/api/v1/nodes/{id}/enter-maintenance"}, {"node.manage", "node/{id}"}},
      {{"POST", "/api/v1/nodes/{id}/exit-maintenance"}, {"node.manage", "node/{id}"}},
      // VMs.
      {{"GET", "/api/v1/vms"}, {"list", "datacenter"}},
      {{"POST", "/api/v1/vms"}, {"vm.manage", "datacenter"}},
      {{"GET", "/api/v1/vms/{id}"}, {"read", "vm/{id}"}},
      {{"PATCH", "/api/v1/vms/{id}"}, {"vm.manage", "vm/{id}"}},
      {{"DELETE", "/api/v1/vms/{id}"}, {"vm.manage", "vm/{id}"}},
      {{"POST", "/api/v1/vms/{id}/start"}, {"vm.power", "vm/{id}"}},
      {{"POST", "/api/v1/vms/{id}/stop"}, {"vm.power", "vm/{id}"}},
      {{"POST", "/api/v1/vms/{id}/force-stop"}, {"vm.power", "vm/{id}"}},
      {{"POST", "/api/v1/vms/{id}/reboot"}, {"vm.power", "vm/{id}"}},
      {{"POST", "/api/v1/vms/{id}/pause"}, {"vm.power", "vm/{id}"}},
      {{"POST", "/api/v1/vms/{id}/resume"}, {"vm.power", "vm/{id}"}},
      {{"POST", "/api/v1/vms/{id}/migrate"}, {"vm.manage", "vm/{id}"}},
      {{"GET", "/api/v1/vms/{id}/snapshots"}, {"read", "vm/{id}"}},
      {{"POST", "/api/v1/vms/{id}/snapshots"}, {"vm.manage", "vm/{id}"}},
      {{"DELETE", "/api/v1/vms/{id}/snapshots/{name}"}, {"vm.manage", "vm/{id}"}},
      {{"POST", "/api/v1/vms/{id}/snapshots/{name}/revert"}, {"vm.manage", "vm/{id}"}},
      // Storage.
      {{"GET", "/api/v1/storage/pools"}, {"list", "datacenter"}},
      {{"GET", "/api/v1/storage/pools/{id}"}, {"read", "pool/{id}"}},
      {{"POST", "/api/v1/storage/pools"}, {"storage.manage", "datacenter"}},
      {{"DELETE", "/api/v1/storage/pools/{id}"}, {"storage.manage", "pool/{id}"}},
      {{"POST", "/api/v1/storage/pools/{id}/nodes/{nodeId}"}, {"storage.manage", "pool/{id}"}},
      {{"DELETE", "/api/v1/storage/pools/{id}/nodes/{nodeId}"}, {"storage.manage", "pool/{id}"}},
      {{"GET", "/api/v1/volumes"}, {"list", "datacenter"}},
      {{"GET", "/api/v1/volumes/{id}"}, {"read", "volume/{id}"}},
      {{"POST", "/api/v1/volumes"}, {"volume.manage", "datacenter"}},
      {{"PATCH", "/api/v1/volumes/{id}"}, {"volume.manage", "volume/{id}"}},
      {{"DELETE", "/api/v1/volumes/{id}"}, {"volume.manage", "volume/{id}"}},
      {{"POST", "/api/v1/volumes/{id}/attach"}, {"volume.manage", "volume/{id}"}},
      {{"POST", "/api/v1/volumes/{id}/detach"}, {"volume.manage", "volume/{id}"}},
      {{"GET", "/api/v1/images"}, {"read", "datacenter"}},
      {{"GET", "/api/v1/images/{id}"}, {"read", "datacenter"}},
      {{"POST", "/api/v1/images"}, {"image.manage", "datacenter"}},
      {{"POST", "/api/v1/images/upload"}, {"image.manage", "datacenter"}},
      {{"DELETE", "/api/v1/images/{id}"}, {"image.manage", "datacenter"}},
      // Networks and security groups.
      {{"GET", "/api/v1/networks"}, {"list", "datacenter"}},
      {{"GET", "/api/v1/networks/{id}"}, {"read", "network/{id}"}},
      {{"POST", "/api/v1/networks"}, {"network.manage", "datacenter"}},
      {{"DELETE", "/api/v1/networks/{id}"}, {"network.manage", "network/{id}"}},
      {{"POST", "/api/v1/networks/{id}/ips"}, {"network.manage", "network/{id}"}},
      {{"DELETE", "/api/v1/networks/{id}/ips/{ip}"}, {"network.manage", "network/{id}"}},
      {{"GET", "/api/v1/security-groups"}, {"read", "datacenter"}},
      {{"GET", "/api/v1/security-groups/{id}"}, {"read", "datacenter"}},
      {{"POST", "/api/v1/security-groups"}, {"network.manage", "datacenter"}},
      {{"DELETE", "/api/v1/security-groups/{id}"}, {"network.manage", "datacenter"}},
      {{"POST", "/api/v1/security-groups/{id}/rules"}, {"network.manage", "datacenter"}},
      {{"DELETE", "/api/v1/security-groups/{id}/rules/{ruleId}"}, {"network.manage", "datacenter"}},
      // The log, operations, alerts.
      {{"GET", "/api/v1/events"}, {"read", "datacenter"}},
      {{"GET", "/api/v1/datacenter"}, {"read", "datacenter"}},
      {{"GET", "/api/v1/operations"}, {"read", "datacenter"}},
      {{"GET", "/api/v1/operations/{id}"}, {"read", "datacenter"}},
      {{"GET", "/api/v1/alerts"}, {"read", "datacenter"}},
      {{"GET", "/api/v1/alerts/{id}"}, {"read", "datacenter"}},
      {{"POST", "/api/v1/alerts/{id}/acknowledge"}, {"alert.manage", "datacenter"}},
      {{"POST", "/api/v1/alerts/{id}/resolve"}, {"alert.manage", "datacenter"}},
      // The watch stream (WebSocket): what it shows is the whole datacenter's changes.
      {{"GET", "/api/v1/watch"}, {"read", "datacenter"}},
  };
  return t;
}

} // namespace

std::optional<route_policy> policy_of(std::string_view method, std::string_view pattern) {
  const auto& t = table();
  const auto it = t.find(route_key{method, pattern});
  if (it == t.end())
    return std::nullopt;
  return it->second;
}

} // namespace qx::api
