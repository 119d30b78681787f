// POST /api/v1/images/upload: a multipart body streamed to <data dir>/images, the image's
// progress in the log and on the watch stream, its SHA-256, and every way an upload is refused
// or broken (each leaves nothing half done: no event, or the image in error with the reason).
#include "api_fixture.hpp"
#include "raw_socket.hpp"

#include <openssl/evp.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <random>

namespace qx::test {
namespace {

constexpr std::string_view boundary = "----qx-test-boundary-7MA4YWxkTrZu0gW";

std::string field(std::string_view name, std::string_view value) {
  return "--" + std::string{boundary} + "\r\nContent-Disposition: form-data; name=\"" +
         std::string{name} + "\"\r\n\r\n" + std::string{value} + "\r\n";
}

std::string file_part(std::string_view content, std::string_view filename) {
  return "--" + std::string{boundary} +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + std::string{filename} +
         "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + std::string{content};
}

/// How a body ends after the file: the close delimiter with CRLF (curl, browsers), without it.
std::string close_crlf() {
  return "\r\n--" + std::string{boundary} + "--\r\n";
}
std::string close_bare() {
  return "\r\n--" + std::string{boundary} + "--";
}

const std::string content_type = "multipart/form-data; boundary=" + std::string{boundary};

std::string bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng{seed};
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(rng());
  // A delimiter look-alike inside the file (all but its last character): file content still.
  if (n > 200)
    out.replace(100, boundary.size() + 3, "\r\n--" + std::string{boundary.substr(1)});
  return out;
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> d{};
  unsigned n = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &n, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    static constexpr std::string_view hex = "0123456789abcdef";
    out += hex[d[i] >> 4U];
    out += hex[d[i] & 0x0FU];
  }
  return out;
}

