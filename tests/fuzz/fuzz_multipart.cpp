// multipart/form-data (api/src/images/multipart.cpp), as POST /api/v1/images/upload reads it.
//
// Input: one flags byte, the Content-Type line, '\n', then the body. The flags pick small
// limits (bit 7) and seed the chunking.
//
// Property: the reader is a streaming parser, so what it reports must not depend on how the
// body is cut: the body fed whole and fed in random chunks (down to single bytes) give the
// same fields, the same file bytes, the same consumed() at the file's start, and the same
// error (code and field) or the same success.

#include "fuzz_common.hpp"

#include <multipart.hpp>

#include <string>
#include <vector>

namespace {

using qx::api::multipart_reader;

struct transcript {
  std::vector<std::string> events;
  std::string file;
  std::string outcome;

  [[nodiscard]] std::string text() const {
    std::string out;
    for (const auto& e : events)
      out += e + "\n";
    return out + "file " + std::to_string(file.size()) + " bytes\n" + outcome;
  }
};

transcript run(const std::string& boundary, std::string_view body,
               const multipart_reader::limits& l, std::uint64_t chunk_seed) {
  transcript t;
  multipart_reader* self = nullptr;
  multipart_reader::handlers h;
  h.field = [&t](const std::string& name, std::string value) {
    t.events.push_back("field " + name + "=" + value);
    return name != "stop"; // a handler that refuses: ABORTED
  };
  h.file_begin = [&t, &self](const std::string& filename) {
    t.events.push_back("file_begin " + filename + " at " + std::to_string(self->consumed()));
    return filename != "stop";
  };
  h.file_data = [&t](const char* data, std::size_t n) {
    t.file.append(data, n);
    return true;
  };
  h.file_end = [&t]() {
    t.events.push_back("file_end");
    return true;
  };
  multipart_reader reader{boundary, h, l};
  self = &reader;
  std::optional<qx::api::multipart_error> err;
  if (chunk_seed == 0) {
    err = reader.feed(body.data(), body.size());
  } else {
    qx::fuzz::splitmix rng{chunk_seed};
    std::size_t at = 0;
    while (at < body.size() && !err) {
      const auto n = std::min<std::size_t>(body.size() - at, 1 + rng.next() % 23);
      err = reader.feed(body.data() + at, n);
      at += n;
    }
    if (!err)
      qx::fuzz::check(reader.consumed() == body.size(), "multipart: consumed() counts every byte");
  }
  if (!err)
    err = reader.finish();
  if (err)
    t.outcome = "error " + err->code + " field=" + err->field;
  else
    t.outcome = reader.done() ? "done" : "not done";
  qx::fuzz::check(!err || !reader.done(), "multipart: an error is never done()");
  return t;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  const std::uint8_t flags = data[0];
  const auto [content_type, body] = qx::fuzz::first_line(qx::fuzz::as_text(data + 1, size - 1));

  multipart_reader::limits l;
  if ((flags & 0x80U) != 0) {
    l.max_field_bytes = 16;
    l.max_part_header_bytes = 64;
    l.max_parts = 3;
  }
  // An invalid boundary must fail every feed, so try the raw line too.
  const auto parsed = qx::api::multipart_boundary(content_type);
  const std::string boundary = parsed ? *parsed : std::string{content_type};
  if (parsed)
    qx::fuzz::check(!parsed->empty() && parsed->size() <= 70,
                    "multipart_boundary: 1 to 70 characters", *parsed);

  const auto whole = run(boundary, body, l, 0);
  const auto cut = run(boundary, body, l, (flags & 0x7FU) + 1U);
  qx::fuzz::check(whole.events == cut.events && whole.file == cut.file &&
                      whole.outcome == cut.outcome,
                  "multipart: the same body in one chunk and in many reads the same",
                  "whole:\n" + whole.text() + "\ncut:\n" + cut.text());
  return 0;
}
