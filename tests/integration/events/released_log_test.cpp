// A log written by the released version with invalid UTF-8 in a record (issue 15) opens,
// verifies, serves its events with the bad bytes escaped, and takes new appends on its
// chain: nothing is lost, and nothing new like it is written.
#include "released_log.hpp"
#include "temp_dir.hpp"

#include <qx/events/rocksdb_store.hpp>
#include <qx/events/text_fields.hpp>
#include <qx/events/v1/access.pb.h>
#include <qx/events/verify.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace qx;
using namespace qx::events;

namespace {

result<std::unique_ptr<event_store>> open_at(const std::string& path) {
  rocksdb_store_options o;
  o.path = path;
  o.verify_tail_on_open = true;
  return open_rocksdb_store(o);
}

append_request audit_append(const std::string& correlation, const std::string& path) {
  v1::AuditRecorded a;
  a.set_principal("anonymous");
  a.set_path(path);
  a.set_status(401);
  append_request req;
  req.stream = "audit";
  req.events.push_back({"qx.events.v1.AuditRecorded", a.SerializeAsString()});
  req.metadata = {"anonymous", correlation, "", ""};
  return req;
}

} // namespace

TEST(released_log, a_record_with_invalid_utf8_opens_verifies_and_reads_escaped) {
  test::temp_dir dir;
  const auto path = dir.sub("db");
  {
    auto store = open_at(path);
    ASSERT_TRUE(store) << store.error().to_string();
    ASSERT_TRUE((*store)->append(audit_append("ok-1", "/health")));
    ASSERT_TRUE((*store)->append(audit_append("x@QXBAD", "/api/v1/vms/@QXBAD")));
    ASSERT_TRUE((*store)->append(audit_append("ok-3", "/ready")));
  }
  test::rewrite_as_released(path, "@QXBAD");

  auto store = open_at(path);
  ASSERT_TRUE(store) << "a released log must open: " << store.error().to_string();
  auto report = verify_log(**store);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok) << report->problem;

  auto all = (*store)->read_all(1, 10);
  ASSERT_TRUE(all) << all.error().to_string();
  ASSERT_EQ(all->size(), 3U);
  EXPECT_EQ((*all)[1].metadata.correlation_id, "x\\xFFQXBAD");
  v1::AuditRecorded a;
  ASSERT_TRUE(parse_message(a, (*all)[1].payload));
  EXPECT_EQ(a.path(), "/api/v1/vms/\\xFFQXBAD");
  EXPECT_EQ((*all)[2].metadata.correlation_id, "ok-3");

  // The chain goes on from the released record, and the log still verifies whole.
  ASSERT_TRUE((*store)->append(audit_append("ok-4", "/live")));
  report = verify_log(**store);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok) << report->problem;

  // A subscription (what the read models use) passes the record, it does not stop there.
  std::atomic<std::uint64_t> seen{0};
  auto sub = (*store)->subscribe(0, [&](const recorded_event& e) {
    seen = e.position;
    return true;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (sub->delivered() < 4 && !sub->failure() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  sub->stop();
  EXPECT_FALSE(sub->failure()) << sub->failure()->to_string();
  EXPECT_EQ(seen.load(), 4U);
}

TEST(released_log, the_store_refuses_to_write_such_a_record_again) {
  test::temp_dir dir;
  auto store = open_at(dir.sub("db"));
  ASSERT_TRUE(store);
  auto r = (*store)->append(audit_append("x\xff", "/ok"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().details.at("field"), "metadata.correlation_id");
  r = (*store)->append(audit_append("ok", "/api/v1/vms/\xff\xfe"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().details.at("field"), "events[0].payload.path");
  EXPECT_EQ((*store)->head().position, 0U);
}
