#include "console_files.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace qx::api {
namespace {

namespace fs = std::filesystem;

std::string header(const http_response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name)
      return v;
  return {};
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream{p, std::ios::binary} << text;
}

class console_files_test : public ::testing::Test {
 protected:
  void SetUp() override {
    write(root() / "index.html", "<!doctype html><title>qvdc</title>");
    write(root() / "assets" / "index-3f2a1b.js", "console.log('the console')");
    write(root() / "assets" / "index-3f2a1b.js.gz", "GZIPPED-JS");
    write(root() / "favicon.svg", "<svg/>");
  }
  fs::path root() const { return dir_.path() / "console"; }
  console_files loaded() const {
    auto c = console_files::load(root());
    EXPECT_TRUE(c) << c.error().to_string();
    return std::move(c).value();
  }
  test::temp_dir dir_;
};

TEST_F(console_files_test, serves_index_for_the_root_and_for_a_pages_own_address) {
  const auto c = loaded();
  for (const auto* path : {"/", "/vms", "/vms/web-1/snapshots", "/index.html"}) {
    const auto r = c.answer(path, "");
    EXPECT_EQ(r.status, 200U) << path;
    EXPECT_EQ(r.body, "<!doctype html><title>qvdc</title>") << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8") << path;
    EXPECT_EQ(header(r, "Cache-Control"), "no-cache") << path;
  }
}

TEST_F(console_files_test, hashed_assets_are_immutable_and_gzip_goes_to_who_accepts_it) {
  const auto c = loaded();
  const auto plain = c.answer("/assets/index-3f2a1b.js", "br");
  EXPECT_EQ(plain.body, "console.log('the console')");
  EXPECT_EQ(header(plain, "Content-Encoding"), "");
  EXPECT_EQ(header(plain, "Vary"), "Accept-Encoding");
  EXPECT_EQ(header(plain, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(plain.content_type, "text/javascript; charset=utf-8");
  const auto gz = c.answer("/assets/index-3f2a1b.js", "br, gzip;q=0.8");
  EXPECT_EQ(gz.body, "GZIPPED-JS");
  EXPECT_EQ(header(gz, "Content-Encoding"), "gzip");
  // The .gz file is the encoding of its sibling, not a file of its own.
  EXPECT_EQ(c.answer("/assets/index-3f2a1b.js.gz", "").status, 404U);
}

TEST_F(console_files_test, every_answer_carries_the_strict_headers) {
  const auto c = loaded();
  for (const auto& r :
       {c.answer("/", ""), c.answer("/assets/nope.js", ""), console_files{"why"}.answer("/", "")}) {
    EXPECT_EQ(header(r, "Content-Security-Policy"), console_csp);
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(header(r, "X-Frame-Options"), "DENY");
  }
  EXPECT_NE(console_csp.find("frame-ancestors 'none'"), std::string_view::npos);
  EXPECT_NE(console_csp.find("connect-src 'self'"), std::string_view::npos);
  EXPECT_EQ(console_csp.find("unsafe-inline"), std::string_view::npos);
}

TEST_F(console_files_test, a_missing_file_with_an_extension_is_404_not_the_index) {
  const auto c = loaded();
  EXPECT_EQ(c.answer("/assets/missing.js", "").status, 404U);
  EXPECT_EQ(c.answer("/../../etc/passwd", "").body.find("root:"), std::string::npos);
}

TEST_F(console_files_test, files_outside_the_folder_are_never_served) {
  write(dir_.path() / "secret.txt", "the secret");
  fs::create_symlink(dir_.path() / "secret.txt", root() / "link.txt");
  const auto c = loaded();
  EXPECT_EQ(c.answer("/link.txt", "").status, 404U);
  EXPECT_EQ(c.answer("/../secret.txt", "").status, 404U);
  EXPECT_EQ(c.answer("/console/../secret.txt", "").status, 404U);
}

TEST_F(console_files_test, without_a_console_the_root_says_how_to_get_one) {
  const console_files none{"this qvdc was started without a console folder (--console-dir)"};
  const auto r = none.answer("/", "gzip");
  EXPECT_EQ(r.status, 404U);
  EXPECT_NE(r.body.find("scripts/build-console"), std::string::npos);
  EXPECT_NE(r.body.find("--console-dir"), std::string::npos);
  // What it says of the folder is text, never markup.
  const console_files hostile{"no index.html in <script>alert(1)</script>"};
  EXPECT_EQ(hostile.answer("/", "").body.find("<script>"), std::string::npos);
}

TEST_F(console_files_test, a_folder_without_index_html_or_too_big_is_refused) {
  const auto empty = console_files::load(dir_.path() / "nothing");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().details.at("field"), "console-dir");
  for (std::size_t i = 0; i < console_files::max_files; ++i)
    write(root() / "many" / (std::to_string(i) + ".txt"), "x");
  const auto many = console_files::load(root());
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().code, errc::too_large);
}

TEST_F(console_files_test, a_folder_over_the_byte_bound_is_refused) {
  // A sparse file: 1 GiB long, no disk used. (That it is refused from its size, before a
  // read, is not observable here; the code checks the size first.)
  const auto big = root() / "assets" / "huge.bin";
  std::ofstream{big, std::ios::binary}.put('x');
  fs::resize_file(big, std::uintmax_t{1} << 30U);
  const auto loaded = console_files::load(root());
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, errc::too_large);
}

TEST(accepts_gzip, reads_the_header_as_rfc_9110_does) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("deflate, GZIP"));
  EXPECT_TRUE(accepts_gzip("gzip;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("br"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("gzipx"));
}

TEST(content_type_of, knows_the_files_a_build_makes) {
  EXPECT_EQ(content_type_of("a.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_of("x.woff2"), "font/woff2");
  EXPECT_EQ(content_type_of("noext"), "application/octet-stream");
}

} // namespace
} // namespace qx::api
