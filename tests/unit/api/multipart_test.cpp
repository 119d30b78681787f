#include "multipart.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace qx::api {
namespace {

using namespace std::string_literals; // the bodies hold NUL bytes

constexpr std::string_view boundary = "------------------------d74496d66958873e";

// What the handlers saw, in order.
struct seen {
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> filenames; // one per file_begin
  std::string file;
  std::size_t file_data_calls = 0;
  int file_ends = 0;

  bool operator==(const seen&) const = default;
};

struct outcome {
  seen got;
  std::optional<multipart_error> error; // from feed, else from finish
  bool done = false;
};

multipart_reader::handlers record(seen& s) {
  multipart_reader::handlers h;
  h.field = [&s](const std::string& name, std::string value) {
    s.fields.emplace_back(name, std::move(value));
    return true;
  };
  h.file_begin = [&s](const std::string& filename) {
    s.filenames.push_back(filename);
    return true;
  };
  h.file_data = [&s](const char* data, std::size_t n) {
    s.file.append(data, n);
    ++s.file_data_calls;
    return true;
  };
  h.file_end = [&s] {
    ++s.file_ends;
    return true;
  };
  return h;
}

// Feeds `body` in chunks of the sizes `next()` returns, then finishes.
template<class Next>
outcome run_chunked(std::string_view body, Next next, multipart_reader::limits l = {},
                    std::string_view b = boundary) {
  outcome out;
  multipart_reader r{std::string{b}, record(out.got), l};
  while (!body.empty() && !out.error) {
    const auto n = std::min<std::size_t>(next(), body.size());
    out.error = r.feed(body.data(), n);
    body.remove_prefix(n);
  }
  if (!out.error)
    out.error = r.finish();
  out.done = r.done();
  return out;
}

outcome run(std::string_view body, multipart_reader::limits l = {}, std::string_view b = boundary) {
  return run_chunked(
      body, [n = body.size()] { return n == 0 ? 1 : n; }, l, b);
}

std::string field_part(std::string_view name, std::string_view value) {
  return "--" + std::string{boundary} + "\r\nContent-Disposition: form-data; name=\"" +
         std::string{name} + "\"\r\n\r\n" + std::string{value} + "\r\n";
}

std::string file_part(std::string_view content, std::string_view filename = "disk.qcow2") {
  return "--" + std::string{boundary} +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + std::string{filename} +
         "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + std::string{content} + "\r\n";
}

std::string close_delimiter() {
  return "--" + std::string{boundary} + "--\r\n";
}

// File content built to trip a delimiter search: every proper prefix of the delimiter, the
// boundary after a bare LF or without its CR, "--" lines, CR runs, NUL and every byte value.
std::string tricky_content() {
  const std::string delim = "\r\n--" + std::string{boundary};
  std::string c = "\r\n"s;
  for (std::size_t i = 1; i < delim.size(); ++i)
    c += delim.substr(0, i) + "x";
  // The boundary after a bare LF and after other text is not a delimiter.
  c += "\n--" + std::string{boundary} + "x--" + std::string{boundary} + "--";
  c += "\r\n--\r\n--\r\n----\r\r\r\n\r\n-";
  c += "a\0b\0\0c"s;
  for (int v = 0; v < 256; ++v)
    c.push_back(static_cast<char>(v));
  c += "\r\n--" + std::string{boundary}.substr(0, boundary.size() - 1); // almost, at the end
  c += "\r"; // a CR right before the real delimiter's CR
  return c;
}

std::string curl_like_body(std::string_view content) {
  return field_part("name", "disk-1") + field_part("format", "qcow2") + file_part(content) +
         close_delimiter();
}

seen expected_curl_like(std::string_view content) {
  seen s;
  s.fields = {{"name", "disk-1"}, {"format", "qcow2"}};
  s.filenames = {"disk.qcow2"};
  s.file = std::string{content};
  s.file_ends = 1;
  return s;
}

TEST(multipart, reads_a_curl_like_body) {
  const std::string content = "QFI\xfb\0\0\0\3 image bytes"s;
  const auto out = run(curl_like_body(content));
  ASSERT_FALSE(out.error) << out.error->message;
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.got.fields, expected_curl_like(content).fields);
  EXPECT_EQ(out.got.filenames, std::vector<std::string>{"disk.qcow2"});
  EXPECT_EQ(out.got.file, content);
  EXPECT_EQ(out.got.file_ends, 1);
}

