// The authorization matrix: every route of the API x every principal x every object the route
// can name (the objects of the principal's grants, their siblings in another branch of the
// tree, an unplaced VM, an unclustered node, and ids of nothing), against `qvdc serve` with
// authentication on. Zero unauthorized successes is the claim.
//
// Where the expectations come from: this file, not the server. `spec_routes` below is a literal
// table of what each route needs (a privilege, "authenticated" or "public") and the object it is
// checked on, written from docs/operations.md, decision 0015 and docs/api/openapi.yaml; the
// built-in roles' privileges are written out again here; `model::privileges_on` applies the
// documented rule (an object's ancestry is VM -> its node -> the node's cluster -> datacenter,
// volume -> its pool -> datacenter; the grant nearest the object wins; a grant above the object
// applies only when it propagates) to the topology this test builds. Nothing calls the server's
// policy code. Completeness: every operation in docs/api/openapi.yaml (read as text) must be a
// row of the table, and every row an operation there, so a new route fails this test until it
// has an expectation.
//
// How each case is sent, and why that is honest:
// - Denied cases carry the body that would succeed (a real change: delete, migrate, grant
//   admin to oneself ...). They must answer exactly 403 PERMISSION_DENIED naming the table's
//   privilege and object (401 for a principal whose token is missing, malformed, logged out,
//   of a disabled or deleted user); anything 2xx is an unauthorized success. Every request has
//   its own X-Request-Id, the correlation id of any event it causes: after the phase, every
//   event of the log carrying one of those ids must be an AuditRecorded (refusals are audited,
//   nothing else may happen).
// - Allowed cases must not answer 401 or 403. A mutating one is sent "poisoned": its body gets
//   an unknown field (`qxAuthzProbe`) and it carries an invalid If-Match, so the handler
//   refuses it with a 4xx after the gate let it in (the gate runs before any handler, and a
//   handler reads its body or If-Match before writing). So the topology never changes, no
//   expectation depends on the order of cases, and the same event check proves that none of
//   them changed anything. The exceptions: the streamed image upload is sent as JSON (415 after
//   the gate), and logout (which reads nothing) is sent last, with a spare API token of the
//   principal, and must answer 204.
// - GET /api/v1/watch is checked as a real WebSocket upgrade (101 or the refusal), with the
//   token in the header and in ?access_token=. GET /api/v1/nodes/{id}/session is in the matrix
//   as the plain GET the gate answers; its upgrade takes the node's agent key only, so an
//   upgrade with any principal's user token must be refused too.
#include "api_client.hpp"
#include "raw_socket.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace qx::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// --- The specification --------------------------------------------------------------------

/// What one route needs. `object` is "datacenter" or "<kind>/{id}" (kind cluster, node, vm,
/// pool, network, or volume: the volume itself, below its pool). `body` is a request body that
/// would succeed ("" for none), `query` a query the route needs.
struct route_spec {
  std::string_view method;
  std::string_view pattern;
  /// "public", "authenticated", "list" (any signed-in user; the list shows what the user may
  /// read) or a privilege
  std::string_view privilege;
  std::string_view object;
  std::string_view body;
  std::string_view query;
};

