// Request bodies (api/src/http/json_codec.cpp): what every route's decoder is made of.
//
// Input: a message type name ("qx.events.v1.VmSpec"; any other text picks a type by its hash),
// '\n', then the body as the client sent it.
//
// The routes' own decoders (cluster_create, node_register, create_vm, ...) are lambdas in
// anonymous namespaces of handlers_*.cpp, which need the actors; this harness runs the calls
// they are made of on the same bodies: parse_body, only_fields, every typed reader on every
// key, and from_json into the named message (VmSpec, HaSettings, DrsSettings, NodeHardware and
// SecurityRule are the ones routes fill; every message of the schema is reachable).
//
// Properties: nothing throws; a refusal names its field; every string read is valid UTF-8; a
// message from_json accepted serializes into bytes that parse back (nothing the log cannot
// read back is built from a body); to_json of it renders (strict dump), and reads back into
// the same JSON.

#include "fuzz_common.hpp"
#include "fuzz_schema.hpp"

#include <json_codec.hpp>

#include <google/protobuf/dynamic_message.h>
#include <qx/base/utf8.hpp>

#include <cmath>
#include <memory>

namespace {

using qx::api::json;
using qx::fuzz::check;

std::unique_ptr<google::protobuf::Message> make(const google::protobuf::Descriptor* d) {
  return std::unique_ptr<google::protobuf::Message>{
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(d)->New()};
}

void refusal_names_field(const qx::error& e, const char* what) {
  check(e.details.contains("field"), what, e.to_string());
}

bool valid_utf8(std::string_view s) {
  return !qx::invalid_utf8_at(s).has_value();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qx::fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [type_line, body] = qx::fuzz::first_line(qx::fuzz::as_text(data, size));
  const auto* type = qx::fuzz::pick_message(type_line);

  auto parsed = qx::api::parse_body(body);
  // A tight nesting limit as well: the bracket count ahead of the parser must agree with it.
  if (auto shallow = qx::api::parse_body(body, 2); shallow && parsed)
    check(*shallow == *parsed, "parse_body: the depth limit does not change what is parsed");
  if (!parsed) {
    refusal_names_field(parsed.error(), "parse_body: a refusal names its field");
    return 0;
  }
  const json& j = *parsed;
  check(j.is_object(), "parse_body: the body is an object");

  if (auto ok = qx::api::only_fields(j, {"id", "name", "spec", "description"}); !ok)
    refusal_names_field(ok.error(), "only_fields: a refusal names its field");

  std::size_t keys = 0;
  for (const auto& [key, value] : j.items()) {
    if (++keys > 16)
      break;
    std::string s;
    if (auto ok = qx::api::read_string(j, key, s, true, 64); ok)
      check(valid_utf8(s), "read_string: the value is valid UTF-8");
    else
      refusal_names_field(ok.error(), "read_string: a refusal names its field");
    std::uint64_t u64 = 0;
    static_cast<void>(qx::api::read_u64(j, key, u64, true));
    std::uint32_t u32 = 0;
    static_cast<void>(qx::api::read_u32(j, key, u32, true));
    bool b = false;
    static_cast<void>(qx::api::read_bool(j, key, b));
    double d = 0;
    if (auto ok = qx::api::read_double(j, key, d); ok)
      check(std::isfinite(d), "read_double: the value is finite");
    auto inner = make(type);
    if (auto ok = qx::api::read_message(j, key, *inner, true); !ok)
      refusal_names_field(ok.error(), "read_message: a refusal names its field");
  }

  auto m = make(type);
  auto ok = qx::api::from_json(j, *m, "");
  if (!ok) {
    refusal_names_field(ok.error(), "from_json: a refusal names its field");
    return 0;
  }
  std::string bytes;
  check(m->SerializeToString(&bytes), "from_json: the message serializes");
  auto back = make(type);
  check(back->ParseFromString(bytes), "from_json: the serialized message parses back",
        type->full_name());

  const auto rendered = qx::api::to_json(*m);
  std::string text;
  try {
    text = rendered.dump();
  } catch (const json::exception& e) {
    check(false, "to_json: renders as JSON (strict dump)", e.what());
  }
  auto again = make(type);
  auto ok2 = qx::api::from_json(json::parse(text), *again, "");
  check(ok2.has_value(), "to_json: what it renders reads back", text);
  check(qx::api::to_json(*again) == rendered, "to_json/from_json: a round trip is stable", text);
  return 0;
}
