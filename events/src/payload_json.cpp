#include "qx/events/payload_json.hpp"

#include "qx/events/text_fields.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <qx/events/v1/cluster.pb.h>
#include <qx/events/v1/drs.pb.h>
#include <qx/events/v1/ha.pb.h>
#include <qx/events/v1/network.pb.h>
#include <qx/events/v1/node.pb.h>
#include <qx/events/v1/storage.pb.h>
#include <qx/events/v1/vm.pb.h>

#include <array>
#include <memory>

namespace qx::events {

namespace {

// Naming one message of each schema file keeps its object file, and so its registration in
// the generated pool, in every program that links this library statically.
void keep_schemas_linked() {
  static const std::array files{
      v1::ClusterCreated::descriptor()->file(), v1::DrsRecommended::descriptor()->file(),
      v1::HaNodeFailed::descriptor()->file(),   v1::NetworkCreated::descriptor()->file(),
      v1::NodeRegistered::descriptor()->file(), v1::VolumeCreated::descriptor()->file(),
      v1::VmCreated::descriptor()->file()};
  static_cast<void>(files);
}

} // namespace

result<std::string> payload_to_json(std::string_view type, std::string_view payload) {
  keep_schemas_linked();
  namespace pb = google::protobuf;
  const auto* desc = pb::DescriptorPool::generated_pool()->FindMessageTypeByName(std::string{type});
  if (desc == nullptr)
    return error{
        errc::not_found, "unknown event type " + std::string{type}, {{"type", std::string{type}}}};
  const auto* prototype = pb::MessageFactory::generated_factory()->GetPrototype(desc);
  std::unique_ptr<pb::Message> msg{prototype->New()};
  if (!parse_message(*msg, payload))
    return error{errc::corrupted, "payload does not decode as " + std::string{type}};
  std::string out;
  pb::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  if (auto s = pb::util::MessageToJsonString(*msg, &out, opts); !s.ok())
    return error{errc::corrupted, "payload cannot be rendered: " + s.ToString()};
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4U]);
    out.push_back(digits[c & 0x0FU]);
  }
  return out;
}

} // namespace qx::events