// clang-format off
constexpr route_spec spec_routes[] = {
    // Probes and the two routes that come before a token.
    {"GET", "/health", "public", "datacenter", "", ""},
    {"GET", "/live", "public", "datacenter", "", ""},
    {"GET", "/ready", "public", "datacenter", "", ""},
    {"GET", "/metrics", "read", "datacenter", "", ""},
    {"POST", "/api/v1/auth/login", "public", "datacenter", "", ""},
    {"POST", "/api/v1/nodes/register", "public", "datacenter", "", ""},
    // The watch: the whole datacenter's changes.
    {"GET", "/api/v1/watch", "read", "datacenter", "", ""},
    // Access management.
    {"POST", "/api/v1/auth/logout", "authenticated", "datacenter", "", ""},
    {"GET", "/api/v1/auth/me", "authenticated", "datacenter", "", ""},
    {"GET", "/api/v1/users", "access.manage", "datacenter", "", ""},
    {"POST", "/api/v1/users", "access.manage", "datacenter", R"({"id":"mallory","password":"mallory-password-1"})", ""},
    {"GET", "/api/v1/users/{id}", "access.manage", "datacenter", "", ""},
    {"DELETE", "/api/v1/users/{id}", "access.manage", "datacenter", "", ""},
    {"POST", "/api/v1/users/{id}/password", "access.manage", "datacenter", R"({"password":"changed-password-1"})", ""},
    {"POST", "/api/v1/users/{id}/disable", "access.manage", "datacenter", R"({"reason":"matrix"})", ""},
    {"POST", "/api/v1/users/{id}/enable", "access.manage", "datacenter", "", ""},
    {"POST", "/api/v1/users/{id}/grants", "access.manage", "datacenter", R"({"object":"datacenter","role":"admin"})", ""},
    {"DELETE", "/api/v1/users/{id}/grants", "access.manage", "datacenter", "", "?object=vm/vm1"},
    {"POST", "/api/v1/users/{id}/tokens", "access.manage", "datacenter", R"({"name":"stolen"})", ""},
    {"DELETE", "/api/v1/users/{id}/tokens/{tokenId}", "access.manage", "datacenter", "", ""},
    {"GET", "/api/v1/roles", "access.manage", "datacenter", "", ""},
    {"POST", "/api/v1/roles", "access.manage", "datacenter", R"({"id":"evil","privileges":["access.manage"]})", ""},
    {"GET", "/api/v1/roles/{id}", "access.manage", "datacenter", "", ""},
    {"PUT", "/api/v1/roles/{id}", "access.manage", "datacenter", R"({"privileges":["read","access.manage"]})", ""},
    {"DELETE", "/api/v1/roles/{id}", "access.manage", "datacenter", "", ""},
    {"GET", "/api/v1/audit", "audit.read", "datacenter", "", ""},
    // The log and operations.
    {"GET", "/api/v1/events", "read", "datacenter", "", ""},
    {"GET", "/api/v1/datacenter", "read", "datacenter", "", "?asOf=1"},
    {"GET", "/api/v1/operations", "read", "datacenter", "", ""},
    {"GET", "/api/v1/operations/{id}", "read", "datacenter", "", ""},
    // Clusters.
    {"GET", "/api/v1/clusters", "list", "datacenter", "", ""},
    {"POST", "/api/v1/clusters", "cluster.manage", "datacenter", R"({"id":"evil-c","name":"evil"})", ""},
    {"GET", "/api/v1/clusters/{id}", "read", "cluster/{id}", "", ""},
    {"PATCH", "/api/v1/clusters/{id}", "cluster.manage", "cluster/{id}", R"({"name":"renamed"})", ""},
    {"DELETE", "/api/v1/clusters/{id}", "cluster.manage", "cluster/{id}", "", ""},
    {"POST", "/api/v1/clusters/{id}/nodes/{nodeId}", "cluster.manage", "cluster/{id}", "", ""},
    {"DELETE", "/api/v1/clusters/{id}/nodes/{nodeId}", "cluster.manage", "cluster/{id}", "", ""},
    {"GET", "/api/v1/clusters/{id}/usage", "read", "cluster/{id}", "", ""},
    {"GET", "/api/v1/clusters/{id}/rules", "read", "cluster/{id}", "", ""},
    {"POST", "/api/v1/clusters/{id}/rules", "cluster.manage", "cluster/{id}", R"({"name":"evil-rule","kind":"keep_apart","vmIds":["vm1","vm4"]})", ""},
    {"GET", "/api/v1/clusters/{id}/rules/{ruleId}", "read", "cluster/{id}", "", ""},
    {"PUT", "/api/v1/clusters/{id}/rules/{ruleId}", "cluster.manage", "cluster/{id}", R"({"kind":"keep_apart","vmIds":["vm1","vm4"]})", ""},
    {"DELETE", "/api/v1/clusters/{id}/rules/{ruleId}", "cluster.manage", "cluster/{id}", "", ""},
    {"GET", "/api/v1/clusters/{id}/drs", "read", "cluster/{id}", "", ""},
    {"GET", "/api/v1/clusters/{id}/drs/recommendations", "read", "cluster/{id}", "", ""},
    {"POST", "/api/v1/clusters/{id}/drs/recommendations/{rid}/apply", "cluster.manage", "cluster/{id}", "", ""},
    {"POST", "/api/v1/clusters/{id}/drs/recommendations/{rid}/reject", "cluster.manage", "cluster/{id}", "", ""},
    {"POST", "/api/v1/clusters/{id}/drs/what-if", "read", "cluster/{id}", "", ""},
    {"GET", "/api/v1/clusters/{id}/ha", "read", "cluster/{id}", "", ""},
    // Nodes and their agents.
    {"GET", "/api/v1/nodes", "list", "datacenter", "", ""},
    {"POST", "/api/v1/nodes", "node.manage", "datacenter", R"({"id":"evil-n","hostname":"evil","address":"10.0.0.9","hardware":{"cpuThreads":4,"cpuCores":2,"memoryMib":4096}})", ""},
    {"GET", "/api/v1/nodes/{id}", "read", "node/{id}", "", ""},
    {"PATCH", "/api/v1/nodes/{id}", "node.manage", "node/{id}", R"({"cpuOvercommit":2.0})", ""},
    {"DELETE", "/api/v1/nodes/{id}", "node.manage", "node/{id}", "", ""},
    {"POST", "/api/v1/nodes/discover", "node.manage", "datacenter", R"({"hostUrl":"http://127.0.0.1:9","timeoutMs":100})", ""},
    {"POST", "/api/v1/nodes/registration-tokens", "node.manage", "datacenter", "", ""},
    {"GET", "/api/v1/nodes/{id}/agent", "read", "node/{id}", "", ""},
    {"GET", "/api/v1/nodes/{id}/session", "read", "node/{id}", "", ""},
    {"POST", "/api/v1/nodes/{id}/connect", "node.manage", "node/{id}", "", ""},
    {"POST", "/api/v1/nodes/{id}/disconnect", "node.manage", "node/{id}", R"({"reason":"matrix"})", ""},
    {"POST", "/api/v1/nodes/{id}/evacuate", "node.manage", "node/{id}", "", ""},
    {"POST", "/api/v1/nodes/{id}/enter-maintenance", "node.manage", "node/{id}", "", ""},
    {"POST", "/api/v1/nodes/{id}/exit-maintenance", "node.manage", "node/{id}", "", ""},
    // VMs.
    {"GET", "/api/v1/vms", "list", "datacenter", "", ""},
    {"POST", "/api/v1/vms", "vm.manage", "datacenter", R"({"id":"evil-vm","spec":{"name":"evil","vcpus":1,"memoryMib":512}})", ""},
    {"GET", "/api/v1/vms/{id}", "read", "vm/{id}", "", ""},
    {"DELETE", "/api/v1/vms/{id}", "vm.manage", "vm/{id}", "", ""},
    {"POST", "/api/v1/vms/{id}/start", "vm.power", "vm/{id}", "", ""},
    {"POST", "/api/v1/vms/{id}/migrate", "vm.manage", "vm/{id}", R"({"targetNodeId":"n3"})", ""},
    {"POST", "/api/v1/vms/{id}/stop", "vm.power", "vm/{id}", "", ""},
    {"POST", "/api/v1/vms/{id}/force-stop", "vm.power", "vm/{id}", R"({"reason":"matrix"})", ""},
    {"POST", "/api/v1/vms/{id}/reboot", "vm.power", "vm/{id}", "", ""},
    {"POST", "/api/v1/vms/{id}/pause", "vm.power", "vm/{id}", "", ""},
    {"POST", "/api/v1/vms/{id}/resume", "vm.power", "vm/{id}", "", ""},
    {"GET", "/api/v1/vms/{id}/snapshots", "read", "vm/{id}", "", ""},
    {"POST", "/api/v1/vms/{id}/snapshots", "vm.manage", "vm/{id}", R"({"name":"evil-snap"})", ""},
    {"DELETE", "/api/v1/vms/{id}/snapshots/{name}", "vm.manage", "vm/{id}", "", ""},
    {"POST", "/api/v1/vms/{id}/snapshots/{name}/revert", "vm.manage", "vm/{id}", "", ""},
    // Storage pools and volumes.
    {"GET", "/api/v1/storage/pools", "list", "datacenter", "", ""},
    {"POST", "/api/v1/storage/pools", "storage.manage", "datacenter", R"({"id":"evil-p","name":"evil","type":"dir","settings":{"path":"/srv/evil"},"capacityBytes":1073741824})", ""},
    {"GET", "/api/v1/storage/pools/{id}", "read", "pool/{id}", "", ""},
    {"DELETE", "/api/v1/storage/pools/{id}", "storage.manage", "pool/{id}", "", ""},
    {"POST", "/api/v1/storage/pools/{id}/nodes/{nodeId}", "storage.manage", "pool/{id}", "", ""},
    {"DELETE", "/api/v1/storage/pools/{id}/nodes/{nodeId}", "storage.manage", "pool/{id}", "", ""},
    {"GET", "/api/v1/volumes", "list", "datacenter", "", ""},
    {"POST", "/api/v1/volumes", "volume.manage", "datacenter", R"({"id":"evil-v","name":"evil","poolId":"p1","sizeBytes":1048576})", ""},
    {"GET", "/api/v1/volumes/{id}", "read", "volume/{id}", "", ""},
    {"PATCH", "/api/v1/volumes/{id}", "volume.manage", "volume/{id}", R"({"sizeBytes":4194304})", ""},
    {"DELETE", "/api/v1/volumes/{id}", "volume.manage", "volume/{id}", "", ""},
    {"POST", "/api/v1/volumes/{id}/attach", "volume.manage", "volume/{id}", R"({"vmId":"vm1"})", ""},
    {"POST", "/api/v1/volumes/{id}/detach", "volume.manage", "volume/{id}", R"({"vmId":"vm1"})", ""},
    // Networks and security groups.
    {"GET", "/api/v1/networks", "list", "datacenter", "", ""},
    {"POST", "/api/v1/networks", "network.manage", "datacenter", R"({"id":"evil-net","name":"evil","type":"vlan","vlanId":999,"cidr":"10.99.0.0/24"})", ""},
    {"GET", "/api/v1/networks/{id}", "read", "network/{id}", "", ""},
    {"DELETE", "/api/v1/networks/{id}", "network.manage", "network/{id}", "", ""},
    {"POST", "/api/v1/networks/{id}/ips", "network.manage", "network/{id}", R"({"owner":"evil"})", ""},
    {"DELETE", "/api/v1/networks/{id}/ips/{ip}", "network.manage", "network/{id}", "", ""},
    {"GET", "/api/v1/security-groups", "read", "datacenter", "", ""},
    {"POST", "/api/v1/security-groups", "network.manage", "datacenter", R"({"id":"evil-sg","name":"evil"})", ""},
    {"GET", "/api/v1/security-groups/{id}", "read", "datacenter", "", ""},
    {"DELETE", "/api/v1/security-groups/{id}", "network.manage", "datacenter", "", ""},
    {"POST", "/api/v1/security-groups/{id}/rules", "network.manage", "datacenter", R"({"direction":"inbound","protocol":"tcp","portFrom":22,"portTo":22,"cidr":"0.0.0.0/0"})", ""},
    {"DELETE", "/api/v1/security-groups/{id}/rules/{ruleId}", "network.manage", "datacenter", "", ""},
    // Images.
    {"GET", "/api/v1/images", "read", "datacenter", "", ""},
    {"POST", "/api/v1/images", "image.manage", "datacenter", R"({"id":"evil-img","name":"evil","format":"raw","sizeBytes":1})", ""},
    {"POST", "/api/v1/images/upload", "image.manage", "datacenter", "", ""},
    {"GET", "/api/v1/images/{id}", "read", "datacenter", "", ""},
    {"DELETE", "/api/v1/images/{id}", "image.manage", "datacenter", "", ""},
    // Alerts.
    {"GET", "/api/v1/alerts", "read", "datacenter", "", ""},
    {"GET", "/api/v1/alerts/{id}", "read", "datacenter", "", ""},
    {"POST", "/api/v1/alerts/{id}/acknowledge", "alert.manage", "datacenter", R"({"comment":"matrix"})", ""},
    {"POST", "/api/v1/alerts/{id}/resolve", "alert.manage", "datacenter", R"({"comment":"matrix"})", ""},
};
// clang-format on

constexpr std::string_view upload_pattern = "/api/v1/images/upload";
constexpr std::string_view watch_pattern = "/api/v1/watch";
constexpr std::string_view logout_pattern = "/api/v1/auth/logout";

/// The built-in roles (docs/operations.md): admin everything, operator read + VM power and
/// changes + volumes + images + alerts, viewer read.
const std::map<std::string, std::set<std::string>>& builtin_roles() {
  static const std::map<std::string, std::set<std::string>> roles{
      {"admin",
       {"read", "vm.power", "vm.manage", "volume.manage", "image.manage", "alert.manage",
        "node.manage", "cluster.manage", "storage.manage", "network.manage", "access.manage",
        "audit.read"}},
      {"operator",
       {"read", "vm.power", "vm.manage", "volume.manage", "image.manage", "alert.manage"}},
      {"viewer", {"read"}}};
  return roles;
}

/// The custom roles the test creates and keeps ("gone-role" is created, granted, then deleted:
/// a grant of a role that no longer exists gives nothing).
const std::map<std::string, std::set<std::string>>& custom_roles() {
  static const std::map<std::string, std::set<std::string>> roles{
      {"vm-power", {"read", "vm.power"}}, {"auditor", {"audit.read"}}, {"spare-role", {"read"}}};
  return roles;
}

// --- The model ----------------------------------------------------------------------------

struct grant {
  std::string object;
  std::string role;
  bool propagate = true;
};

/// How a principal's requests authenticate.
enum class credential {
  none,       ///< no Authorization header
  malformed,  ///< "Bearer " and no JWT
  live,       ///< a session token of an enabled user
  logged_out, ///< a session token its user logged out
  disabled,   ///< a session token of a user disabled since
  deleted,    ///< a session token of a user deleted since
};

/// A principal: a user with grants, or a request without a usable token. `grants` are those
/// in effect when the matrix runs; `setup` says how the test gets there.
struct principal {
  std::string id;
  std::vector<grant> grants;
  credential cred = credential::live;
  enum class setup { plain, revoke_admin_grant, delete_role } how = setup::plain;
  std::string token; ///< filled in by the fixture
  std::string spare; ///< an API token of the user, for the logout case
};

std::vector<principal> principals() {
  using c = credential;
  using s = principal::setup;
  return {
      {"anonymous", {}, c::none, s::plain, {}, {}},
      {"malformed", {}, c::malformed, s::plain, {}, {}},
      {"no-grant", {}, c::live, s::plain, {}, {}},
      {"dc-viewer", {{"datacenter", "viewer"}}, c::live, s::plain, {}, {}},
      {"dc-operator", {{"datacenter", "operator"}}, c::live, s::plain, {}, {}},
      {"dc-admin", {{"datacenter", "admin"}}, c::live, s::plain, {}, {}},
      {"dc-admin-here", {{"datacenter", "admin", false}}, c::live, s::plain, {}, {}},
      {"c1-admin", {{"cluster/c1", "admin"}}, c::live, s::plain, {}, {}},
      {"c1-operator-here", {{"cluster/c1", "operator", false}}, c::live, s::plain, {}, {}},
      {"n1-viewer-here", {{"node/n1", "viewer", false}}, c::live, s::plain, {}, {}},
      {"vm1-operator", {{"vm/vm1", "operator"}}, c::live, s::plain, {}, {}},
      // Nearest wins: viewer on vm1 under admin on its cluster leaves vm1 read-only.
      {"c1-admin-vm1-viewer",
       {{"cluster/c1", "admin"}, {"vm/vm1", "viewer"}},
       c::live,
       s::plain,
       {},
       {}},
      {"p1-admin", {{"pool/p1", "admin"}}, c::live, s::plain, {}, {}},
      {"p1-admin-here", {{"pool/p1", "admin", false}}, c::live, s::plain, {}, {}},
      {"net1-admin", {{"network/net1", "admin"}}, c::live, s::plain, {}, {}},
      {"n2-vm-power", {{"node/n2", "vm-power"}}, c::live, s::plain, {}, {}},
      {"auditor", {{"datacenter", "auditor"}}, c::live, s::plain, {}, {}},
      {"gone-role", {{"datacenter", "gone-role"}}, c::live, s::delete_role, {}, {}},
      {"revoked", {}, c::live, s::revoke_admin_grant, {}, {}},
      {"logged-out", {{"datacenter", "admin"}}, c::logged_out, s::plain, {}, {}},
      {"disabled", {{"datacenter", "admin"}}, c::disabled, s::plain, {}, {}},
      {"deleted", {{"datacenter", "admin"}}, c::deleted, s::plain, {}, {}},
  };
}

/// The topology the fixture builds: each object's parent in the documented ancestry (VM ->
/// node -> cluster, volume -> pool; everything else, unplaced VMs, unclustered nodes and ids
/// of nothing hang from the datacenter).
const std::map<std::string, std::string>& parents() {
  static const std::map<std::string, std::string> p{
      {"vm/vm1", "node/n1"},     {"vm/vm2", "node/n2"},    {"node/n1", "cluster/c1"},
      {"node/n2", "cluster/c2"}, {"volume/v1", "pool/p1"}, {"volume/v2", "pool/p2"}};
  return p;
}

/// The object, then its ancestors up to the datacenter.
std::vector<std::string> chain_of(const std::string& object) {
  std::vector<std::string> out{object};
  while (out.back() != "datacenter") {
    const auto it = parents().find(out.back());
    out.push_back(it == parents().end() ? "datacenter" : it->second);
  }
  return out;
}

/// The privileges `p` holds on `object`: the grant nearest the object wins; one above the
/// object counts only when it propagates; a role that does not exist gives nothing.
std::set<std::string> privileges_on(const principal& p, const std::string& object) {
  const auto chain = chain_of(object);
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const auto g = std::find_if(p.grants.begin(), p.grants.end(),
                                [&](const grant& x) { return x.object == chain[i]; });
    if (g == p.grants.end() || (i > 0 && !g->propagate))
      continue;
    if (const auto b = builtin_roles().find(g->role); b != builtin_roles().end())
      return b->second;
    if (const auto c = custom_roles().find(g->role); c != custom_roles().end())
      return c->second;
    return {};
  }
  return {};
}

