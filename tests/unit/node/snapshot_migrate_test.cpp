// Snapshots on the test driver, and migration, which the test driver cannot do: the answer
// says so instead of pretending.
#include "qx/node/libvirt_hypervisor.hpp"
#include "qx/node/test_host.hpp"
#include "test_host_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using qx::errc;
using namespace qx::node;

class snapshots : public qx::node::test::on_test_host {
 protected:
  void SetUp() override {
    on_test_host::SetUp();
    if (HasFatalFailure())
      return;
    domain_spec s;
    s.id = "db-1";
    ASSERT_TRUE(hv_->define_domain(s));
    ASSERT_TRUE(hv_->start_domain("db-1"));
  }
};

TEST_F(snapshots, create_list_revert_delete) {
  ASSERT_TRUE(
      hv_->create_snapshot("db-1", {"before-upgrade", "state <before> & \"after\"\nline 2"}));
  ASSERT_TRUE(hv_->create_snapshot("db-1", {"after-upgrade", ""}));

  auto list = hv_->list_snapshots("db-1");
  ASSERT_TRUE(list) << list.error().to_string();
  ASSERT_EQ(list->size(), 2U);
  const auto& after = (*list)[0];
  const auto& before = (*list)[1];
  EXPECT_EQ(after.name, "after-upgrade");
  EXPECT_EQ(after.parent, "before-upgrade");
  EXPECT_TRUE(after.current);
  EXPECT_EQ(before.name, "before-upgrade");
  EXPECT_EQ(before.description, "state <before> & \"after\"\nline 2");
  EXPECT_EQ(before.parent, "");
  EXPECT_EQ(before.state, "running");
  EXPECT_FALSE(before.current);
  EXPECT_GT(before.creation_time, 0);

  ASSERT_TRUE(hv_->revert_snapshot("db-1", "before-upgrade"));
  list = hv_->list_snapshots("db-1");
  ASSERT_TRUE(list);
  EXPECT_TRUE((*list)[1].current) << "the reverted-to snapshot is current";
  const auto st = hv_->query_state("db-1");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, domain_state::running);
  EXPECT_EQ(st->reason, "from_snapshot");

  ASSERT_TRUE(hv_->delete_snapshot("db-1", "after-upgrade"));
  list = hv_->list_snapshots("db-1");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1U);
  EXPECT_EQ(list->front().name, "before-upgrade");
}

TEST_F(snapshots, errors_name_what_is_wrong) {
  ASSERT_TRUE(hv_->create_snapshot("db-1", {"s1", ""}));
  auto s = hv_->create_snapshot("db-1", {"s1", ""});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::already_exists);

  s = hv_->create_snapshot("db-1", {"bad/name", ""});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::invalid_argument);
  EXPECT_EQ(s.error().details.at("field"), "name");

  s = hv_->create_snapshot("db-1", {"s2", "bell\a"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().details.at("field"), "description");

  s = hv_->revert_snapshot("db-1", "missing");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::not_found);
  s = hv_->delete_snapshot("db-1", "missing");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::not_found);
  EXPECT_EQ(hv_->list_snapshots("nope").error().code, errc::not_found);
  EXPECT_EQ(hv_->create_snapshot("nope", {"s", ""}).error().code, errc::not_found);
}

TEST_F(snapshots, undefine_refuses_a_domain_with_snapshots_unless_asked) {
  ASSERT_TRUE(hv_->create_snapshot("db-1", {"s1", ""}));
  ASSERT_TRUE(hv_->destroy_domain("db-1"));
  const auto s = hv_->undefine_domain("db-1", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::failed_precondition);
  EXPECT_EQ(s.error().details.at("reason"), "HAS_SNAPSHOTS");

  undefine_options with_snapshots;
  with_snapshots.snapshots_metadata = true;
  ASSERT_TRUE(hv_->undefine_domain("db-1", with_snapshots));
  EXPECT_EQ(hv_->query_state("db-1").error().code, errc::not_found);
}

TEST_F(snapshots, migration_is_not_supported_by_the_test_driver_and_changes_nothing) {
  const auto s = hv_->migrate_domain("db-1", "test:///default", {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::unavailable) << s.error().to_string();
  EXPECT_EQ(s.error().details.at("reason"), "NOT_SUPPORTED");
  EXPECT_NE(s.error().message.find("migration is not supported"), std::string::npos)
      << s.error().message;

  const auto st = hv_->query_state("db-1");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, domain_state::running);

  EXPECT_EQ(hv_->migrate_domain("nope", "test:///default", {}).error().code, errc::not_found);
  EXPECT_EQ(hv_->migrate_domain("db-1", "", {}).error().code, errc::invalid_argument);
}

} // namespace
