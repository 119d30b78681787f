// The agent's HA lease: renewed by acknowledged heartbeats from the time they were sent,
// lapsing once, fencing the protected VMs it knows of (from the Welcome and from starts).
#include "fence_lease.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using qx::node::fence_lease;

TEST(fence_lease, unknown_or_zero_never_fences) {
  fence_lease l;
  const auto t0 = fence_lease::clock::now();
  EXPECT_FALSE(l.must_fence(t0 + 1h)) << "no Welcome yet: no lease";
  l.welcomed(t0, 0ms, {"vm-a"});
  EXPECT_FALSE(l.must_fence(t0 + 1h)) << "lease 0: the control plane asks for no fencing";
}

TEST(fence_lease, lapses_from_the_last_acknowledged_send_and_fences_once) {
  fence_lease l;
  const auto t0 = fence_lease::clock::now();
  l.welcomed(t0, 2000ms, {"vm-a"});
  l.sent(1, t0 + 500ms);
  l.sent(2, t0 + 1000ms);
  l.acknowledged(1); // renewed from 500 ms, when heartbeat 1 left
  EXPECT_FALSE(l.must_fence(t0 + 2400ms));
  EXPECT_TRUE(l.must_fence(t0 + 2500ms)) << "2 s after the acknowledged heartbeat was sent";
  EXPECT_FALSE(l.must_fence(t0 + 3000ms)) << "once per lapse";
  EXPECT_TRUE(l.fenced());
  // A late acknowledgement of heartbeat 2 renews from 1 s: lapses again at 3 s.
  l.acknowledged(2);
  EXPECT_FALSE(l.fenced());
  EXPECT_TRUE(l.must_fence(t0 + 3000ms));
  // An acknowledgement of an unknown sequence renews nothing.
  l.acknowledged(99);
  EXPECT_TRUE(l.fenced());
}

TEST(fence_lease, knows_the_protected_vms_from_the_welcome_and_the_starts) {
  fence_lease l;
  l.welcomed(fence_lease::clock::now(), 1000ms, {"vm-a", "vm-b"});
  l.started("vm-c", true);
  l.started("vm-b", false); // started again without protection
  EXPECT_EQ(l.protected_vms(), (std::set<std::string>{"vm-a", "vm-c"}));
  l.welcomed(fence_lease::clock::now(), 1000ms, {"vm-d"}); // a new session: the log's list
  EXPECT_EQ(l.protected_vms(), std::set<std::string>{"vm-d"});
}

} // namespace
