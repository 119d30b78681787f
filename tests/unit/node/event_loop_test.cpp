// The event-loop thread lives exactly as long as some hypervisor does: nothing is left running
// once the last one is gone, and a new one starts it again.
#include "qx/node/libvirt_hypervisor.hpp"
#include "qx/node/test_host.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace {

using namespace qx::node;

std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator("/proc/self/task"))
    ++n;
  return n;
}

TEST(event_loop, the_loop_thread_ends_with_the_last_hypervisor) {
  qx::test::temp_dir dir;
  auto uri = write_test_host(dir.path() / "host.xml", {});
  ASSERT_TRUE(uri);
  // A first open and close lets libvirt and GLib create whatever they keep for the process.
  static_cast<void>(open_libvirt(*uri));
  const auto baseline = thread_count();

  for (int round = 0; round < 3; ++round) {
    auto a = open_libvirt(*uri);
    auto b = open_libvirt(*uri);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(thread_count(), baseline + 1) << "one loop thread shared by both connections";
    a = qx::error{};
    EXPECT_EQ(thread_count(), baseline + 1);
    b = qx::error{};
    EXPECT_EQ(thread_count(), baseline) << "round " << round;
  }
}

} // namespace
