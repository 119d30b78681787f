// The border check of every request (issue 15) and the ledger that audits anonymous
// refusals in aggregate: pure pieces, tested without a socket.
#include "denial_ledger.hpp"
#include "request_text.hpp"
#include "router.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

using namespace qx::api;
using namespace std::chrono_literals;

namespace {

std::string field_of(const http_response& r) {
  return nlohmann::json::parse(r.body)["error"]["details"].value("field", "");
}

http_request clean() {
  http_request r;
  r.method = "POST";
  r.path = "/api/v1/vms/caf\xc3\xa9";
  r.query = {{"limit", "5"}};
  r.request_id = "req-1";
  r.content_type = "application/json";
  return r;
}

} // namespace

TEST(request_text, clean_requests_pass_and_each_field_is_named) {
  EXPECT_FALSE(refuse_malformed_text(clean()));
  const std::vector<std::pair<std::function<void(http_request&)>, std::string>> cases{
      {[](http_request& r) { r.path = "/api/v1/vms/\xff\xfe"; }, "path"},
      {[](http_request& r) {
         r.path = std::string{"/a\0b", 4};
       },
       "path"},
      {[](http_request& r) { r.query["pageToken"] = "\xc3"; }, "query.pageToken"},
      {[](http_request& r) { r.query["\xff"] = "1"; }, "query"},
      {[](http_request& r) { r.request_id = "x\xff"; }, "X-Request-Id"},
      {[](http_request& r) { r.idempotency_key = "k\x01"; }, "Idempotency-Key"},
      {[](http_request& r) { r.if_match = "\"1\xfe\""; }, "If-Match"},
      {[](http_request& r) { r.content_type = "\xff"; }, "Content-Type"},
      {[](http_request& r) { r.authorization = "Bearer \xff"; }, "Authorization"},
  };
  for (const auto& [spoil, field] : cases) {
    auto r = clean();
    spoil(r);
    const auto refusal = refuse_malformed_text(r);
    ASSERT_TRUE(refusal) << field;
    EXPECT_EQ(refusal->status, 400u);
    EXPECT_EQ(field_of(*refusal), field);
  }
}

TEST(request_text, recorded_text_is_bounded_after_escaping_and_stays_utf8) {
  // fuzz_http_request's find: 100 bytes 0xEC in X-Request-Id became 400 characters once
  // escaped, over the store's 256 for a correlation id, and the audit record was refused.
  const std::string hostile(100, '\xEC');
  const auto r = recorded_text(hostile, 128);
  EXPECT_LE(r.size(), 128U);
  EXPECT_EQ(r.rfind("\\xEC\\xEC", 0), 0U) << r;
  EXPECT_TRUE(is_clean_text(r)) << r;
  // A cut never splits a character of valid text.
  const std::string accents = "\u00e9\u00e9\u00e9"; // six bytes
  EXPECT_EQ(recorded_text(accents, 5), "\u00e9\u00e9");
  // Nor an escape: "ab" + bad byte escaped is "ab\\xFF"; five bytes keep "ab".
  EXPECT_EQ(recorded_text("ab\xFF", 5), "ab");
  EXPECT_EQ(recorded_text("ab\xFF", 6), "ab\\xFF");
  EXPECT_EQ(recorded_text("plain", 128), "plain");
}

TEST(router, a_trailing_or_doubled_slash_matches_no_route) {
  const auto r = make_router();
  EXPECT_NE(r.find("GET", "/api/v1/vms").found, nullptr);
  EXPECT_EQ(r.find("GET", "/api/v1/vms/").found, nullptr);
  EXPECT_EQ(r.find("GET", "/api//v1/vms").found, nullptr);
  EXPECT_EQ(r.find("GET", "/api/v1/vms//start").found, nullptr);
  EXPECT_NE(r.find("GET", "/api/v1/vms/vm1").found, nullptr);
}

TEST(denial_ledger, the_first_refusal_is_written_and_the_window_counted) {
  denial_ledger ledger{60s};
  const auto t0 = denial_ledger::clock::time_point{} + 1h;
  const auto refusal = [](const std::string& source, unsigned status) {
    denial_record d;
    d.source = source;
    d.status = status;
    d.path = "/api/v1/vms";
    return d;
  };
  auto due = ledger.note(refusal("10.0.0.1", 401), t0);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].count, 1u);
  for (int i = 0; i < 999; ++i)
    EXPECT_TRUE(ledger.note(refusal("10.0.0.1", 401), t0 + 10s).empty());
  // Another source and another status open windows of their own.
  EXPECT_EQ(ledger.note(refusal("10.0.0.2", 401), t0 + 10s).size(), 1u);
  EXPECT_EQ(ledger.note(refusal("10.0.0.1", 429), t0 + 10s).size(), 1u);
  // After the window, the next refusal writes the count of the last window and opens one.
  due = ledger.note(refusal("10.0.0.1", 401), t0 + 61s);
  std::uint64_t counted = 0;
  for (const auto& d : due)
    if (d.source == "10.0.0.1" && d.status == 401)
      counted += d.count;
  EXPECT_EQ(counted, 999u + 1u);
  // flush writes what is pending, once.
  EXPECT_TRUE(ledger.flush().empty());
  EXPECT_TRUE(ledger.note(refusal("10.0.0.1", 401), t0 + 62s).empty());
  due = ledger.flush();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].count, 1u);
  EXPECT_TRUE(ledger.flush().empty());
}