/// The ids a path parameter takes: for the objects authorization looks at, two in different
/// branches of the tree (so each principal's object and another's are both tried), the
/// unplaced VM or unclustered node where there is one, and an id of nothing.
std::vector<std::string> values_of(std::string_view pattern, std::string_view param,
                                   const std::string& operation_id) {
  if (param == "nodeId")
    return {"n1", "n2"};
  if (param == "tokenId")
    return {"no-such-token"};
  if (param == "name")
    return {"s1"};
  if (param == "ip")
    return {"10.1.0.10", "10.2.0.10"};
  if (param == "ruleId")
    return {"rule-1"};
  if (param == "rid")
    return {"no-such-recommendation"};
  const std::pair<std::string_view, std::vector<std::string>> by_prefix[] = {
      {"/api/v1/vms/", {"vm1", "vm2", "vm4", "ghost"}},
      {"/api/v1/nodes/", {"n1", "n2", "n3", "ghost"}},
      {"/api/v1/clusters/", {"c1", "c2", "ghost"}},
      {"/api/v1/storage/pools/", {"p1", "p2", "ghost"}},
      {"/api/v1/volumes/", {"v1", "v2", "ghost"}},
      {"/api/v1/networks/", {"net1", "net2", "ghost"}},
      {"/api/v1/users/", {"target"}},
      {"/api/v1/roles/", {"spare-role"}},
      {"/api/v1/images/", {"img1"}},
      {"/api/v1/security-groups/", {"sg1"}},
      {"/api/v1/alerts/", {"no-such-alert"}},
      {"/api/v1/operations/", {operation_id}},
  };
  if (param == "id")
    for (const auto& [prefix, ids] : by_prefix)
      if (pattern.starts_with(prefix))
        return ids;
  ADD_FAILURE() << "no values for {" << param << "} of " << pattern;
  return {};
}

