#pragma once

// Text inside serialized protobuf messages. A proto3 `string` field must hold valid UTF-8:
// the generated serializer writes invalid bytes anyway (with only a log line) and the parser
// then refuses the whole message. The store therefore checks every text field of a record
// before it is written (nothing the log cannot read back is appended), and readers parse
// through parse_message, which reads records written before that check existed (data
// directories of the released version) with the bad bytes shown escaped.
//
// Both walk the wire format against the message's descriptor by hand: no copy, no
// allocation on the valid path, and no dependency on protobuf's reflection-based parser.

#include "qx/base/error.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace google::protobuf {
class Descriptor;
class Message;
} // namespace google::protobuf

namespace qx::events {

/// The first text field of `bytes` (a serialized message of `type`) that is not valid
/// UTF-8, as a path such as "path" or "spec.name"; nullopt when every text field is valid.
/// errc::invalid_argument when `bytes` are not protobuf wire format at all.
[[nodiscard]] result<std::optional<std::string>>
invalid_text_field(const google::protobuf::Descriptor& type, std::string_view bytes);

/// `bytes` with every byte that breaks UTF-8 in a text field (at any depth) replaced by its
/// escape `\xHH` (see qx::escape_invalid_utf8); nullopt when `bytes` are not wire format.
[[nodiscard]] std::optional<std::string>
escape_text_fields(const google::protobuf::Descriptor& type, std::string_view bytes);

/// Parses `msg` from `bytes`. When the strict parse fails only because a text field holds
/// invalid UTF-8 (a record written before the store checked text), parses the record with
/// those bytes escaped instead. False when `bytes` are not a `msg` at all.
[[nodiscard]] bool parse_message(google::protobuf::Message& msg, std::string_view bytes);

/// `msg`'s bytes, the same for the same message in every process: map fields (a rule's node
/// priorities) sorted by key. The log's hash chain and the equality of two messages by their
/// bytes need it; protobuf's default order of map entries is unspecified.
[[nodiscard]] std::string serialize_deterministic(const google::protobuf::Message& msg);

/// Checks the payload of an event of `type` before it is appended: every text field valid
/// UTF-8. Types this binary has no descriptor for are opaque bytes and pass. On failure,
/// invalid_argument naming `field` + "." + the field's path.
[[nodiscard]] status check_payload_text(std::string_view type, std::string_view payload,
                                        const std::string& field);

} // namespace qx::events
