// The image decider, table-driven: every command in every upload state, size and checksum
// boundaries naming the field, and the events through the log codec.
#include <qx/actors/domain/image.hpp>

#include "decider_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>

using namespace qx;
using namespace qx::domain;
namespace v1 = qx::events::v1;

namespace {

using namespace qx::test::decider_table;

const std::string sum(64, 'a');
const std::string other_sum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::optional<image::state> run(image::state s, const image::command& c, error* err = nullptr) {
  auto d = image::decide(s, c);
  if (!d) {
    if (err != nullptr)
      *err = d.error();
    return std::nullopt;
  }
  for (const auto& ev : *d)
    image::evolve(s, ev);
  return s;
}

image::state must(std::optional<image::state> s) {
  EXPECT_TRUE(s.has_value());
  return s ? *s : image::initial("i1");
}

// "" not created; 1000 bytes: "uploading" with 400 received, "received" with all 1000 received
// but not completed, "ready", "error"; "deleted" (while uploading).
image::state in_state(const std::string& name) {
  auto s = image::initial("i1");
  if (name.empty())
    return s;
  s = must(run(s, image::create{"debian", "qcow2", 1000}));
  if (name == "deleted")
    return must(run(s, image::remove{}));
  if (name == "error")
    return must(run(s, image::fail{"connection reset"}));
  s = must(run(s, image::progress{name == "uploading" ? 400U : 1000U}));
  if (name == "ready")
    s = must(run(s, image::complete{sum}));
  return s;
}

const char* all_states[] = {"", "uploading", "received", "ready", "error", "deleted"};

std::string describe(const image::state& s) {
  if (!s.created())
    return "";
  if (s.deleted())
    return "deleted";
  std::string out =
      s.state() + " " + std::to_string(s.received_bytes()) + "/" + std::to_string(s.size_bytes());
  if (!s.sha256().empty())
    out += " sha256=" + s.sha256().substr(0, 4);
  if (!s.error().empty())
    out += " error=" + s.error();
  return out;
}

void check(const image::state& before, const image::command& c, const expect& want) {
  qx::test::decider_table::check<actors::image_aggregate>(before, c, want, describe);
}

struct row {
  image::command cmd;
  std::map<std::string, expect> by_state; // every state of all_states
};

std::vector<row> table() {
  const auto idle = refused_for("IMAGE_NOT_UPLOADING");
  const auto backwards = refused_for("PROGRESS_BACKWARDS", "received_bytes");
  const auto too_much = refusal(errc::invalid_argument, "", "received_bytes");
  const auto bad_sum = refusal(errc::invalid_argument, "", "sha256");
  return {
      {image::create{"debian", "qcow2", 1000},
       {{"", ok("uploading 0/1000")},
        {"uploading", exists},
        {"received", exists},
        {"ready", exists},
        {"error", exists},
        {"deleted", exists}}},
      {image::progress{500},
       {{"", missing},
        {"uploading", ok("uploading 500/1000")},
        {"received", backwards},
        {"ready", idle},
        {"error", idle},
        {"deleted", gone}}},
      {image::progress{400},
       {{"", missing},
        {"uploading", unchanged()},
        {"received", backwards},
        {"ready", idle},
        {"error", idle},
        {"deleted", gone}}},
      {image::progress{399},
       {{"", missing},
        {"uploading", backwards},
        {"received", backwards},
        {"ready", idle},
        {"error", idle},
        {"deleted", gone}}},
      {image::progress{1000},
       {{"", missing},
        {"uploading", ok("uploading 1000/1000")},
        {"received", unchanged()},
        {"ready", idle},
        {"error", idle},
        {"deleted", gone}}},
      {image::progress{1001},
       {{"", missing},
        {"uploading", too_much},
        {"received", too_much},
        {"ready", idle},
        {"error", idle},
        {"deleted", gone}}},
      {image::complete{sum},
       {{"", missing},
        {"uploading", refused_for("UPLOAD_INCOMPLETE")},
        {"received", ok("ready 1000/1000 sha256=aaaa")},
        {"ready", idle},
        {"error", idle},
        {"deleted", gone}}},
      {image::complete{std::string(64, 'A')},
       {{"", missing},
        {"uploading", bad_sum},
        {"received", bad_sum},
        {"ready", idle},
        {"error", idle},
        {"deleted", gone}}},
      {image::fail{"disk full"},
       {{"", missing},
        {"uploading", ok("error 400/1000 error=disk full")},
        {"received", ok("error 1000/1000 error=disk full")},
        {"ready", idle},
        {"error", idle},
        {"deleted", gone}}},
      {image::remove{},
       {{"", missing},
        {"uploading", ok("deleted")},
        {"received", ok("deleted")},
        {"ready", ok("deleted")},
        {"error", ok("deleted")},
        {"deleted", gone}}},
  };
}

TEST(image_decider, every_command_in_every_state) {
  for (const auto& r : table()) {
    ASSERT_EQ(r.by_state.size(), std::size(all_states)) << image::name_of(r.cmd);
    for (const char* from : all_states) {
      SCOPED_TRACE(std::string{image::name_of(r.cmd)} + " from '" + from + "'");
      ASSERT_EQ(r.by_state.count(from), 1U);
      check(in_state(from), r.cmd, r.by_state.at(from));
    }
  }
}

TEST(image_decider, create_is_validated_naming_the_field) {
  struct bad {
    image::create cmd;
    std::string field;
  };
  const std::vector<bad> cases = {
      {{"", "raw", 10}, "name"},           {{std::string(129, 'n'), "raw", 10}, "name"},
      {{"x\n", "raw", 10}, "name"},        {{"x", "vmdk", 10}, "format"},
      {{"x", "", 10}, "format"},           {{"x", "ISO", 10}, "format"},
      {{"x", "raw", 0}, "size_bytes"},     {{"x", "raw", image::max_size + 1}, "size_bytes"},
      {{"x", "raw", ~0ULL}, "size_bytes"},
  };
  for (const auto& b : cases) {
    error err;
    EXPECT_FALSE(run(image::initial("i1"), b.cmd, &err)) << b.field;
    EXPECT_EQ(err.code, errc::invalid_argument) << err.to_string();
    EXPECT_EQ(detail_of(err, "field"), b.field) << err.to_string();
  }
  EXPECT_EQ(image::max_size, std::uint64_t{1} << 40U);
  for (const char* format : {"raw", "qcow2", "iso"}) {
    auto s = run(image::initial("i1"), image::create{"x", format, 1});
    ASSERT_TRUE(s) << format;
    EXPECT_EQ(s->state(), image::phase::uploading);
  }
  auto big = must(run(image::initial("i1"), image::create{"x", "raw", image::max_size}));
  big = must(run(big, image::progress{image::max_size}));
  big = must(run(big, image::complete{other_sum}));
  EXPECT_EQ(big.state(), image::phase::ready);
  EXPECT_EQ(big.sha256(), other_sum);
}

TEST(image_decider, checksums_are_64_lower_case_hex_digits) {
  const auto s = in_state("received");
  for (const auto& bad :
       {std::string{}, std::string(63, 'a'), std::string(65, 'a'), std::string(63, 'a') + "g",
        std::string(63, 'a') + "F", std::string(63, 'a') + " ", "sha256:" + std::string(57, 'a')}) {
    error err;
    EXPECT_FALSE(run(s, image::complete{bad}, &err)) << bad;
    EXPECT_EQ(err.code, errc::invalid_argument);
    EXPECT_EQ(detail_of(err, "field"), "sha256");
  }
  EXPECT_TRUE(run(s, image::complete{other_sum}));
}

TEST(image_decider, an_empty_upload_is_incomplete_until_the_last_byte) {
  auto s = must(run(image::initial("i1"), image::create{"x", "iso", 1}));
  error err;
  EXPECT_FALSE(run(s, image::complete{sum}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "UPLOAD_INCOMPLETE");
  s = must(run(s, image::progress{1}));
  s = must(run(s, image::complete{sum}));
  EXPECT_EQ(describe(s), "ready 1/1 sha256=aaaa");
  EXPECT_FALSE(run(s, image::complete{sum}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "IMAGE_NOT_UPLOADING");
  EXPECT_EQ(detail_of(err, "state"), "ready");
  EXPECT_FALSE(run(s, image::fail{"late"}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "IMAGE_NOT_UPLOADING");
  s = must(run(s, image::remove{}));
  EXPECT_FALSE(run(s, image::remove{}, &err));
  EXPECT_EQ(detail_of(err, "reason"), "DELETED");
}

TEST(image_decider, a_long_failure_reason_is_cut_to_1024_bytes) {
  auto s = must(run(in_state("uploading"), image::fail{std::string(5000, 'r')}));
  EXPECT_EQ(s.state(), image::phase::in_error);
  EXPECT_EQ(s.error().size(), 1024U);
}

TEST(image_decider, events_round_trip_through_the_log_codec) {
  auto d = image::decide(in_state("received"), image::complete{other_sum});
  ASSERT_TRUE(d);
  auto encoded = encode_event(d->front());
  EXPECT_EQ(encoded.type, "qx.events.v1.ImageReady");
  auto decoded = decode_event<image::event>(encoded.type, encoded.payload);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(std::get<v1::ImageReady>(*decoded).id(), "i1");
  EXPECT_EQ(std::get<v1::ImageReady>(*decoded).sha256(), other_sum);

  auto p = image::decide(in_state("uploading"), image::progress{999});
  ASSERT_TRUE(p);
  auto rec = encode_event(p->front());
  EXPECT_EQ(rec.type, "qx.events.v1.ImageUploadProgressed");
  auto back = decode_event<image::event>(rec.type, rec.payload);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<v1::ImageUploadProgressed>(*back).received_bytes(), 999U);

  EXPECT_FALSE(decode_event<image::event>("qx.events.v1.VolumeCreated", ""));
  EXPECT_FALSE(decode_event<image::event>("qx.events.v1.ImageCreated", "\xff\xff\xff"));
}

TEST(image_decider, command_names) {
  EXPECT_EQ(image::name_of(image::create{}), "create");
  EXPECT_EQ(image::name_of(image::progress{}), "progress");
  EXPECT_EQ(image::name_of(image::complete{}), "complete");
  EXPECT_EQ(image::name_of(image::fail{}), "fail");
  EXPECT_EQ(image::name_of(image::remove{}), "remove");
  EXPECT_EQ(std::string{image::stream_prefix}, "image-");
}

} // namespace
