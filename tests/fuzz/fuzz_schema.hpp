#pragma once

// The protobuf message types the harnesses pick from: every message of the events schema
// (qx.events.v1) and of the aggregates' snapshots (qx.snapshots.v1), map entries left out.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>
#include <qx/events/v1/access.pb.h>
#include <qx/events/v1/alert.pb.h>
#include <qx/events/v1/cluster.pb.h>
#include <qx/events/v1/drs.pb.h>
#include <qx/events/v1/envelope.pb.h>
#include <qx/events/v1/ha.pb.h>
#include <qx/events/v1/network.pb.h>
#include <qx/events/v1/node.pb.h>
#include <qx/events/v1/storage.pb.h>
#include <qx/events/v1/vm.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <functional>
#include <string_view>
#include <vector>

namespace qx::fuzz {

namespace detail {
inline void add_messages(const google::protobuf::Descriptor* d,
                         std::vector<const google::protobuf::Descriptor*>& out) {
  if (d->map_key() != nullptr) // a map entry
    return;
  out.push_back(d);
  for (int i = 0; i < d->nested_type_count(); ++i)
    add_messages(d->nested_type(i), out);
}
} // namespace detail

/// Protobuf logs every string field it refuses as invalid UTF-8: thousands of lines a second
/// under the fuzzer. Its log goes nowhere (the sanitizers' reports and ours use stderr still).
inline void quiet_protobuf() {
  google::protobuf::SetLogHandler(nullptr);
}

/// Every message type, in a stable order (files as listed, messages as declared).
inline const std::vector<const google::protobuf::Descriptor*>& schema_messages() {
  static const auto all = [] {
    namespace v1 = qx::events::v1;
    const google::protobuf::FileDescriptor* files[] = {
        v1::Envelope::descriptor()->file(),
        v1::AuditRecorded::descriptor()->file(),
        v1::AlertAcknowledged::descriptor()->file(),
        v1::ClusterCreated::descriptor()->file(),
        v1::DrsRecommended::descriptor()->file(),
        v1::HaNodeFailed::descriptor()->file(),
        v1::NetworkCreated::descriptor()->file(),
        v1::NodeRegistered::descriptor()->file(),
        v1::VolumeCreated::descriptor()->file(),
        v1::VmCreated::descriptor()->file(),
        qx::snapshots::v1::VmState::descriptor()->file()};
    std::vector<const google::protobuf::Descriptor*> out;
    for (const auto* f : files)
      for (int i = 0; i < f->message_type_count(); ++i)
        detail::add_messages(f->message_type(i), out);
    return out;
  }();
  return all;
}

/// Whether a message of type `d` can hold bytes fields (at any depth): their contents are not
/// text, so its JSON (to_json copies them as they are) may not be valid UTF-8. Event payloads
/// have none; the envelope and the snapshot record do.
inline bool has_bytes_field(const google::protobuf::Descriptor* d, int depth = 0) {
  if (depth > 8)
    return false;
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (f->type() == google::protobuf::FieldDescriptor::TYPE_BYTES)
      return true;
    if (f->message_type() != nullptr && has_bytes_field(f->message_type(), depth + 1))
      return true;
  }
  return false;
}

/// The message named `name` ("qx.events.v1.VmSpec"), or, for any other text, one chosen by
/// its hash: every input names some type, and mutations of a name reach all of them.
inline const google::protobuf::Descriptor* pick_message(std::string_view name) {
  const auto& all = schema_messages();
  for (const auto* d : all)
    if (d->full_name() == name)
      return d;
  return all[std::hash<std::string_view>{}(name) % all.size()];
}

} // namespace qx::fuzz
