#include "qx/events/text_fields.hpp"

#include "qx/base/utf8.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>

#include <cstdint>
#include <unordered_map>

namespace qx::events {

namespace {

namespace pb = google::protobuf;

// Nesting deeper than this is refused as not a message of ours (the generated parser stops
// at 100 too), so a hostile payload cannot exhaust the stack.
constexpr int max_depth = 100;

enum wire : unsigned { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

/// One field as it lies in the bytes.
struct field_view {
  std::uint32_t number = 0;
  unsigned wire_type = 0;
  std::string_view raw;     ///< The whole field: tag, length, content.
  std::string_view content; ///< For length-delimited fields: the bytes after the length.
};

/// A cursor over wire-format bytes that yields one field at a time.
class wire_reader {
 public:
  explicit wire_reader(std::string_view in) : in_(in) {}

  [[nodiscard]] bool done() const { return at_ == in_.size(); }

  /// The next field; false when the bytes are not wire format.
  bool next(field_view& f) {
    const auto begin = at_;
    std::uint64_t tag = 0;
    if (!read_varint(tag) || (tag >> 3U) == 0 || (tag >> 3U) > 0x1FFFFFFFU)
      return false;
    f.number = static_cast<std::uint32_t>(tag >> 3U);
    f.wire_type = static_cast<unsigned>(tag & 7U);
    f.content = {};
    switch (f.wire_type) {
    case varint: {
      std::uint64_t ignored = 0;
      if (!read_varint(ignored))
        return false;
      break;
    }
    case fixed64:
      if (!skip(8))
        return false;
      break;
    case fixed32:
      if (!skip(4))
        return false;
      break;
    case length_delimited: {
      std::uint64_t length = 0;
      if (!read_varint(length) || length > in_.size() - at_)
        return false;
      f.content = in_.substr(at_, length);
      at_ += length;
      break;
    }
    default:
      return false; // groups (proto2 only) and invalid wire types
    }
    f.raw = in_.substr(begin, at_ - begin);
    return true;
  }

 private:
  bool read_varint(std::uint64_t& v) {
    v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (at_ >= in_.size())
        return false;
      const auto b = static_cast<std::uint8_t>(in_[at_++]);
      v |= static_cast<std::uint64_t>(b & 0x7FU) << shift;
      if ((b & 0x80U) == 0)
        return true;
    }
    return false;
  }

  bool skip(std::size_t n) {
    if (n > in_.size() - at_)
      return false;
    at_ += n;
    return true;
  }

  std::string_view in_;
  std::size_t at_ = 0;
};

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80U) {
    out.push_back(static_cast<char>((v & 0x7FU) | 0x80U));
    v >>= 7U;
  }
  out.push_back(static_cast<char>(v));
}

/// The field's descriptor when it is text or a message sent length-delimited, else null.
const pb::FieldDescriptor* walked_field(const pb::Descriptor& type, const field_view& f) {
  if (f.wire_type != length_delimited)
    return nullptr;
  const auto* fd = type.FindFieldByNumber(static_cast<int>(f.number));
  if (fd == nullptr)
    return nullptr;
  if (fd->type() == pb::FieldDescriptor::TYPE_STRING ||
      fd->type() == pb::FieldDescriptor::TYPE_MESSAGE)
    return fd;
  return nullptr;
}

error not_wire(const pb::Descriptor& type) {
  return error{errc::invalid_argument, "the bytes do not decode as " + type.full_name()};
}

result<std::optional<std::string>> find_invalid(const pb::Descriptor& type, std::string_view bytes,
                                                int depth) {
  if (depth > max_depth)
    return not_wire(type);
  wire_reader r{bytes};
  field_view f;
  while (!r.done()) {
    if (!r.next(f))
      return not_wire(type);
    const auto* fd = walked_field(type, f);
    if (fd == nullptr)
      continue;
    if (fd->type() == pb::FieldDescriptor::TYPE_STRING) {
      if (qx::invalid_utf8_at(f.content))
        return std::optional<std::string>{fd->name()};
      continue;
    }
    auto inner = find_invalid(*fd->message_type(), f.content, depth + 1);
    if (!inner)
      return inner;
    if (*inner)
      return std::optional<std::string>{fd->name() + "." + **inner};
  }
  return std::optional<std::string>{};
}

bool escape_into(const pb::Descriptor& type, std::string_view bytes, std::string& out, int depth) {
  if (depth > max_depth)
    return false;
  wire_reader r{bytes};
  field_view f;
  while (!r.done()) {
    if (!r.next(f))
      return false;
    const auto* fd = walked_field(type, f);
    if (fd == nullptr) {
      out.append(f.raw);
      continue;
    }
    std::string content;
    if (fd->type() == pb::FieldDescriptor::TYPE_STRING)
      content = qx::escape_invalid_utf8(f.content);
    else if (!escape_into(*fd->message_type(), f.content, content, depth + 1))
      return false;
    put_varint(out, (std::uint64_t{f.number} << 3U) | length_delimited);
    put_varint(out, content.size());
    out.append(content);
  }
  return true;
}

/// Looks names up by string_view: no allocation per append.
struct name_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

const pb::Descriptor* descriptor_of(std::string_view type) {
  // The generated pool locks on every lookup; each thread keeps what it found.
  thread_local std::unordered_map<std::string, const pb::Descriptor*, name_hash, std::equal_to<>>
      known;
  auto it = known.find(type);
  if (it == known.end())
    it =
        known
            .emplace(std::string{type},
                     pb::DescriptorPool::generated_pool()->FindMessageTypeByName(std::string{type}))
            .first;
  return it->second;
}

} // namespace

result<std::optional<std::string>> invalid_text_field(const pb::Descriptor& type,
                                                      std::string_view bytes) {
  return find_invalid(type, bytes, 0);
}

std::optional<std::string> escape_text_fields(const pb::Descriptor& type, std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 16);
  if (!escape_into(type, bytes, out, 0))
    return std::nullopt;
  return out;
}

std::string serialize_deterministic(const pb::Message& msg) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream raw{&out};
    google::protobuf::io::CodedOutputStream coded{&raw};
    coded.SetSerializationDeterministic(true);
    msg.SerializeToCodedStream(&coded);
  }
  return out;
}

bool parse_message(pb::Message& msg, std::string_view bytes) {
  if (msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return true;
  const auto escaped = escape_text_fields(*msg.GetDescriptor(), bytes);
  if (!escaped || *escaped == bytes)
    return false;
  return msg.ParseFromArray(escaped->data(), static_cast<int>(escaped->size()));
}

status check_payload_text(std::string_view type, std::string_view payload,
                          const std::string& field) {
  const auto* desc = descriptor_of(type);
  if (desc == nullptr)
    return {};
  auto bad = invalid_text_field(*desc, payload);
  if (!bad)
    return error{errc::invalid_argument,
                 "the payload does not decode as " + std::string{type},
                 {{"field", field}}};
  if (*bad)
    return error{errc::invalid_argument,
                 "text field " + **bad + " of the payload is not valid UTF-8",
                 {{"field", field + "." + **bad}}};
  return {};
}

} // namespace qx::events