TEST(multipart, every_chunk_size_gives_the_same_result) {
  const auto content = tricky_content();
  const auto body = curl_like_body(content);
  const auto want = expected_curl_like(content);
  for (std::size_t size = 1; size <= 64; ++size) {
    auto out = run_chunked(body, [size] { return size; });
    ASSERT_FALSE(out.error) << "chunk size " << size << ": " << out.error->message;
    EXPECT_TRUE(out.done) << "chunk size " << size;
    out.got.file_data_calls = 0; // the one thing chunking may change
    auto w = want;
    w.file_data_calls = 0;
    EXPECT_EQ(out.got, w) << "chunk size " << size;
  }
}

// The server sizes a file from Content-Length: at file_begin, consumed() must be exactly where
// the file's bytes start, whatever the chunking.
TEST(multipart, consumed_at_file_begin_is_where_the_file_starts) {
  const auto content = tricky_content();
  const auto body = curl_like_body(content);
  const auto file_start = body.size() - content.size() - 2 - close_delimiter().size();
  ASSERT_EQ(body.substr(file_start, content.size()), content);
  for (std::size_t size = 1; size <= 97; size += 3) {
    std::uint64_t at_begin = 0;
    seen s;
    auto h = record(s);
    multipart_reader* reader = nullptr;
    h.file_begin = [&](const std::string&) {
      at_begin = reader->consumed();
      return true;
    };
    multipart_reader r{std::string{boundary}, h};
    reader = &r;
    for (std::size_t at = 0; at < body.size(); at += size)
      ASSERT_FALSE(r.feed(body.data() + at, std::min(size, body.size() - at)));
    EXPECT_EQ(at_begin, file_start) << "chunk size " << size;
    EXPECT_EQ(r.consumed(), body.size());
  }
}

TEST(multipart, random_splits_give_the_same_result) {
  const auto content = tricky_content();
  // With a preamble and an epilogue, which are both ignored.
  const auto body = "preamble\r\n--not-it\r\n\r\n" + curl_like_body(content) + "epilogue --" +
                    std::string{boundary} + "\r\n";
  std::mt19937 gen{20240611U};
  std::uniform_int_distribution<std::size_t> size{1, 200};
  for (int round = 0; round < 300; ++round) {
    const auto out = run_chunked(body, [&] { return size(gen); });
    ASSERT_FALSE(out.error) << "round " << round << ": " << out.error->message;
    EXPECT_TRUE(out.done);
    EXPECT_EQ(out.got.fields, expected_curl_like(content).fields) << "round " << round;
    EXPECT_EQ(out.got.file, content) << "round " << round;
    EXPECT_EQ(out.got.file_ends, 1);
  }
}

TEST(multipart, streams_file_bytes_without_waiting_for_the_delimiter) {
  const std::string head =
      field_part("name", "big") + file_part("").substr(0, file_part("").size() - 2);
  const std::string content(std::size_t{1} << 20U, 'z');
  seen s;
  multipart_reader r{std::string{boundary}, record(s)};
  ASSERT_FALSE(r.feed(head.data(), head.size()));
  ASSERT_FALSE(r.feed(content.data(), content.size()));
  EXPECT_EQ(s.file.size(), content.size()); // no CR at the end: nothing held back
  const std::string partial = "\r\n--" + std::string{boundary}.substr(0, 5);
  ASSERT_FALSE(r.feed(partial.data(), partial.size()));
  EXPECT_EQ(s.file.size(), content.size()); // a possible delimiter is held back...
  const std::string not_it = "!";
  ASSERT_FALSE(r.feed(not_it.data(), not_it.size()));
  EXPECT_EQ(s.file, content + partial + not_it); // ...and released when it is not one
  const std::string tail = "\r\n" + close_delimiter();
  ASSERT_FALSE(r.feed(tail.data(), tail.size()));
  EXPECT_TRUE(r.done());
  EXPECT_FALSE(r.finish());
  EXPECT_EQ(s.file_ends, 1);
}