/// One route with its path parameters filled in.
struct target {
  const route_spec* route;
  std::string path;   ///< with the query
  std::string object; ///< what the privilege is checked on
};

std::vector<target> expand(const route_spec& r, const std::string& operation_id) {
  std::vector<std::pair<std::string, std::string>> partial{{"", std::string{r.object}}};
  std::string_view rest = r.pattern;
  while (!rest.empty()) {
    const auto open = rest.find('{');
    const auto literal = rest.substr(0, open);
    for (auto& [path, object] : partial)
      path += literal;
    if (open == std::string_view::npos)
      break;
    const auto close = rest.find('}', open);
    const auto param = rest.substr(open + 1, close - open - 1);
    std::vector<std::pair<std::string, std::string>> next;
    for (const auto& [path, object] : partial)
      for (const auto& v : values_of(r.pattern, param, operation_id)) {
        auto o = object;
        const auto placeholder = "{" + std::string{param} + "}";
        if (const auto at = o.find(placeholder); at != std::string::npos)
          o.replace(at, placeholder.size(), v);
        next.emplace_back(path + v, std::move(o));
      }
    partial = std::move(next);
    rest = rest.substr(close + 1);
  }
  std::vector<target> out;
  for (auto& [path, object] : partial)
    out.push_back(target{&r, path + std::string{r.query}, std::move(object)});
  return out;
}

bool authenticates(const principal& p) {
  return p.cred == credential::live;
}

bool allowed(const principal& p, const target& t) {
  if (!authenticates(p))
    return false;
  return t.route->privilege == "authenticated" || t.route->privilege == "list" ||
         privileges_on(p, t.object).count(std::string{t.route->privilege}) == 1;
}

/// The object kind the items of list route `pattern` are authorized as.
std::string list_kind(std::string_view pattern) {
  const std::pair<std::string_view, std::string_view> kinds[] = {
      {"/api/v1/vms", "vm"},           {"/api/v1/nodes", "node"},
      {"/api/v1/clusters", "cluster"}, {"/api/v1/storage/pools", "pool"},
      {"/api/v1/volumes", "volume"},   {"/api/v1/networks", "network"}};
  for (const auto& [p, k] : kinds)
    if (p == pattern)
      return std::string{k};
  ADD_FAILURE() << "no kind for the list " << pattern;
  return {};
}