std::string file_text(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

class api_upload : public api_test {
 protected:
  api_response upload(const std::string& body, const header_list& headers = {}) {
    return api().send("POST", "/api/v1/images/upload", body, headers, content_type);
  }
  std::filesystem::path images_dir() { return std::filesystem::path{dir_.sub("data")} / "images"; }
  /// Files in the images folder (temporary ones included).
  std::vector<std::string> image_files() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator{images_dir(), ec})
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

TEST_F(api_upload, streams_a_file_to_disk_with_progress_and_checksum) {
  const auto content = bytes((std::size_t{5} << 20U) + 12345, 1);
  const auto sum = sha256_hex(content);
  watch_client w{server().ws_url(), "from=now"};
  const auto body = field("name", "debian 13 netinst") + field("format", "iso") +
                    field("id", "deb13") + field("sha256", sum) + file_part(content, "debian.iso") +
                    close_crlf();
  const auto r = upload(body);
  ASSERT_EQ(r.status, 202u) << show(r);
  const auto op = r.json();
  EXPECT_EQ(str(op, "kind"), "image.upload");
  EXPECT_EQ(str(op, "state"), "succeeded") << op.serialize();
  EXPECT_EQ(str(op, "target"), "image-deb13");
  EXPECT_EQ(r.header("Location"), "/api/v1/operations/" + str(op, "id"));

  const auto img = get_json("/api/v1/images/deb13");
  EXPECT_EQ(str(img, "state"), "ready");
  EXPECT_EQ(str(img, "name"), "debian 13 netinst");
  EXPECT_EQ(str(img, "format"), "iso");
  EXPECT_EQ(num(img, "sizeBytes"), content.size());
  EXPECT_EQ(num(img, "receivedBytes"), content.size());
  EXPECT_EQ(str(img, "sha256"), sum);
  // The bytes on disk are the file, and no temporary file is left.
  EXPECT_EQ(image_files(), std::vector<std::string>{"deb13"});
  EXPECT_TRUE(file_text(images_dir() / "deb13") == content) << "the stored file differs";

  // The log: created, progress at least every 1 MiB, ready.
  const auto events = items(api().get("/api/v1/events?stream=image-deb13&limit=1000"));
  ASSERT_GE(events.size(), 7u);
  EXPECT_EQ(str(events.front(), "type"), "qx.events.v1.ImageCreated");
  EXPECT_EQ(str(events.back(), "type"), "qx.events.v1.ImageReady");
  std::uint64_t last = 0;
  for (std::size_t i = 1; i + 1 < events.size(); ++i) {
    EXPECT_EQ(str(events[i], "type"), "qx.events.v1.ImageUploadProgressed");
    const auto got = num(events[i].at("data"), "receivedBytes");
    EXPECT_GT(got, last);
    last = got;
  }
  EXPECT_EQ(last, content.size());

  // Watchers saw the operation move before it ended.
  EXPECT_TRUE(w.wait_for(
      [&](const std::vector<web::json::value>& frames) {
        for (const auto& f : frames)
          if (str(f, "type") == "operation" && str(f.at("operation"), "state") == "succeeded")
            return true;
        return false;
      },
      5s));
  std::vector<std::uint64_t> progress;
  for (const auto& f : w.frames())
    if (str(f, "type") == "operation" && str(f.at("operation"), "id") == str(op, "id"))
      progress.push_back(num(f.at("operation"), "progress"));
  ASSERT_GE(progress.size(), 3u) << "no progress between the start and the end";
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  EXPECT_LT(progress.front(), 100u);
  EXPECT_EQ(progress.back(), 100u);
}

TEST_F(api_upload, name_and_format_come_from_the_file_name_and_size_from_the_length) {
  const auto content = bytes(4096, 2);
  auto r = upload(file_part(content, "tiny.qcow2") + close_crlf());
  ASSERT_EQ(r.status, 202u) << show(r);
  const auto id = str(r.json().at("result"), "imageId");
  const auto img = get_json("/api/v1/images/" + id);
  EXPECT_EQ(str(img, "name"), "tiny.qcow2");
  EXPECT_EQ(str(img, "format"), "qcow2");
  EXPECT_EQ(str(img, "state"), "ready");
  EXPECT_EQ(str(img, "sha256"), sha256_hex(content));

  // A body that ends without the final CRLF needs sizeBytes...
  r = upload(field("id", "bare") + file_part(content, "bare.raw") + close_bare());
  EXPECT_TRUE(is_error(r, 400, "SIZE_MISMATCH")) << show(r);
  EXPECT_EQ(str(get_json("/api/v1/images/bare"), "state"), "error");
  // ... and with it, it is fine.
  r = upload(field("id", "bare2") + field("sizeBytes", std::to_string(content.size())) +
             file_part(content, "bare.raw") + close_bare());
  ASSERT_EQ(r.status, 202u) << show(r);
  EXPECT_EQ(str(get_json("/api/v1/images/bare2"), "state"), "ready");
  // An empty file is no image.
  r = upload(field("id", "empty") + file_part("", "empty.raw") + close_crlf());
  EXPECT_TRUE(is_error(r, 400, "INVALID_ARGUMENT")) << show(r);
  EXPECT_EQ(api().get("/api/v1/images/empty").status, 404u);
}

TEST_F(api_upload, a_wrong_checksum_leaves_the_image_in_error_and_no_file) {
  const auto content = bytes(70'000, 3);
  const auto r =
      upload(field("id", "img1") + field("format", "raw") + field("sha256", std::string(64, 'a')) +
             file_part(content, "x.raw") + close_crlf());
  ASSERT_TRUE(is_error(r, 422, "CHECKSUM_MISMATCH")) << show(r);
  EXPECT_EQ(str(r.json().at("error").at("details"), "field"), "sha256");
  const auto img = get_json("/api/v1/images/img1");
  EXPECT_EQ(str(img, "state"), "error");
  EXPECT_NE(str(img, "error").find("checksum"), std::string::npos) << img.serialize();
  EXPECT_TRUE(image_files().empty()) << image_files().front();
}

TEST_F(api_upload, hostile_bodies_are_refused_and_change_nothing) {
  const auto content = bytes(1000, 4);
  const auto file = file_part(content, "f.raw") + close_crlf();
  struct hostile {
    std::string what;
    std::string body;
    std::string type;
    unsigned status;
    std::string code;
    std::string field;
  };
  const std::vector<hostile> cases = {
      {"json instead of multipart", R"({"name":"x"})", "application/json", 415,
       "UNSUPPORTED_MEDIA_TYPE", ""},
      {"no boundary", file, "multipart/form-data", 415, "UNSUPPORTED_MEDIA_TYPE", ""},
      {"other boundary", file, "multipart/form-data; boundary=nope", 400, "INVALID_MULTIPART", ""},
      {"garbage", std::string(5000, '\x07'), content_type, 400, "INVALID_MULTIPART", ""},
      {"unknown field", field("owner", "root") + file, content_type, 400, "INVALID_ARGUMENT",
       "owner"},
      {"bad format", field("format", "vmdk") + file, content_type, 400, "INVALID_ARGUMENT",
       "format"},
      {"no format", field("name", "n") + file_part(content, "f.bin") + close_crlf(), content_type,
       400, "INVALID_ARGUMENT", "format"},
      {"path in id", field("id", "../../etc") + file, content_type, 400, "INVALID_ARGUMENT", "id"},
      {"dot id", field("id", "..") + file, content_type, 400, "INVALID_ARGUMENT", "id"},
      {"bad checksum text", field("sha256", "XYZ") + file, content_type, 400, "INVALID_ARGUMENT",
       "sha256"},
      {"size not a number", field("sizeBytes", "12k") + file, content_type, 400, "INVALID_ARGUMENT",
       "sizeBytes"},
      {"size over 1 TiB", field("sizeBytes", "2199023255552") + file, content_type, 400,
       "INVALID_ARGUMENT", "sizeBytes"},
      {"oversized field", field("name", std::string(70'000, 'n')) + file, content_type, 400,
       "FIELD_TOO_LARGE", "name"},
      {"no file part", field("name", "x") + "--" + std::string{boundary} + "--\r\n", content_type,
       400, "INVALID_ARGUMENT", "file"},
      {"part after the file",
       file_part(content, "f.raw") + "\r\n" + field("name", "late") + "--" + std::string{boundary} +
           "--\r\n",
       content_type, 400, "UNEXPECTED_PART", ""},
      // Sized from the length, the missing framing shows as a file longer than it can be.
      {"no close delimiter", file_part(content, "f.raw"), content_type, 400, "SIZE_MISMATCH",
       "sizeBytes"},
      {"no close delimiter, sized",
       field("sizeBytes", std::to_string(content.size())) + file_part(content, "f.raw"),
       content_type, 400, "INVALID_MULTIPART", ""},
  };
  const auto before = log_head();
  for (const auto& c : cases) {
    const auto r = api().send("POST", "/api/v1/images/upload", c.body, {}, c.type);
    EXPECT_EQ(r.status, c.status) << c.what << ": " << show(r);
    EXPECT_TRUE(is_error(r, c.status, c.code)) << c.what << ": " << show(r);
    if (!c.field.empty()) {
      EXPECT_EQ(str(r.json().at("error").at("details"), "field"), c.field) << c.what;
    }
    EXPECT_EQ(api().get("/health").status, 200u) << c.what;
  }
  // Nothing that was refused became an image that is ready or still uploading.
  for (const auto& img : items(api().get("/api/v1/images?limit=1000"))) {
    EXPECT_EQ(str(img, "state"), "error") << img.serialize();
  }
  const auto leftovers = image_files();
  EXPECT_TRUE(leftovers.empty()) << leftovers.front();
  // The refusals before the file part wrote nothing at all.
  const auto r =
      api().send("POST", "/api/v1/images/upload", field("format", "vmdk") + file, {}, content_type);
  EXPECT_EQ(r.status, 400u);
  const auto head = log_head();
  EXPECT_EQ(api()
                .send("POST", "/api/v1/images/upload", field("owner", "x") + file, {}, content_type)
                .status,
            400u);
  EXPECT_EQ(log_head(), head);
  EXPECT_GE(head, before);
  // The same id twice: the second is a conflict and leaves the first alone.
  ASSERT_EQ(upload(field("id", "one") + file).status, 202u);
  EXPECT_TRUE(is_error(upload(field("id", "one") + file), 409, "ALREADY_EXISTS"));
  EXPECT_EQ(str(get_json("/api/v1/images/one"), "state"), "ready");
  EXPECT_TRUE(file_text(images_dir() / "one") == content);
}

TEST_F(api_upload, a_broken_connection_leaves_the_image_in_error_and_no_file) {
  const auto content = bytes(std::size_t{3} << 20U, 5);
  const auto body =
      field("id", "cut") + field("format", "raw") + file_part(content, "c.raw") + close_crlf();
  {
    raw_socket s{server().port()};
    s.write_all("POST /api/v1/images/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " +
                content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                body.substr(0, body.size() / 2));
    ASSERT_TRUE(eventually(
        [&] {
          const auto r = api().get("/api/v1/images/cut");
          return r.status == 200 && num(r.json(), "receivedBytes") > 0;
        },
        10s))
        << "the upload never showed progress";
  } // closed half way
  ASSERT_TRUE(
      eventually([&] { return str(get_json("/api/v1/images/cut"), "state") == "error"; }, 10s));
  const auto img = get_json("/api/v1/images/cut");
  EXPECT_NE(str(img, "error").find("connection"), std::string::npos) << img.serialize();
  EXPECT_TRUE(eventually([&] { return image_files().empty(); }, 5s));

  // Content-Length over the limit is refused before a byte of body is read.
  raw_socket s{server().port()};
  s.write_all("POST /api/v1/images/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " +
              content_type + "\r\nContent-Length: 2199024304128\r\n\r\n");
  const auto resp = s.read_response(5s);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->first.rfind("HTTP/1.1 413", 0), 0u) << resp->first;
  // Expect: 100-continue (what curl sends for bodies over 1 MiB) gets its interim answer.
  raw_socket polite{server().port()};
  const auto small = field("id", "polite") + file_part("hello", "p.raw") + close_crlf();
  polite.write_all(
      "POST /api/v1/images/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + content_type +
      "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(small.size()) + "\r\n\r\n");
  const auto interim = polite.read_head(5s);
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->rfind("HTTP/1.1 100 Continue", 0), 0u) << *interim;
  polite.write_all(small);
  const auto done = polite.read_response(5s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->first.rfind("HTTP/1.1 202", 0), 0u) << done->first << done->second;
  EXPECT_EQ(str(get_json("/api/v1/images/polite"), "state"), "ready");
  // A chunked body without sizeBytes cannot be sized.
  raw_socket chunked{server().port()};
  const auto part = file_part("abc", "a.raw") + close_crlf();
  char len[32];
  std::snprintf(len, sizeof len, "%zx", part.size());
  chunked.write_all(
      "POST /api/v1/images/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + content_type +
      "\r\nTransfer-Encoding: chunked\r\n\r\n" + len + "\r\n" + part + "\r\n0\r\n\r\n");
  const auto refused = chunked.read_response(5s);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->first.rfind("HTTP/1.1 411", 0), 0u) << refused->first;
}

TEST_F(api_upload, an_upload_cut_by_a_crash_fails_at_the_next_start) {
  const auto content = bytes(std::size_t{3} << 20U, 6);
  const auto body =
      field("id", "crash") + field("format", "raw") + file_part(content, "c.raw") + close_crlf();
  raw_socket s{server().port()};
  s.write_all("POST /api/v1/images/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " +
              content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
              body.substr(0, body.size() / 2));
  ASSERT_TRUE(eventually(
      [&] {
        const auto r = api().get("/api/v1/images/crash");
        return r.status == 200 && num(r.json(), "receivedBytes") > 0;
      },
      10s));
  ASSERT_FALSE(image_files().empty()) << "no temporary file while uploading";
  restart(SIGKILL);
  ASSERT_TRUE(
      eventually([&] { return str(get_json("/api/v1/images/crash"), "state") == "error"; }, 10s))
      << get_json("/api/v1/images/crash").serialize();
  EXPECT_NE(str(get_json("/api/v1/images/crash"), "error").find("server stopped"),
            std::string::npos);
  EXPECT_TRUE(image_files().empty()) << image_files().front();
  // The id is taken, and a new upload under another works.
  const auto r = upload(field("id", "after") + file_part("again", "a.raw") + close_crlf());
  EXPECT_EQ(r.status, 202u) << show(r);
}

} // namespace
} // namespace qx::test