TEST(multipart, accepts_case_insensitive_headers_token_names_and_escaped_quotes) {
  const std::string b{boundary};
  const auto body = "--" + b +
                    " \t\r\ncontent-disposition: FORM-DATA; NAME=format;\r\n\r\nraw\r\n" + "--" +
                    b + "\r\nX-Ignored: yes\r\nContent-Disposition: form-data; name=\"file\"; " +
                    "filename=\"a\\\"b\\\\c:\\dir.img\"\r\ncontent-type: text/plain\r\n\r\n" +
                    "\r\n--" + b + "--";
  const auto out = run(body);
  ASSERT_FALSE(out.error) << out.error->message;
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.got.fields, (std::vector<std::pair<std::string, std::string>>{{"format", "raw"}}));
  // \" and \\ are escapes; a lone backslash before other text stays (Windows paths).
  EXPECT_EQ(out.got.filenames, std::vector<std::string>{"a\"b\\c:\\dir.img"});
  EXPECT_EQ(out.got.file, "");
  EXPECT_EQ(out.got.file_ends, 1);
}

TEST(multipart, body_without_close_delimiter_fails_at_finish) {
  const auto full = curl_like_body("content");
  for (const std::string& body : {full.substr(0, full.size() - 4), // "--B" without "--"
                                  full.substr(0, full.find("content") + 3), std::string{}}) {
    const auto out = run(body);
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code, "INVALID_MULTIPART");
    EXPECT_FALSE(out.done);
    EXPECT_EQ(out.got.file_ends, 0);
  }
}

TEST(multipart, part_without_name_is_invalid) {
  const std::string b{boundary};
  for (const std::string_view headers :
       {"Content-Disposition: form-data\r\n", "Content-Disposition: form-data; name=\"\"\r\n",
        "Content-Disposition: attachment; name=\"x\"\r\n", "Content-Type: text/plain\r\n", "",
        "Content-Disposition: form-data; name=\"unterminated\r\n"}) {
    std::string body = "--" + b + "\r\n";
    body.append(headers).append("\r\nvalue\r\n--").append(b).append("--\r\n");
    const auto out = run(body);
    ASSERT_TRUE(out.error) << headers;
    EXPECT_EQ(out.error->code, "INVALID_MULTIPART") << headers;
    EXPECT_EQ(out.error->field, "Content-Disposition") << headers;
    EXPECT_TRUE(out.got.fields.empty());
  }
}

TEST(multipart, malformed_framing_is_invalid) {
  const std::string b{boundary};
  for (const std::string& body : {
           "--" + b + "x\r\n",                                                 // boundary then text
           "--" + b + "\r\nContent-Disposition form-data\r\n\r\n",             // no colon
           "--" + b + "\r\n folded: x\r\n\r\n",                                // obs-fold
           "--" + b + "\r\nContent-Disposition: form-data; name=a\rb\r\n\r\n", // bare CR
           field_part("a", "1") + "--" + b + "\r\r\n",                         // CR CR LF
       }) {
    const auto out = run(body);
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code, "INVALID_MULTIPART");
  }
}

TEST(multipart, oversized_part_headers_are_invalid) {
  multipart_reader::limits l;
  l.max_part_header_bytes = 64;
  const std::string disposition = "Content-Disposition: form-data; name=\"a\"\r\n"; // 43 bytes
  const auto fits = run(field_part("a", "1") + close_delimiter(), l);
  EXPECT_FALSE(fits.error);
  const auto body = "--" + std::string{boundary} + "\r\nX-Pad: " + std::string(40, 'p') + "\r\n" +
                    disposition + "\r\n1\r\n" + close_delimiter();
  const auto out = run(body, l);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "INVALID_MULTIPART");
  // Byte by byte too: the limit holds however the headers arrive.
  const auto slow = run_chunked(
      body, [] { return 1; }, l);
  ASSERT_TRUE(slow.error);
  EXPECT_EQ(slow.error->code, "INVALID_MULTIPART");
}

TEST(multipart, field_over_the_limit_is_refused_with_its_name) {
  multipart_reader::limits l;
  l.max_field_bytes = 8;
  const auto at_limit = run(field_part("name", "12345678") + close_delimiter(), l);
  ASSERT_FALSE(at_limit.error);
  EXPECT_EQ(at_limit.got.fields,
            (std::vector<std::pair<std::string, std::string>>{{"name", "12345678"}}));
  for (std::size_t size = 1; size <= 9; ++size) {
    const auto out = run_chunked(
        field_part("name", "123456789") + close_delimiter(), [size] { return size; }, l);
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code, "FIELD_TOO_LARGE");
    EXPECT_EQ(out.error->field, "name");
    EXPECT_TRUE(out.got.fields.empty());
  }
}

