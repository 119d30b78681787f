// The read models' failure policy (issue 15, docs/operations.md "Read models"): an event they
// cannot apply is skipped and reported; a log they cannot read stops them, says where and
// why, and answers every request waiting on them instead of leaving it hanging.
#include "projection_fixture.hpp"
#include "tamper.hpp"
#include "temp_dir.hpp"

#include <qx/events/rocksdb_store.hpp>

#include <rocksdb/db.h>

#include <atomic>

using namespace qx;

namespace {

using host_failure = test::projection_fixture;

/// Waits (bounded) until `done` holds.
template<class F>
bool eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::yield();
  }
  return true;
}

} // namespace

TEST_F(host_failure, an_event_the_models_cannot_apply_is_skipped_and_named) {
  projections::host h{*store};
  h.start();
  events::append_request future;
  future.stream = "vm-x";
  future.events.push_back({"qx.events.v1.FutureEvent", "zzz"});
  ASSERT_TRUE(store->append(std::move(future)));
  ASSERT_TRUE(store->append(test::make_append("other-1", events::expected_version::any(), {"x"})));
  settle(h);
  EXPECT_EQ(h.inv().skipped(), 1U);
  const auto last = h.inv().last_skipped();
  EXPECT_EQ(last.position, 1U);
  EXPECT_EQ(last.stream, "vm-x");
  EXPECT_NE(last.reason.find("FutureEvent"), std::string::npos) << last.reason;
  EXPECT_FALSE(h.failure()) << "a skipped event must not stop the models";
  EXPECT_EQ(h.position(), 2U) << "the models went on past the skipped event";
  const auto raised = h.alert_model().list("", 10, "open", "");
  ASSERT_EQ(raised.size(), 1U);
  EXPECT_EQ(raised[0].rule, "event_skipped");
  EXPECT_EQ(raised[0].target, "vm-x");
  EXPECT_EQ(raised[0].raised_position, 1U);
}

TEST(host_failure_on_disk, a_record_that_cannot_be_read_stops_the_models_and_frees_waiters) {
  test::temp_dir dir;
  const auto path = dir.sub("db");
  {
    events::rocksdb_store_options o;
    o.path = path;
    auto s = events::open_rocksdb_store(o);
    ASSERT_TRUE(s);
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(
          (*s)->append(test::make_append("other-1", events::expected_version::any(), {"x"})));
  }
  {
    // Position 2 becomes bytes that are no record at all (a disk fault below the store).
    test::tamper_log(path, [](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
      ASSERT_TRUE(db.Put({}, log, events::position_key(2), "garbage").ok());
    });
  }
  events::rocksdb_store_options o;
  o.path = path;
  o.verify_tail_on_open = false; // the damage is older than what open checks
  auto s = events::open_rocksdb_store(o);
  ASSERT_TRUE(s) << s.error().to_string();
  projections::host h{**s};
  std::atomic<int> answered{0};
  h.when_applied(3, [&] { ++answered; });
  h.start();
  ASSERT_TRUE(eventually([&] { return h.failure().has_value(); }));
  EXPECT_EQ(h.position(), 1U) << "the models stop before the record they cannot read";
  EXPECT_EQ(h.failure()->details.at("position"), "2") << h.failure()->to_string();
  EXPECT_EQ(answered.load(), 1) << "a request waiting on the models was left hanging";
  h.when_applied(3, [&] { ++answered; });
  EXPECT_EQ(answered.load(), 2) << "a later request was left hanging";
  const auto raised = h.alert_model().list("", 10, "open", "critical");
  ASSERT_EQ(raised.size(), 1U);
  EXPECT_EQ(raised[0].rule, "log_unreadable");
  EXPECT_EQ(raised[0].raised_position, 2U);
  h.stop();
}