/// Every operation of docs/api/openapi.yaml: "METHOD /path".
std::set<std::string> openapi_operations() {
  std::ifstream in{QX_OPENAPI_PATH};
  EXPECT_TRUE(in.good()) << "cannot read " << QX_OPENAPI_PATH;
  std::set<std::string> out;
  std::string line;
  std::string path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
      line.pop_back();
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!in_paths || line.empty())
      continue;
    if (line.front() != ' ' && line.front() != '#')
      break; // the next top-level key (components)
    if (line.starts_with("  /") && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
      continue;
    }
    for (const char* m : {"get", "put", "post", "patch", "delete", "head", "options"})
      if (line == std::string{"    "} + m + ":") {
        std::string upper{m};
        std::transform(upper.begin(), upper.end(), upper.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
        out.insert(upper + " " + path);
      }
  }
  return out;
}

// --- Requests -----------------------------------------------------------------------------

json parse(const std::string& s) {
  auto j = json::parse(s, nullptr, false);
  return j.is_discarded() ? json{} : j;
}

std::string code_of(const api_response& r) {
  const auto j = parse(r.body);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object())
    return {};
  return j["error"].value("code", "");
}

std::string detail_of(const api_response& r, const char* key) {
  const auto j = parse(r.body);
  if (!j.is_object() || !j.contains("error") || !j["error"].contains("details") ||
      !j["error"]["details"].is_object())
    return {};
  return j["error"]["details"].value(key, "");
}

constexpr std::string_view boundary = "----qx-authz-boundary-0b5c";

std::string upload_body() {
  const std::string b{boundary};
  return "--" + b + "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nevil\r\n--" + b +
         "\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\nraw\r\n--" + b +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"evil.raw\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\nEVIL\r\n--" +
         b + "--\r\n";
}

/// The status of a WebSocket upgrade request for `target` (0 when no answer came).
unsigned upgrade_status(std::uint16_t port, const std::string& target,
                        const std::string& authorization, const std::string& request_id) {
  raw_socket s{port};
  std::string req = "GET " + target +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    "X-Request-Id: " +
                    request_id + "\r\n";
  if (!authorization.empty())
    req += "Authorization: " + authorization + "\r\n";
  s.write_all(req + "\r\n");
  const auto head = s.read_head(10s);
  if (!head || head->size() < 12 || !head->starts_with("HTTP/1.1 "))
    return 0;
  return static_cast<unsigned>(std::stoul(head->substr(9, 3)));
}

// --- The fixture --------------------------------------------------------------------------