TEST(multipart, too_many_parts) {
  multipart_reader::limits l;
  l.max_parts = 2;
  const auto two = run(field_part("a", "1") + field_part("b", "2") + close_delimiter(), l);
  EXPECT_FALSE(two.error);
  const auto out = run(
      field_part("a", "1") + field_part("b", "2") + field_part("c", "3") + close_delimiter(), l);
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "TOO_MANY_PARTS");
  EXPECT_EQ(out.got.fields,
            (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "2"}}));
}

TEST(multipart, duplicate_field) {
  const auto out =
      run(field_part("name", "a") + field_part("name", "b") + file_part("x") + close_delimiter());
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code, "DUPLICATE_FIELD");
  EXPECT_EQ(out.error->field, "name");
  EXPECT_EQ(out.got.fields, (std::vector<std::pair<std::string, std::string>>{{"name", "a"}}));
}

TEST(multipart, part_after_the_file_is_unexpected) {
  for (const std::string& after : {field_part("format", "raw"), file_part("again")}) {
    const auto out = run(field_part("name", "a") + file_part("bytes") + after + close_delimiter());
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code, "UNEXPECTED_PART");
    EXPECT_EQ(out.got.file, "bytes");
    EXPECT_EQ(out.got.file_ends, 0); // never told the file is complete
  }
}

TEST(multipart, handler_returning_false_aborts) {
  const auto body = curl_like_body("content");
  const auto stop_in = [&](auto tweak) {
    seen s;
    auto h = record(s);
    tweak(h);
    multipart_reader r{std::string{boundary}, std::move(h)};
    auto error = r.feed(body.data(), body.size());
    const auto again = r.feed(body.data(), body.size());
    EXPECT_TRUE(again && error && again->code == error->code); // refuses later calls too
    EXPECT_FALSE(r.done());
    EXPECT_TRUE(r.finish());
    return std::pair{error, s};
  };
  const auto [field_error, field_seen] = stop_in([](auto& h) {
    h.field = [](const std::string&, std::string) {
      return false;
    };
  });
  ASSERT_TRUE(field_error);
  EXPECT_EQ(field_error->code, "ABORTED");
  EXPECT_TRUE(field_seen.filenames.empty());

  const auto [data_error, data_seen] = stop_in([](auto& h) {
    h.file_data = [](const char*, std::size_t) {
      return false;
    };
  });
  ASSERT_TRUE(data_error);
  EXPECT_EQ(data_error->code, "ABORTED");
  EXPECT_EQ(data_seen.file_ends, 0);

  const auto [end_error, end_seen] = stop_in([](auto& h) {
    h.file_end = [] {
      return false;
    };
  });
  ASSERT_TRUE(end_error);
  EXPECT_EQ(end_error->code, "ABORTED");
  EXPECT_EQ(end_seen.file, "content");
}

TEST(multipart, invalid_boundary_fails_every_feed) {
  seen s;
  multipart_reader r{"bad\r\nboundary", record(s)};
  const std::string body = "--bad\r\nboundary--\r\n";
  const auto error = r.feed(body.data(), body.size());
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "INVALID_MULTIPART");
  EXPECT_TRUE(r.finish());
}

TEST(multipart, boundary_from_content_type) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data;BOUNDARY=\"a b'c\""), "a b'c");
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=utf-8; boundary=\"x\\yz\""), "xyz");
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'b')),
            std::string(70, 'b'));
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string{boundary}),
            std::string{boundary});

  EXPECT_EQ(multipart_boundary("multipart/form-data"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=utf-8"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary="), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"\""), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'b')),
            std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/mixed; boundary=abc"), std::nullopt);
  EXPECT_EQ(multipart_boundary("application/json; boundary=abc"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\" abc \""), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"abc"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"a@b\""), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=a; boundary=b"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary = abc"), std::nullopt);
}

} // namespace
} // namespace qx::api
