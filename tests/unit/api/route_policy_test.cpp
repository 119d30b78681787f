// Deny by default, and no route forgotten: every route the server serves has a policy that
// names a known privilege (or is explicitly public/authenticated) on an object the route's
// path can fill in.
#include "access_control.hpp"
#include "route_policy.hpp"
#include "router.hpp"

#include <qx/actors/domain/access.hpp>

#include <gtest/gtest.h>

namespace qx::api {
namespace {

TEST(route_policy, every_route_has_a_policy_with_a_known_privilege_and_object) {
  const auto routes = make_router();
  for (const auto& r : routes.routes()) {
    const auto p = policy_of(r.method, r.pattern);
    ASSERT_TRUE(p) << r.method << " " << r.pattern << " has no policy (it would be denied)";
    EXPECT_TRUE(p->privilege == "public" || p->privilege == "authenticated" ||
                p->privilege == "list" || domain::access::is_privilege(p->privilege))
        << r.method << " " << r.pattern << ": " << p->privilege;
    // The object's {param} is one of the route's own parameters.
    const auto open = p->object.find('{');
    if (open != std::string::npos) {
      const auto param = p->object.substr(open, p->object.find('}') - open + 1);
      EXPECT_NE(r.pattern.find(param), std::string::npos) << r.pattern << " vs " << p->object;
    }
  }
}

TEST(route_policy, only_login_and_a_joining_host_are_public_and_reads_never_change_things) {
  const auto routes = make_router();
  for (const auto& r : routes.routes()) {
    const auto p = policy_of(r.method, r.pattern);
    if (p && p->privilege == "public") {
      EXPECT_TRUE(r.pattern == "/api/v1/auth/login" || r.pattern == "/api/v1/nodes/register")
          << r.pattern;
    }
    if (p && r.method == "GET") {
      EXPECT_TRUE(p->privilege == "read" || p->privilege == "authenticated" ||
                  p->privilege == "list" || p->privilege == "audit.read" ||
                  p->privilege == "access.manage")
          << r.pattern;
    }
  }
  EXPECT_FALSE(policy_of("GET", "/api/v1/not-a-route"));
  EXPECT_FALSE(policy_of("PATCH", "/api/v1/vms"));
}

TEST(route_policy, objects_are_filled_from_the_path) {
  EXPECT_EQ(access_control::object_of("vm/{id}", {{"id", "web1"}}), "vm/web1");
  EXPECT_EQ(access_control::object_of("datacenter", {{"id", "web1"}}), "datacenter");
  EXPECT_EQ(access_control::object_of("pool/{id}", {{"nodeId", "n1"}, {"id", "p1"}}), "pool/p1");
}

} // namespace
} // namespace qx::api
