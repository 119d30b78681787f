#include <qx/events/event_store.hpp>

#include <gtest/gtest.h>

using namespace qx;
using namespace qx::events;

namespace {

TEST(validate, accepts_the_stream_ids_the_control_plane_uses) {
  append_limits limits;
  for (const char* id : {"vm-7", "node/abc", "cluster:prod", "user@example.org", "a.b_c-d", "x"}) {
    EXPECT_TRUE(validate_stream_id(id, limits)) << id;
  }
}

TEST(validate, no_stream_with_a_number_is_a_malformed_request) {
  append_request req;
  req.stream = "vm-1";
  req.expected = {expected_version::kind::no_stream, 3};
  req.events.push_back({"t", "p"});
  auto ok = validate(req, append_limits{});
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().details.at("field"), "expected_version");
}

TEST(validate, error_text_names_code_message_and_details) {
  error e{errc::conflict, "stream vm-1 is at version 2", {{"current_version", "2"}}};
  EXPECT_EQ(e.to_string(), "CONFLICT: stream vm-1 is at version 2 {current_version=2}");
}

} // namespace
