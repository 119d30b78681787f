#include "record_codec.hpp"

#include "sha256.hpp"

#include "qx/events/text_fields.hpp"

#include <qx/events/v1/envelope.pb.h>

#include <algorithm>

namespace qx::events::detail {

namespace {

// Field 12 (hash), wire type 2 (length-delimited), length 32: the fixed 34-byte trailer.
constexpr unsigned char hash_tag = (12U << 3U) | 2U;
constexpr std::size_t trailer_size = 2 + 32;

} // namespace

void put_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> static_cast<unsigned>(shift)) & 0xFFU));
}

std::uint64_t get_be64(std::string_view in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < in.size(); ++i)
    v = (v << 8U) | static_cast<unsigned char>(in[i]);
  return v;
}

error corrupted_at(std::uint64_t position, std::string what) {
  return error{errc::corrupted,
               "record " + std::to_string(position) + ": " + std::move(what),
               {{"position", std::to_string(position)}}};
}

encoded_record encode_record(const record_fields& f) {
  v1::Envelope env;
  env.set_position(f.position);
  env.set_stream(f.stream.data(), f.stream.size());
  env.set_version(f.version);
  env.set_type(f.event->type);
  env.set_time_unix_ns(f.time_unix_ns);
  env.set_actor(f.metadata->actor);
  env.set_correlation_id(f.metadata->correlation_id);
  env.set_causation_id(f.metadata->causation_id);
  env.set_command_id(f.metadata->command_id);
  env.set_prev_hash(f.prev_hash.data(), f.prev_hash.size());
  env.set_payload(f.event->payload);
  encoded_record out;
  out.bytes.reserve(env.ByteSizeLong() + trailer_size);
  env.AppendToString(&out.bytes);
  out.hash = sha256(out.bytes);
  out.bytes.push_back(static_cast<char>(hash_tag));
  out.bytes.push_back(static_cast<char>(32));
  out.bytes.append(reinterpret_cast<const char*>(out.hash.data()), out.hash.size());
  return out;
}

result<hash256> stored_hash(std::uint64_t position, std::string_view bytes) {
  if (bytes.size() < trailer_size)
    return corrupted_at(position, "shorter than its hash trailer (" + std::to_string(bytes.size()) +
                                      " bytes)");
  const auto* trailer =
      reinterpret_cast<const unsigned char*>(bytes.data()) + (bytes.size() - trailer_size);
  if (trailer[0] != hash_tag || trailer[1] != 32)
    return corrupted_at(position, "has no hash trailer");
  hash256 h{};
  std::copy_n(trailer + 2, h.size(), h.begin());
  return h;
}

status check_record_hash(std::uint64_t position, std::string_view bytes) {
  auto stored = stored_hash(position, bytes);
  if (!stored)
    return std::move(stored).error();
  if (sha256(bytes.substr(0, bytes.size() - trailer_size)) != *stored)
    return corrupted_at(position, "content does not match its hash");
  return {};
}

result<recorded_event> decode_record(std::uint64_t position, std::string_view bytes,
                                     bool check_hash) {
  recorded_event ev;
  if (auto ok = decode_record_into(ev, position, bytes, check_hash); !ok)
    return std::move(ok).error();
  return ev;
}

status decode_record_into(recorded_event& ev, std::uint64_t position, std::string_view bytes,
                          bool check_hash) {
  if (check_hash)
    if (auto ok = check_record_hash(position, bytes); !ok)
      return std::move(ok).error();
  // One envelope per thread, reused: parsing into it reuses its strings' capacity, so a
  // decode allocates only for the copies it hands out (replay speed, docs/performance.md).
  thread_local v1::Envelope env;
  // parse_message: a record written before the store checked text reads with its invalid
  // bytes escaped (its hash, checked above, covers the bytes as stored).
  if (!parse_message(env, bytes))
    return corrupted_at(position, "does not decode as an envelope");
  if (env.position() != position)
    return corrupted_at(position, "carries position " + std::to_string(env.position()));
  if (env.prev_hash().size() != 32)
    return corrupted_at(position, "has a malformed previous hash");
  ev.position = position;
  ev.stream = env.stream();
  ev.version = env.version();
  ev.type = env.type();
  ev.time_unix_ns = env.time_unix_ns();
  ev.metadata.actor = env.actor();
  ev.metadata.correlation_id = env.correlation_id();
  ev.metadata.causation_id = env.causation_id();
  ev.metadata.command_id = env.command_id();
  ev.payload = env.payload();
  std::copy_n(env.prev_hash().begin(), 32, ev.prev_hash.begin());
  return {};
}

} // namespace qx::events::detail
