// Text inside serialized messages (issue 15): the store refuses a record whose text would
// not read back, and readers take records of the released version, which did not check,
// with the bad bytes shown escaped.
#include "record_codec.hpp"

#include <qx/base/utf8.hpp>
#include <qx/events/memory_store.hpp>
#include <qx/events/text_fields.hpp>
#include <qx/events/v1/access.pb.h>
#include <qx/events/v1/envelope.pb.h>
#include <qx/events/v1/vm.pb.h>

#include <gtest/gtest.h>

using namespace qx;
using namespace qx::events;

namespace {

/// An AuditRecorded whose path holds `path` as it is, written the way the released version's
/// serializer wrote it (protobuf writes invalid UTF-8 with only a log line).
std::string audit_with_path(const std::string& path) {
  v1::AuditRecorded a;
  a.set_principal("anonymous");
  a.set_path("PLACEHOLDER");
  a.set_status(401);
  auto bytes = a.SerializeAsString();
  const auto at = bytes.find("PLACEHOLDER");
  // Same length keeps the length prefix right.
  EXPECT_EQ(path.size(), std::string{"PLACEHOLDER"}.size());
  bytes.replace(at, path.size(), path);
  return bytes;
}

const std::string bad_path = "/api/v1/\xFF\xFE"; // 10 bytes
const std::string bad_path_11 = bad_path + "x";  // the placeholder's length

} // namespace

TEST(utf8_escape, marks_each_invalid_byte_and_keeps_valid_text) {
  EXPECT_EQ(escape_invalid_utf8("x\xff"), "x\\xFF");
  EXPECT_EQ(escape_invalid_utf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(escape_invalid_utf8("\xc3"), "\\xC3");                   // truncated sequence
  EXPECT_EQ(escape_invalid_utf8("\xed\xa0\x80"), "\\xED\\xA0\\x80"); // a surrogate
  EXPECT_FALSE(invalid_utf8_at(escape_invalid_utf8("\x80\xff\xc0\xaf")));
}

TEST(text_fields, finds_the_invalid_field_by_its_path) {
  const auto bytes = audit_with_path(bad_path_11);
  auto bad = invalid_text_field(*v1::AuditRecorded::descriptor(), bytes);
  ASSERT_TRUE(bad);
  ASSERT_TRUE(*bad);
  EXPECT_EQ(**bad, "path");

  v1::VmCreated nested;
  nested.set_id("vm-1");
  nested.mutable_spec()->set_name("PLACEHOLDER");
  auto nb = nested.SerializeAsString();
  nb.replace(nb.find("PLACEHOLDER"), bad_path_11.size(), bad_path_11);
  auto nested_bad = invalid_text_field(*v1::VmCreated::descriptor(), nb);
  ASSERT_TRUE(nested_bad && *nested_bad);
  EXPECT_EQ(**nested_bad, "spec.name");
}

TEST(text_fields, valid_messages_and_garbage_are_told_apart) {
  v1::AuditRecorded a;
  a.set_path("/api/v1/vms/caf\xc3\xa9");
  auto ok = invalid_text_field(*v1::AuditRecorded::descriptor(), a.SerializeAsString());
  ASSERT_TRUE(ok);
  EXPECT_FALSE(*ok);
  // Not wire format: a length beyond the end, a group, a zero field number.
  for (const std::string& garbage :
       {std::string{"\x22\x7f", 2}, std::string{"\x23", 1}, std::string{"\x02\x01x", 3}})
    EXPECT_FALSE(invalid_text_field(*v1::AuditRecorded::descriptor(), garbage)) << garbage;
}

TEST(text_fields, parse_message_reads_a_released_record_with_its_bytes_escaped) {
  const auto bytes = audit_with_path(bad_path_11);
  v1::AuditRecorded strict;
  EXPECT_FALSE(strict.ParseFromString(bytes)); // what bricked the released version
  v1::AuditRecorded lenient;
  ASSERT_TRUE(parse_message(lenient, bytes));
  EXPECT_EQ(lenient.path(), "/api/v1/\\xFF\\xFEx");
  EXPECT_EQ(lenient.status(), 401U);
  EXPECT_EQ(lenient.principal(), "anonymous");
  v1::AuditRecorded nothing;
  EXPECT_FALSE(parse_message(nothing, std::string{"\x22\x7f", 2}));
}

TEST(text_fields, a_record_with_invalid_envelope_text_decodes_escaped) {
  const new_event ev{"qx.events.v1.ClusterCreated", ""};
  const event_metadata meta{"anonymous", "x-PLACEHOLDER", "", ""};
  detail::record_fields f;
  f.position = 1;
  f.stream = "cluster-c1";
  f.version = 1;
  f.event = &ev;
  f.metadata = &meta;
  auto rec = detail::encode_record(f);
  // The released version's record: correlation id "x\xFF..." and a hash over those bytes.
  auto body = rec.bytes.substr(0, rec.bytes.size() - 34);
  body.replace(body.find("PLACEHOLDER"), 1, "\xFF");
  v1::Envelope env;
  ASSERT_FALSE(env.ParseFromString(body));
  // The hash is not checked here: the log test checks a whole released log, chain and all.
  auto decoded = detail::decode_record(1, body + rec.bytes.substr(rec.bytes.size() - 34),
                                       /*check_hash=*/false);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->metadata.correlation_id, "x-\\xFFLACEHOLDER");
  EXPECT_EQ(decoded->stream, "cluster-c1");
}

TEST(text_fields, the_store_refuses_what_it_could_not_read_back_and_writes_nothing) {
  auto store = make_memory_store();
  append_request req;
  req.stream = "cluster-c1";
  req.events.push_back({"qx.events.v1.AuditRecorded", audit_with_path(bad_path_11)});
  auto r = store->append(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(r.error().details.at("field"), "events[0].payload.path");

  append_request meta = req;
  v1::AuditRecorded fine;
  fine.set_path("/ok");
  meta.events[0].payload = fine.SerializeAsString();
  meta.metadata.correlation_id = "x\xff";
  r = store->append(meta);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().details.at("field"), "metadata.correlation_id");

  append_request type = meta;
  type.metadata.correlation_id = "x";
  type.events[0].type = "qx.events.v1.\xff";
  r = store->append(type);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().details.at("field"), "events[0].type");

  append_request garbage = type;
  garbage.events[0].type = "qx.events.v1.AuditRecorded";
  garbage.events[0].payload = std::string{"\x22\x7f", 2};
  r = store->append(garbage);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().details.at("field"), "events[0].payload");

  EXPECT_EQ(store->head().position, 0U);
  // Unknown types are the caller's own bytes and pass.
  append_request opaque = garbage;
  opaque.events[0].type = "test.Opaque";
  EXPECT_TRUE(store->append(opaque));
  EXPECT_EQ(store->head().position, 1U);
}