class api_authz_matrix : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream{dir_.path() / "admin-password"} << "admin-password-1\n";
    server_ =
        server_process::program({QX_QVDC_PATH, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                                 (dir_.path() / "data").string(), "--hypervisor-stand-in",
                                 "--admin-password-file", (dir_.path() / "admin-password").string(),
                                 "--rate-limit", "0", "--anonymous-rate-limit", "0"},
                                (dir_.path() / "err").string());
    ASSERT_NO_THROW(server_->start());
    api_ = std::make_unique<api_client>(server_->base_url());
    admin_ = login("admin", "admin-password-1");
    ASSERT_FALSE(admin_.empty()) << server_->stderr_tail();
  }

  void TearDown() override {
    api_.reset();
    if (HasFailure() && server_)
      std::cerr << "--- qvdc stderr (end) ---\n" << server_->stderr_tail(2000) << "\n";
  }

  std::string login(const std::string& user, const std::string& password) {
    // The first admin is created once the read models caught up: retry briefly.
    for (int i = 0; i < 200; ++i) {
      const auto r =
          api_->post("/api/v1/auth/login", json{{"user", user}, {"password", password}}.dump());
      if (r.status == 200)
        return parse(r.body).value("token", "");
      if ((code_of(r) != "LOGIN_FAILED" || user != "admin") && r.status != 503)
        return {};
      std::this_thread::sleep_for(50ms);
    }
    return {};
  }

  api_response as_admin(const std::string& method, const std::string& path,
                        std::optional<std::string> body = std::nullopt) {
    return api_->send(method, path, std::move(body), {{"Authorization", "Bearer " + admin_}});
  }

  api_response as(const principal& p, const std::string& method, const std::string& path) {
    return api_->send(method, path, std::nullopt, {{"Authorization", "Bearer " + p.token}});
  }

  /// The ids of a list answer's items.
  static std::set<std::string> ids_of(const api_response& r) {
    std::set<std::string> out;
    const auto j = parse(r.body);
    if (j.is_object() && j.contains("items") && j["items"].is_array())
      for (const auto& item : j["items"])
        out.insert(item.value("id", ""));
    return out;
  }

  static std::string joined(const std::set<std::string>& ids) {
    std::string out = "[";
    for (const auto& id : ids)
      out += (out.size() > 1 ? "," : "") + id;
    return out + "]";
  }

  /// An admin request that must answer `want`.
  void must(unsigned want, const std::string& method, const std::string& path,
            std::optional<std::string> body = std::nullopt) {
    const auto r = as_admin(method, path, std::move(body));
    ASSERT_EQ(r.status, want) << method << " " << path << ": " << r.body;
  }

  /// GET `path` as admin until `key` is `want`.
  bool wait_field(const std::string& path, const std::string& key, const std::string& want) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (parse(as_admin("GET", path).body).value(key, "") == want)
        return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  /// Two of everything, in two branches of the tree, plus an unclustered node and an unplaced
  /// VM; then checks that the server sees the ancestry the model assumes.
  void build_topology() {
    for (const auto* n : {"n1", "n2", "n3"})
      ASSERT_NO_FATAL_FAILURE(
          must(201, "POST", "/api/v1/nodes",
               json{{"id", n},
                    {"hostname", std::string{"host-"} + n},
                    {"address", "10.0.0.1"},
                    {"hardware", {{"cpuThreads", 16}, {"cpuCores", 8}, {"memoryMib", 65536}}}}
                   .dump()));
    for (const auto& [c, n] : {std::pair{"c1", "n1"}, std::pair{"c2", "n2"}}) {
      ASSERT_NO_FATAL_FAILURE(
          must(201, "POST", "/api/v1/clusters", json{{"id", c}, {"name", c}}.dump()));
      ASSERT_NO_FATAL_FAILURE(
          must(200, "POST", std::string{"/api/v1/clusters/"} + c + "/nodes/" + n, "{}"));
    }
    for (const auto* vm : {"vm1", "vm2", "vm4"})
      ASSERT_NO_FATAL_FAILURE(must(
          201, "POST", "/api/v1/vms",
          json{{"id", vm}, {"spec", {{"name", vm}, {"vcpus", 1}, {"memoryMib", 512}}}}.dump()));
    for (const auto& [vm, n] : {std::pair{"vm1", "n1"}, std::pair{"vm2", "n2"}}) {
      const auto r =
          as_admin("POST", std::string{"/api/v1/vms/"} + vm + "/start", json{{"nodeId", n}}.dump());
      ASSERT_EQ(r.status, 202u) << r.body;
      operation_id_ = parse(r.body).value("id", "");
      ASSERT_TRUE(wait_field(std::string{"/api/v1/vms/"} + vm, "powerState", "running"));
      const auto s = as_admin("POST", std::string{"/api/v1/vms/"} + vm + "/snapshots",
                              json{{"name", "s1"}}.dump());
      ASSERT_EQ(s.status, 202u) << s.body;
    }
    for (const auto& [p, v] : {std::pair{"p1", "v1"}, std::pair{"p2", "v2"}}) {
      ASSERT_NO_FATAL_FAILURE(must(201, "POST", "/api/v1/storage/pools",
                                   json{{"id", p},
                                        {"name", p},
                                        {"type", "dir"},
                                        {"settings", {{"path", std::string{"/srv/"} + p}}},
                                        {"capacityBytes", 10737418240ULL}}
                                       .dump()));
      ASSERT_NO_FATAL_FAILURE(
          must(201, "POST", "/api/v1/volumes",
               json{{"id", v}, {"name", v}, {"poolId", p}, {"sizeBytes", 1048576}}.dump()));
    }
    for (const auto& [net, n] : {std::pair{"net1", 1}, std::pair{"net2", 2}}) {
      const auto prefix = "10." + std::to_string(n) + ".0.";
      ASSERT_NO_FATAL_FAILURE(must(201, "POST", "/api/v1/networks",
                                   json{{"id", net},
                                        {"name", net},
                                        {"type", "vlan"},
                                        {"vlanId", 100 + n},
                                        {"cidr", prefix + "0/24"}}
                                       .dump()));
      ASSERT_NO_FATAL_FAILURE(must(200, "POST", std::string{"/api/v1/networks/"} + net + "/ips",
                                   json{{"owner", "vm1"}, {"ip", prefix + "10"}}.dump()));
    }
    ASSERT_NO_FATAL_FAILURE(
        must(201, "POST", "/api/v1/images",
             json{{"id", "img1"}, {"name", "img"}, {"format", "raw"}, {"sizeBytes", 1}}.dump()));
    ASSERT_NO_FATAL_FAILURE(
        must(201, "POST", "/api/v1/security-groups", json{{"id", "sg1"}, {"name", "sg"}}.dump()));
    ASSERT_NO_FATAL_FAILURE(must(200, "POST", "/api/v1/security-groups/sg1/rules",
                                 json{{"direction", "inbound"},
                                      {"protocol", "tcp"},
                                      {"portFrom", 80},
                                      {"portTo", 80},
                                      {"cidr", "0.0.0.0/0"}}
                                     .dump()));
    ASSERT_NO_FATAL_FAILURE(must(201, "POST", "/api/v1/users",
                                 json{{"id", "target"}, {"password", "target-password-1"}}.dump()));
    for (const auto& [id, privileges] : custom_roles())
      ASSERT_NO_FATAL_FAILURE(
          must(201, "POST", "/api/v1/roles", json{{"id", id}, {"privileges", privileges}}.dump()));
    ASSERT_NO_FATAL_FAILURE(must(201, "POST", "/api/v1/roles",
                                 json{{"id", "gone-role"}, {"privileges", {"read"}}}.dump()));
    // The ancestry the model assumes is the one the server holds.
    const auto field = [&](const std::string& path, const char* key) {
      return parse(as_admin("GET", path).body).value(key, "");
    };
    EXPECT_EQ(field("/api/v1/vms/vm1", "nodeId"), "n1");
    EXPECT_EQ(field("/api/v1/vms/vm2", "nodeId"), "n2");
    EXPECT_EQ(field("/api/v1/vms/vm4", "nodeId"), "");
    EXPECT_EQ(field("/api/v1/nodes/n1", "clusterId"), "c1");
    EXPECT_EQ(field("/api/v1/nodes/n2", "clusterId"), "c2");
    EXPECT_EQ(field("/api/v1/nodes/n3", "clusterId"), "");
    EXPECT_EQ(field("/api/v1/volumes/v1", "poolId"), "p1");
    EXPECT_EQ(field("/api/v1/volumes/v2", "poolId"), "p2");
  }

  /// Users with their grants, signed in, then logged out, disabled or deleted as the
  /// principal says.
  void make_principals() {
    principals_ = principals();
    for (auto& p : principals_) {
      if (p.cred == credential::none)
        continue;
      if (p.cred == credential::malformed) {
        p.token = "not-a-token";
        continue;
      }
      ASSERT_NO_FATAL_FAILURE(must(201, "POST", "/api/v1/users",
                                   json{{"id", p.id}, {"password", p.id + "-password-1"}}.dump()));
      auto grants = p.grants;
      if (p.how == principal::setup::revoke_admin_grant)
        grants.push_back({"datacenter", "admin"});
      for (const auto& g : grants)
        ASSERT_NO_FATAL_FAILURE(
            must(200, "POST", "/api/v1/users/" + p.id + "/grants",
                 json{{"object", g.object}, {"role", g.role}, {"propagate", g.propagate}}.dump()));
      p.token = login(p.id, p.id + "-password-1");
      ASSERT_FALSE(p.token.empty()) << p.id;
      const auto spare =
          as_admin("POST", "/api/v1/users/" + p.id + "/tokens", json{{"name", "spare"}}.dump());
      ASSERT_EQ(spare.status, 201u) << spare.body;
      p.spare = parse(spare.body).value("token", "");
      if (p.how == principal::setup::revoke_admin_grant) {
        ASSERT_NO_FATAL_FAILURE(
            must(200, "DELETE", "/api/v1/users/" + p.id + "/grants?object=datacenter"));
      }
      if (p.how == principal::setup::delete_role) {
        ASSERT_NO_FATAL_FAILURE(must(200, "DELETE", "/api/v1/roles/gone-role"));
      }
      if (p.cred == credential::logged_out) {
        ASSERT_EQ(api_->send("POST", "/api/v1/auth/logout", std::nullopt,
                             {{"Authorization", "Bearer " + p.token}})
                      .status,
                  204u);
      }
      if (p.cred == credential::disabled) {
        ASSERT_NO_FATAL_FAILURE(must(200, "POST", "/api/v1/users/" + p.id + "/disable", "{}"));
      }
      if (p.cred == credential::deleted) {
        ASSERT_NO_FATAL_FAILURE(must(200, "DELETE", "/api/v1/users/" + p.id));
      }
    }
  }

  /// The log's head position (from the public /ready).
  std::uint64_t log_head() {
    return parse(api_->get("/ready").body).value("logHead", std::uint64_t{0});
  }

  /// Events after `from` that a request of this test caused (its X-Request-Id is their
  /// correlation id) and that are not the audit record of the request.
  std::vector<std::string> changes_since(std::uint64_t from) {
    std::vector<std::string> out;
    std::uint64_t next = from + 1;
    for (int page = 0; page < 1000 && next != 0; ++page) {
      const auto r =
          as_admin("GET", "/api/v1/events?limit=1000&fromPosition=" + std::to_string(next));
      if (r.status != 200) {
        ADD_FAILURE() << "events: " << r.status << " " << r.body.substr(0, 300);
        return out;
      }
      const auto j = parse(r.body);
      for (const auto& e : j["items"]) {
        const auto type = e.value("type", "");
        const auto correlation = e.value("correlationId", "");
        if (correlation.starts_with("authz-") && type != "qx.events.v1.AuditRecorded")
          out.push_back(std::to_string(e.value("position", std::uint64_t{0})) + " " + type +
                        " on " + e.value("stream", "") + " by " + correlation + " (" +
                        described_[correlation] + ")");
      }
      next = j.value("nextFromPosition", std::uint64_t{0});
    }
    return out;
  }

  /// One case ready to send.
  struct wire {
    std::string method;
    std::string path;
    std::optional<std::string> body;
    header_list headers;
    std::string content_type = "application/json";
    std::string request_id;
  };

  wire request_for(const principal& p, const target& t, bool expect_allowed) {
    wire w;
    w.method = std::string{t.route->method};
    w.path = t.path;
    w.request_id = "authz-" + std::to_string(++sent_);
    w.headers.emplace_back("X-Request-Id", w.request_id);
    if (p.cred != credential::none)
      w.headers.emplace_back("Authorization", "Bearer " + p.token);
    const bool writes = w.method != "GET";
    if (t.route->pattern == upload_pattern) {
      // Denied: a real multipart upload. Allowed: JSON, which the upload refuses (415).
      w.body = expect_allowed ? std::string{"{}"} : upload_body();
      w.content_type = expect_allowed ? std::string{"application/json"}
                                      : "multipart/form-data; boundary=" + std::string{boundary};
    } else if (writes && expect_allowed) {
      auto b = t.route->body.empty() ? json::object() : parse(std::string{t.route->body});
      b["qxAuthzProbe"] = true;
      w.body = b.dump();
      w.headers.emplace_back("If-Match", "\"not-a-version\"");
    } else if (!t.route->body.empty()) {
      w.body = std::string{t.route->body};
    }
    described_[w.request_id] = p.id + " " + w.method + " " + w.path;
    return w;
  }

  /// Sends `wires` (JSON ones concurrently, in small batches; uploads one by one).
  std::vector<api_response> send(const std::vector<wire>& wires) {
    std::vector<api_response> out(wires.size());
    std::vector<std::size_t> batch;
    const auto flush = [&] {
      std::vector<api_client::request> reqs;
      for (const auto i : batch)
        reqs.push_back({wires[i].method, wires[i].path, wires[i].body, wires[i].headers});
      auto got = api_->send_all(reqs);
      for (std::size_t k = 0; k < batch.size(); ++k)
        out[batch[k]] = std::move(got[k]);
      batch.clear();
    };
    for (std::size_t i = 0; i < wires.size(); ++i) {
      if (wires[i].content_type != "application/json") {
        out[i] = api_->send(wires[i].method, wires[i].path, wires[i].body, wires[i].headers,
                            wires[i].content_type);
        continue;
      }
      batch.push_back(i);
      if (batch.size() == 32)
        flush();
    }
    flush();
    return out;
  }

  temp_dir dir_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<api_client> api_;
  std::string admin_;
  std::string operation_id_;
  std::vector<principal> principals_;
  std::size_t sent_ = 0;
  std::map<std::string, std::string> described_; ///< request id -> "who METHOD path"
};

