// Directory pools and their volumes on the test driver, which keeps them in memory.
#include "qx/node/libvirt_hypervisor.hpp"
#include "qx/node/test_host.hpp"
#include "test_host_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using qx::errc;
using namespace qx::node;

constexpr std::uint64_t gib = std::uint64_t{1} << 30U;

class storage : public qx::node::test::on_test_host {
 protected:
  void SetUp() override {
    on_test_host::SetUp();
    if (HasFatalFailure())
      return;
    ASSERT_TRUE(hv_->define_pool({"images", pool_path_}));
  }

  std::string pool_path_ = dir_.sub("images");
};

TEST_F(storage, a_defined_pool_is_built_and_running) {
  const auto pools = hv_->list_pools();
  ASSERT_TRUE(pools) << pools.error().to_string();
  ASSERT_EQ(pools->size(), 1U);
  const auto& p = pools->front();
  EXPECT_EQ(p.name, "images");
  EXPECT_EQ(p.target_path, pool_path_);
  EXPECT_EQ(p.state, "running");
  EXPECT_TRUE(p.active);
  EXPECT_TRUE(p.persistent);
  EXPECT_GT(p.capacity_bytes, 0U);
}

TEST_F(storage, pool_definitions_are_checked) {
  auto s = hv_->define_pool({"images", dir_.sub("other")});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::already_exists);
  s = hv_->define_pool({"second", "relative/path"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::invalid_argument);
  EXPECT_EQ(s.error().details.at("field"), "target_path");
  s = hv_->define_pool({"a b", dir_.sub("x")});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().details.at("field"), "name");
  EXPECT_EQ(hv_->list_pools()->size(), 1U);
}

TEST_F(storage, volumes_are_created_listed_and_deleted) {
  const auto os = hv_->create_volume("images", {"os.qcow2", 10 * gib, disk_format::qcow2});
  ASSERT_TRUE(os) << os.error().to_string();
  EXPECT_EQ(os->name, "os.qcow2");
  EXPECT_EQ(os->path, pool_path_ + "/os.qcow2");
  EXPECT_EQ(os->format, "qcow2");
  EXPECT_EQ(os->capacity_bytes, 10 * gib);
  ASSERT_TRUE(hv_->create_volume("images", {"data.raw", gib, disk_format::raw}));

  auto volumes = hv_->list_volumes("images");
  ASSERT_TRUE(volumes) << volumes.error().to_string();
  ASSERT_EQ(volumes->size(), 2U);
  EXPECT_EQ((*volumes)[0].name, "data.raw");
  EXPECT_EQ((*volumes)[0].format, "raw");
  EXPECT_EQ((*volumes)[0].capacity_bytes, gib);
  EXPECT_LE((*volumes)[0].allocation_bytes, gib);
  EXPECT_EQ((*volumes)[1].name, "os.qcow2");

  const auto dup = hv_->create_volume("images", {"os.qcow2", gib, disk_format::qcow2});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, errc::already_exists);

  ASSERT_TRUE(hv_->delete_volume("images", "os.qcow2"));
  volumes = hv_->list_volumes("images");
  ASSERT_TRUE(volumes);
  ASSERT_EQ(volumes->size(), 1U);
  EXPECT_EQ(volumes->front().name, "data.raw");
  EXPECT_EQ(hv_->delete_volume("images", "os.qcow2").error().code, errc::not_found);
}

TEST_F(storage, resize_refuses_shrinking_and_the_test_driver_cannot_grow) {
  ASSERT_TRUE(hv_->create_volume("images", {"os.qcow2", 10 * gib, disk_format::qcow2}));

  const auto shrink = hv_->resize_volume("images", "os.qcow2", gib);
  ASSERT_FALSE(shrink);
  EXPECT_EQ(shrink.error().code, errc::failed_precondition);
  EXPECT_EQ(shrink.error().details.at("reason"), "VOLUME_SHRINK_REFUSED");

  EXPECT_TRUE(hv_->resize_volume("images", "os.qcow2", 10 * gib)) << "same size: nothing to do";

  // libvirt's test driver has no virStorageVolResize: the answer says so.
  const auto grow = hv_->resize_volume("images", "os.qcow2", 20 * gib);
  ASSERT_FALSE(grow);
  EXPECT_EQ(grow.error().code, errc::unavailable) << grow.error().to_string();
  EXPECT_EQ(grow.error().details.at("reason"), "NOT_SUPPORTED");
  EXPECT_EQ(hv_->list_volumes("images")->front().capacity_bytes, 10 * gib);

  EXPECT_EQ(hv_->resize_volume("images", "missing", gib).error().code, errc::not_found);
}

TEST_F(storage, volume_specs_are_checked) {
  auto v = hv_->create_volume("images", {"../escape.qcow2", gib, disk_format::qcow2});
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().details.at("field"), "name");
  v = hv_->create_volume("images", {"empty.qcow2", 0, disk_format::qcow2});
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().details.at("field"), "capacity_bytes");
  v = hv_->create_volume("missing", {"x.qcow2", gib, disk_format::qcow2});
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, errc::not_found);
  EXPECT_TRUE(hv_->list_volumes("images")->empty());
}

TEST_F(storage, a_pool_is_stopped_then_undefined) {
  const auto busy = hv_->undefine_pool("images");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, errc::failed_precondition) << busy.error().to_string();
  EXPECT_EQ(busy.error().details.at("reason"), "INVALID_POOL_STATE");

  ASSERT_TRUE(hv_->destroy_pool("images"));
  auto pools = hv_->list_pools();
  ASSERT_TRUE(pools);
  ASSERT_EQ(pools->size(), 1U);
  EXPECT_FALSE(pools->front().active);
  EXPECT_EQ(pools->front().state, "inactive");

  const auto again = hv_->destroy_pool("images");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::failed_precondition) << again.error().to_string();
  EXPECT_EQ(again.error().details.at("reason"), "INVALID_POOL_STATE");

  const auto stopped = hv_->create_volume("images", {"x.qcow2", gib, disk_format::qcow2});
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, errc::failed_precondition) << stopped.error().to_string();

  ASSERT_TRUE(hv_->undefine_pool("images"));
  EXPECT_TRUE(hv_->list_pools()->empty());
  EXPECT_EQ(hv_->undefine_pool("images").error().code, errc::not_found);
  EXPECT_EQ(hv_->destroy_pool("images").error().code, errc::not_found);
}

} // namespace
