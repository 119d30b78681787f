// The fixture every hypervisor test starts from: a private libvirt test-driver host (its own
// host.xml in a temporary folder) opened through the real libvirt implementation.
#pragma once

#include "qx/node/libvirt_hypervisor.hpp"
#include "qx/node/test_host.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace qx::node::test {

class on_test_host : public ::testing::Test {
 protected:
  void SetUp() override {
    auto uri = write_test_host(dir_.path() / "host.xml", {});
    ASSERT_TRUE(uri) << uri.error().to_string();
    auto hv = open_libvirt(*uri);
    ASSERT_TRUE(hv) << hv.error().to_string();
    hv_ = std::move(*hv);
  }

  qx::test::temp_dir dir_;
  std::unique_ptr<hypervisor> hv_;
};

} // namespace qx::node::test
