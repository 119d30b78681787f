// Stored records and their payloads (events/src/record_codec.cpp, payload_json.cpp,
// text_fields.cpp, event_store.cpp's validate, api/src/http/event_json.cpp).
//
// Input: one mode byte, then:
//   mode 0  a stored record as RocksDB holds it (envelope + hash trailer), decoded at
//           position 1 without and with the hash check;
//   mode 1  an envelope without its trailer: the harness appends the right one, so the
//           whole read path runs as for a record the hash chain vouches for;
//   mode 2  "<payload type>\n<payload bytes>": a payload decoded by its type;
//   mode 3  an append: the store's validate(), then encode_record and decode_record.
//
// Decode errors are values: a record whose text is not UTF-8 (the released version wrote
// such records) must come back as an error or escaped, never as an abort. Properties:
//   - a decoded record's text is valid UTF-8, and its event renders as JSON (strict dump);
//   - escape_text_fields leaves no invalid text; valid text is left as it is; bytes protobuf
//     parses never have an invalid text field; parse_message yields a message that
//     serializes into bytes that parse back strictly;
//   - what validate() accepts is written by encode_record into a record that decode_record
//     reads back field for field, whose payload renders (the gate: nothing the store
//     cannot read back is appended).

#include "fuzz_common.hpp"
#include "fuzz_schema.hpp"

#include <event_json.hpp>
#include <record_codec.hpp>
#include <sha256.hpp>

#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/message_differencer.h>
#include <qx/base/utf8.hpp>
#include <qx/events/event_store.hpp>
#include <qx/events/payload_json.hpp>

#if __has_include(<qx/events/text_fields.hpp>)
#include <qx/events/text_fields.hpp>
#define QX_FUZZ_TEXT_FIELDS 1
#endif

#include <fuzzer/FuzzedDataProvider.h>

#include <memory>