TEST_F(api_authz_matrix, every_route_principal_and_object_is_authorized_as_documented) {
  const auto started = std::chrono::steady_clock::now();

  // Completeness: the table is the API, no more, no less.
  const auto documented = openapi_operations();
  ASSERT_GT(documented.size(), 50u) << "docs/api/openapi.yaml was not parsed";
  std::set<std::string> tabled;
  for (const auto& r : spec_routes) {
    const auto key = std::string{r.method} + " " + std::string{r.pattern};
    EXPECT_TRUE(tabled.insert(key).second) << key << " is twice in the table";
    EXPECT_EQ(documented.count(key), 1u) << key << " is in the table but not in openapi.yaml";
  }
  for (const auto& op : documented)
    EXPECT_EQ(tabled.count(op), 1u) << op << " is in openapi.yaml but has no expectation here";

  ASSERT_NO_FATAL_FAILURE(build_topology());
  ASSERT_NO_FATAL_FAILURE(make_principals());

  // Every (route, principal, object) case, split by the expectation.
  struct one_case {
    const principal* who;
    target t;
  };
  std::vector<one_case> denied;
  std::vector<one_case> permitted;
  std::vector<one_case> logouts; // allowed logouts, sent last
  std::vector<one_case> watches;
  for (const auto& r : spec_routes) {
    if (r.privilege == "public")
      continue;
    for (const auto& t : expand(r, operation_id_))
      for (const auto& p : principals_) {
        if (r.pattern == watch_pattern)
          watches.push_back({&p, t});
        else if (!allowed(p, t))
          denied.push_back({&p, t});
        else if (r.pattern == logout_pattern)
          logouts.push_back({&p, t});
        else
          permitted.push_back({&p, t});
      }
  }

  std::vector<std::string> unauthorized; // the claim: stays empty
  std::vector<std::string> wrong_refusal;
  std::vector<std::string> over_denied;
  std::vector<std::string> probe_not_refused;
  const auto what = [](const one_case& c) {
    return c.who->id + " " + std::string{c.t.route->method} + " " + c.t.path;
  };

  // Phase 1: denied. Exactly 401 for a principal without a usable token, else exactly 403
  // naming the table's privilege and object; nothing but audit records in the log.
  // Sends every case (as allowed or not) and hands each with its answer, and how to show it, to
  // `check`.
  const auto send_cases = [&](const std::vector<one_case>& cases, bool expect_allowed,
                              const auto& check) {
    std::vector<wire> wires;
    for (const auto& c : cases)
      wires.push_back(request_for(*c.who, c.t, expect_allowed));
    const auto got = send(wires);
    for (std::size_t i = 0; i < cases.size(); ++i)
      check(cases[i], got[i],
            what(cases[i]) + " -> " + std::to_string(got[i].status) + " " +
                got[i].body.substr(0, 200));
  };

  const auto head1 = log_head();
  send_cases(denied, false,
             [&](const one_case& c, const api_response& r, const std::string& shown) {
               if (r.status >= 200 && r.status < 300) {
                 unauthorized.push_back(shown);
               } else if (!authenticates(*c.who)) {
                 if (r.status != 401)
                   wrong_refusal.push_back(shown + " (want 401)");
               } else if (r.status != 403 || code_of(r) != "PERMISSION_DENIED" ||
                          detail_of(r, "privilege") != c.t.route->privilege ||
                          detail_of(r, "object") != c.t.object) {
                 wrong_refusal.push_back(shown + " (want 403 " + std::string{c.t.route->privilege} +
                                         " on " + c.t.object + ")");
               }
             });
  const auto changed1 = changes_since(head1);

  // Phase 2: allowed. Never 401/403; the probe (unknown field, bad If-Match) is refused by the
  // handler after the gate, so nothing changes.
  const auto head2 = log_head();
  send_cases(permitted, true,
             [&](const one_case& c, const api_response& r, const std::string& shown) {
               if (r.status == 401 || r.status == 403 || code_of(r) == "PERMISSION_DENIED") {
                 over_denied.push_back(shown);
               } else if (c.t.route->method != "GET" &&
                          (r.status < 400 || r.status >= 500 || r.status == 429)) {
                 probe_not_refused.push_back(shown);
               } else if (c.t.route->method == "GET" && (r.status >= 500 || r.status == 429)) {
                 over_denied.push_back(shown + " (a read that did not answer)");
               }
             });
  const auto changed2 = changes_since(head2);

  // Lists: every signed-in principal may list, and sees exactly the objects the model lets it
  // read, whole (limit=1000) and page by page (limit=1, following nextPageToken).
  std::vector<std::string> wrong_lists;
  std::size_t list_cases = 0;
  for (const auto& r : spec_routes) {
    if (r.privilege != "list")
      continue;
    const std::string path{r.pattern};
    const auto kind = list_kind(r.pattern);
    const auto everything = ids_of(as_admin("GET", path + "?limit=1000"));
    EXPECT_GE(everything.size(), 2u) << path << " lists too little to tell anything";
    for (const auto& p : principals_) {
      if (!authenticates(p))
        continue;
      ++list_cases;
      std::set<std::string> want;
      for (const auto& id : everything)
        if (privileges_on(p, kind + "/" + id).count("read") == 1)
          want.insert(id);
      const auto whole = as(p, "GET", path + "?limit=1000");
      if (whole.status != 200 || ids_of(whole) != want)
        wrong_lists.push_back(p.id + " GET " + path + " -> " + std::to_string(whole.status) + " " +
                              whole.body.substr(0, 200) + " (want " + joined(want) + ")");
      std::set<std::string> paged;
      std::string token;
      for (int page = 0; page < 50; ++page) {
        const auto one =
            as(p, "GET", path + "?limit=1" + (token.empty() ? "" : "&pageToken=" + token));
        const auto ids = ids_of(one);
        paged.insert(ids.begin(), ids.end());
        token = parse(one.body).value("nextPageToken", "");
        if (one.status != 200 || ids.size() > 1 || token.empty())
          break;
      }
      if (paged != want)
        wrong_lists.push_back(p.id + " GET " + path + " page by page -> " + joined(paged) +
                              " (want " + joined(want) + ")");
    }
  }

  // The watch: a real upgrade, the token in the header and in ?access_token=.
  std::size_t watch_cases = 0;
  for (const auto& c : watches) {
    const bool want = allowed(*c.who, c.t);
    for (const bool in_query : {false, true}) {
      if (in_query && c.who->cred == credential::none)
        continue;
      ++watch_cases;
      const auto id = "authz-" + std::to_string(++sent_);
      const auto status =
          in_query
              ? upgrade_status(server_->port(), "/api/v1/watch?access_token=" + c.who->token, "",
                               id)
              : upgrade_status(server_->port(), "/api/v1/watch",
                               c.who->cred == credential::none ? "" : "Bearer " + c.who->token, id);
      const auto shown = c.who->id + " watch upgrade" + (in_query ? " (access_token)" : "") +
                         " -> " + std::to_string(status);
      if (want && status != 101)
        over_denied.push_back(shown);
      if (!want && status == 101)
        unauthorized.push_back(shown);
      if (!want && status != (authenticates(*c.who) ? 403u : 401u))
        wrong_refusal.push_back(shown);
    }
  }
  // The agent session takes the node's agent key: no user token opens it.
  for (const auto& p : principals_) {
    if (p.cred == credential::none)
      continue;
    for (const auto* node : {"n1", "n2"}) {
      const auto status =
          upgrade_status(server_->port(), std::string{"/api/v1/nodes/"} + node + "/session",
                         "Bearer " + p.token, "authz-" + std::to_string(++sent_));
      if (status == 101)
        unauthorized.push_back(p.id + " agent session upgrade of " + node + " with a user token");
    }
  }

  // Last, the logouts the model allows: with each principal's spare API token.
  for (const auto& c : logouts) {
    const auto r = api_->send("POST", std::string{logout_pattern}, std::nullopt,
                              {{"Authorization", "Bearer " + c.who->spare}});
    if (r.status != 204)
      over_denied.push_back(what(c) + " (spare token) -> " + std::to_string(r.status) + " " +
                            r.body.substr(0, 200));
  }

  const auto join = [](const std::vector<std::string>& v) {
    std::ostringstream s;
    for (std::size_t i = 0; i < v.size() && i < 60; ++i)
      s << "\n  " << v[i];
    if (v.size() > 60)
      s << "\n  ... and " << v.size() - 60 << " more";
    return s.str();
  };
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[authz] " << principals_.size() << " principals; cases: " << denied.size()
            << " denied, " << permitted.size() + logouts.size() << " allowed, " << watch_cases
            << " watch upgrades, " << list_cases << " list contents, " << principals_.size() * 2 - 2
            << " agent-session upgrades; " << seconds << " s\n";

  EXPECT_EQ(unauthorized.size(), 0u) << "unauthorized successes:" << join(unauthorized);
  EXPECT_TRUE(changed1.empty()) << "denied requests changed the log:" << join(changed1);
  EXPECT_TRUE(wrong_refusal.empty())
      << "refused, but not as the table says:" << join(wrong_refusal);
  EXPECT_TRUE(over_denied.empty())
      << "allowed by the table, refused by the server:" << join(over_denied);
  EXPECT_TRUE(probe_not_refused.empty())
      << "allowed probes the handler did not refuse (the test's own premise):"
      << join(probe_not_refused);
  EXPECT_TRUE(changed2.empty()) << "allowed probes changed the log:" << join(changed2);
  EXPECT_TRUE(wrong_lists.empty())
      << "lists that show other than what is readable:" << join(wrong_lists);
  EXPECT_GT(list_cases, 100u);
  EXPECT_GT(denied.size(), 1000u);
  EXPECT_GT(permitted.size(), 500u);
}

} // namespace
} // namespace qx::test