namespace {

using qx::fuzz::check;
namespace ev = qx::events;
namespace pb = google::protobuf;

bool valid_utf8(std::string_view s) {
  return !qx::invalid_utf8_at(s).has_value();
}

std::unique_ptr<pb::Message> make(const pb::Descriptor* d) {
  return std::unique_ptr<pb::Message>{
      pb::MessageFactory::generated_factory()->GetPrototype(d)->New()};
}

void check_decoded(const ev::recorded_event& e) {
  for (const auto* s : {&e.stream, &e.type, &e.metadata.actor, &e.metadata.correlation_id,
                        &e.metadata.causation_id, &e.metadata.command_id})
    check(valid_utf8(*s), "decode_record: the record's text is valid UTF-8", *s);
  // The strict dump is for event payloads; a record naming a type with bytes fields (the
  // envelope, the snapshot record: never an event's type) renders with replacements.
  const auto* d = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(e.type);
  const auto j = qx::api::event_to_json(e);
  if (d == nullptr || !qx::fuzz::has_bytes_field(d)) {
    try {
      static_cast<void>(j.dump());
    } catch (const std::exception& x) {
      check(false, "event_to_json: a decoded event renders as JSON (strict dump)", x.what());
    }
  }
  static_cast<void>(ev::payload_to_json(e.type, e.payload));
}

/// The text_fields walker against protobuf's own parser, on `bytes` as a message of `type`.
void check_text_fields(const pb::Descriptor* type, std::string_view bytes) {
#ifdef QX_FUZZ_TEXT_FIELDS
  const auto invalid = ev::invalid_text_field(*type, bytes);
  const auto escaped = ev::escape_text_fields(*type, bytes);
  auto strict = make(type);
  const bool strict_ok = strict->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  if (strict_ok)
    check(!invalid || !*invalid,
          "invalid_text_field: bytes protobuf parses have no invalid text field",
          invalid && *invalid ? **invalid : std::string{});
  if (escaped) {
    const auto after = ev::invalid_text_field(*type, *escaped);
    check(after.has_value() && !*after, "escape_text_fields: no invalid text is left",
          after && *after ? **after : std::string{"not wire format"});
    check(invalid.has_value(), "invalid_text_field reads what escape_text_fields reads");
    if (strict_ok) {
      // Valid text is left as it is: the escaped bytes hold the same message.
      auto same = make(type);
      check(same->ParseFromString(*escaped) && pb::util::MessageDifferencer::Equals(*same, *strict),
            "escape_text_fields: bytes protobuf parses keep their message", type->full_name());
    }
  }
  if (invalid && !*invalid)
    check(escaped.has_value(), "escape_text_fields reads what invalid_text_field reads");
  auto lenient = make(type);
  if (ev::parse_message(*lenient, bytes)) {
    std::string out;
    check(lenient->SerializeToString(&out), "parse_message: the message serializes");
    auto again = make(type);
    check(again->ParseFromString(out),
          "parse_message: what it parsed serializes into bytes that "
          "parse back strictly",
          type->full_name());
  }
  static_cast<void>(ev::check_payload_text(type->full_name(), bytes, "payload"));
#else
  static_cast<void>(type);
  static_cast<void>(bytes);
#endif
}

void decode_stored(std::string_view record) {
  for (const bool with_hash : {false, true}) {
    auto e = ev::detail::decode_record(1, record, with_hash);
    if (e)
      check_decoded(*e);
  }
  static_cast<void>(ev::detail::stored_hash(1, record));
}

void append(std::string_view in) {
  FuzzedDataProvider p{reinterpret_cast<const std::uint8_t*>(in.data()), in.size()};
  ev::append_request req;
  req.stream = p.ConsumeRandomLengthString(80);
  req.metadata.actor = p.ConsumeRandomLengthString(80);
  req.metadata.correlation_id = p.ConsumeRandomLengthString(160);
  req.metadata.causation_id = p.ConsumeRandomLengthString(80);
  req.metadata.command_id = p.ConsumeRandomLengthString(80);
  const auto& all = qx::fuzz::schema_messages();
  const auto* type = all[p.ConsumeIntegralInRange<std::size_t>(0, all.size() - 1)];
  ev::new_event e;
  e.type = p.ConsumeBool() ? p.ConsumeRandomLengthString(80) : type->full_name();
  e.payload = p.ConsumeRemainingBytesAsString();
  req.events.push_back(e);
  if (!ev::validate(req, ev::append_limits{}))
    return;

  ev::detail::record_fields f;
  f.position = 7;
  f.stream = req.stream;
  f.version = 3;
  f.time_unix_ns = 1'795'000'000'000'000'000;
  f.event = &req.events[0];
  f.metadata = &req.metadata;
  const auto rec = ev::detail::encode_record(f);
  auto back = ev::detail::decode_record(7, rec.bytes, true);
  check(back.has_value(), "gate: a record validate() accepts decodes",
        back ? std::string{} : back.error().to_string());
  check(back->stream == req.stream && back->type == e.type && back->payload == e.payload &&
            back->metadata.actor == req.metadata.actor &&
            back->metadata.correlation_id == req.metadata.correlation_id &&
            back->metadata.causation_id == req.metadata.causation_id &&
            back->metadata.command_id == req.metadata.command_id,
        "gate: a record validate() accepts reads back unchanged");
  check_decoded(*back);
  if (pb::DescriptorPool::generated_pool()->FindMessageTypeByName(e.type) != nullptr) {
    auto rendered = ev::payload_to_json(e.type, e.payload);
    check(rendered.has_value(), "gate: the payload of an accepted record renders",
          rendered ? std::string{} : rendered.error().to_string());
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qx::fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  const auto in = qx::fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 4U) {
  case 0:
    decode_stored(in);
    check_text_fields(ev::v1::Envelope::descriptor(), in);
    break;
  case 1: {
    std::string record{in};
    const auto h = ev::detail::sha256(record);
    record.push_back(static_cast<char>((12U << 3U) | 2U));
    record.push_back(static_cast<char>(32));
    record.append(reinterpret_cast<const char*>(h.data()), h.size());
    decode_stored(record);
    check_text_fields(ev::v1::Envelope::descriptor(), in);
    break;
  }
  case 2: {
    const auto [name, payload] = qx::fuzz::first_line(in);
    const auto* type = qx::fuzz::pick_message(name);
    if (auto j = ev::payload_to_json(type->full_name(), payload))
      check(valid_utf8(*j), "payload_to_json: the JSON is valid UTF-8", *j);
    check_text_fields(type, payload);
    ev::recorded_event e;
    e.position = 1;
    e.type = type->full_name();
    e.payload = std::string{payload};
    check_decoded(e);
    break;
  }
  default:
    append(in);
    break;
  }
  return 0;
}
