// Listing a storage pool's files: nested listing, entry types and sizes, and every way of
// asking for something outside the pool refused without listing it.
#include "qx/node/pool_files.hpp"

#include "temp_dir.hpp"
#include "unprivileged.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using qx::errc;
using qx::node::list_pool_files;
using qx::node::pool_file;

void write_file(const fs::path& path, std::size_t bytes) {
  std::ofstream out{path, std::ios::binary};
  out << std::string(bytes, 'x');
}

std::vector<std::string> names(const std::vector<pool_file>& files) {
  std::vector<std::string> out;
  out.reserve(files.size());
  for (const auto& f : files)
    out.push_back(f.name);
  return out;
}

/// A pool with a few folders and files, and a "secret" folder beside it (outside the pool)
/// that no listing may ever show.
class pool_files : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(pool_ / "isos" / "linux");
    fs::create_directories(pool_ / "images");
    write_file(pool_ / "isos" / "linux" / "debian.iso", 1234);
    write_file(pool_ / "isos" / "readme.txt", 5);
    write_file(pool_ / "disk.qcow2", 0);
    fs::create_directories(outside_);
    write_file(outside_ / "secret-file", 42);
  }

  /// Asserts that `path` is refused with `code` (and `reason` when given) and lists nothing.
  void expect_refused(const std::string& path, errc code, const std::string& reason = "") {
    const auto r = list_pool_files(pool_.string(), path);
    ASSERT_FALSE(r) << "listed '" << path << "': " << ::testing::PrintToString(names(*r));
    EXPECT_EQ(r.error().code, code) << path << ": " << r.error().to_string();
    EXPECT_EQ(r.error().details.at("field"), "path") << path;
    if (!reason.empty()) {
      EXPECT_EQ(r.error().details.at("reason"), reason) << path << ": " << r.error().to_string();
    }
    EXPECT_EQ(r.error().to_string().find("secret-file"), std::string::npos);
  }

  qx::test::temp_dir dir_;
  fs::path pool_ = dir_.path() / "pool";
  fs::path outside_ = dir_.path() / "outside";
};

TEST_F(pool_files, lists_the_root_sorted_with_types_and_sizes) {
  for (const std::string root : {"", ".", "./", "/"}) {
    if (root == "/")
      continue; // absolute: refused below
    const auto r = list_pool_files(pool_.string(), root);
    ASSERT_TRUE(r) << root << ": " << r.error().to_string();
    EXPECT_EQ(names(*r), (std::vector<std::string>{"disk.qcow2", "images", "isos"}));
    EXPECT_EQ((*r)[0].type, "file");
    EXPECT_EQ((*r)[0].size_bytes, 0U);
    EXPECT_EQ((*r)[1].type, "directory");
    EXPECT_EQ((*r)[1].size_bytes, 0U);
    EXPECT_EQ((*r)[2].type, "directory");
  }
}

TEST_F(pool_files, lists_nested_folders) {
  auto r = list_pool_files(pool_.string(), "isos");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(names(*r), (std::vector<std::string>{"linux", "readme.txt"}));
  EXPECT_EQ((*r)[1].size_bytes, 5U);

  for (const std::string path : {"isos/linux", "isos/linux/", "isos//linux", "./isos/./linux"}) {
    r = list_pool_files(pool_.string(), path);
    ASSERT_TRUE(r) << path << ": " << r.error().to_string();
    ASSERT_EQ(r->size(), 1U) << path;
    EXPECT_EQ((*r)[0].name, "debian.iso");
    EXPECT_EQ((*r)[0].type, "file");
    EXPECT_EQ((*r)[0].size_bytes, 1234U);
  }

  r = list_pool_files(pool_.string(), "images");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
}

TEST_F(pool_files, reports_the_modification_time) {
  const timeval times[2] = {{1'600'000'000, 0}, {1'700'000'000, 0}};
  ASSERT_EQ(::utimes((pool_ / "disk.qcow2").c_str(), times), 0);
  const auto r = list_pool_files(pool_.string(), "");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].modified_unix, 1'700'000'000);
}

TEST_F(pool_files, names_sort_bytewise_and_odd_but_valid_names_are_listed) {
  for (const std::string name : {"B", "a", "_", "%2e%2e", "...", "é", "with space", "-dash"})
    write_file(pool_ / "images" / name, 1);
  const auto r = list_pool_files(pool_.string(), "images");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(names(*r),
            (std::vector<std::string>{"%2e%2e", "-dash", "...", "B", "_", "a", "with space", "é"}));
}

TEST_F(pool_files, entries_with_unprintable_names_are_left_out) {
  write_file(pool_ / "images" / "ok", 1);
  write_file(pool_ / "images" / "bad\nname", 1);
  write_file(pool_ / "images" / "bad\xff", 1);
  const auto r = list_pool_files(pool_.string(), "images");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(names(*r), (std::vector<std::string>{"ok"}));
}

TEST_F(pool_files, symlinks_and_special_files_are_reported_not_followed) {
  fs::create_symlink(outside_, pool_ / "images" / "to-outside");
  fs::create_symlink(outside_ / "secret-file", pool_ / "images" / "to-secret");
  fs::create_symlink(pool_ / "isos", pool_ / "images" / "to-isos");
  fs::create_symlink("/nonexistent/target", pool_ / "images" / "dangling");
  ASSERT_EQ(::mkfifo((pool_ / "images" / "fifo").c_str(), 0600), 0);
  const auto r = list_pool_files(pool_.string(), "images");
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(names(*r),
            (std::vector<std::string>{"dangling", "fifo", "to-isos", "to-outside", "to-secret"}));
  EXPECT_EQ((*r)[1].type, "other");
  for (const std::size_t i : {0U, 2U, 3U, 4U}) {
    EXPECT_EQ((*r)[i].type, "symlink") << (*r)[i].name;
    EXPECT_EQ((*r)[i].size_bytes, 0U) << "the size of the link's target must not leak";
  }
}

TEST_F(pool_files, dot_dot_in_any_form_is_refused) {
  for (const std::string path : {"..", "../", "../outside", "a/../../outside", "isos/../..",
                                 "isos/..", "isos/linux/../../../outside", "./.."})
    expect_refused(path, errc::invalid_argument, "PATH_OUTSIDE_POOL");
}

TEST_F(pool_files, encoded_dot_dot_and_slash_are_refused) {
  for (const std::string path :
       {"%2e%2e", "%2E%2E", ".%2e", "%2e.", "%2e%2e/outside", "isos/%2e%2e/%2e%2e/outside",
        "%252e%252e", "%25252e%25252e", "%2e%2e%2foutside", "isos%2f..%2f..%2foutside", "%2f",
        "%252f", "..%2f"})
    expect_refused(path, errc::invalid_argument, "PATH_OUTSIDE_POOL");
}

TEST_F(pool_files, encoded_dot_control_characters_and_backslashes_are_invalid) {
  for (const std::string path : {"%2e", "%252e", "isos/%2e", "%00", "isos%00", "%0a", "%5c",
                                 "isos%5clinux", "%255c", "%7f", "%2e%2e%5c"})
    expect_refused(path, errc::invalid_argument, "INVALID_PATH");
  // Encoded again and again beyond any sensible client.
  std::string deep = "%2e";
  for (int i = 0; i < 10; ++i)
    deep = "%25" + deep.substr(1);
  expect_refused(deep, errc::invalid_argument, "INVALID_PATH");
}

TEST_F(pool_files, a_percent_that_decodes_to_nothing_dangerous_names_a_real_file) {
  fs::create_directories(pool_ / "100%" / "%41");
  write_file(pool_ / "100%" / "%41" / "f", 3);
  const auto r = list_pool_files(pool_.string(), "100%/%41");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(names(*r), (std::vector<std::string>{"f"}));
}

TEST_F(pool_files, absolute_paths_are_refused) {
  for (const std::string& path : std::vector<std::string>{
           "/etc", "/", "//etc", outside_.string(), pool_.string(), (pool_ / "isos").string()})
    expect_refused(path, errc::invalid_argument, "PATH_OUTSIDE_POOL");
}

TEST_F(pool_files, backslashes_nul_and_control_characters_are_refused) {
  for (const auto& path : {std::string{"..\\outside"}, std::string{"isos\\linux"},
                           std::string{"\\"}, std::string("isos\0/../../outside", 19),
                           std::string("\0", 1), std::string{"isos\n"}, std::string{"isos\r"},
                           std::string{"isos\t"}, std::string{"\x1b[2J"}, std::string{"isos\x7f"}})
    expect_refused(path, errc::invalid_argument, "INVALID_PATH");
  expect_refused("isos\xff", errc::invalid_argument, "INVALID_PATH");
  expect_refused("\xc0\xae\xc0\xae", errc::invalid_argument, "INVALID_PATH"); // overlong ".."
}

TEST_F(pool_files, over_long_paths_and_components_are_too_large) {
  expect_refused(std::string(5000, 'a'), errc::too_large);
  std::string many;
  for (int i = 0; i < 2100; ++i)
    many += "a/";
  expect_refused(many, errc::too_large);
  expect_refused(std::string(256, 'a'), errc::too_large);
  expect_refused("isos/" + std::string(300, 'b'), errc::too_large);
  // 255 bytes is a legal name; it just does not exist.
  const auto r = list_pool_files(pool_.string(), std::string(255, 'a'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
}

TEST_F(pool_files, a_symlink_on_the_way_is_refused_even_inside_the_pool) {
  fs::create_symlink("/etc", pool_ / "etc-link");
  fs::create_symlink(outside_, pool_ / "out-link");
  fs::create_symlink(pool_ / "isos", pool_ / "isos-link");       // absolute, inside
  fs::create_symlink("linux", pool_ / "isos" / "relative-link"); // relative, inside
  fs::create_symlink("..", pool_ / "isos" / "up");               // relative, to the root
  fs::create_symlink("../../outside", pool_ / "isos" / "linux" / "up2");
  for (const std::string path :
       {"etc-link", "out-link", "out-link/", "isos-link", "isos-link/linux", "isos/relative-link",
        "isos/up", "isos/up/isos", "isos/linux/up2"})
    expect_refused(path, errc::invalid_argument, "PATH_OUTSIDE_POOL");
}

TEST_F(pool_files, a_folder_swapped_for_a_symlink_is_refused) {
  // The race a check-then-open implementation loses: between a check of "isos" and its
  // opening, an attacker with write access to the pool replaces it by a link.
  auto r = list_pool_files(pool_.string(), "isos/linux");
  ASSERT_TRUE(r);
  fs::rename(pool_ / "isos", pool_ / "isos-real");
  fs::create_symlink(outside_, pool_ / "isos");
  fs::create_symlink(outside_, pool_ / "isos-real" / "linux-swapped");
  expect_refused("isos", errc::invalid_argument, "PATH_OUTSIDE_POOL");
  expect_refused("isos/linux", errc::invalid_argument, "PATH_OUTSIDE_POOL");
  expect_refused("isos-real/linux-swapped", errc::invalid_argument, "PATH_OUTSIDE_POOL");
}

TEST_F(pool_files, a_link_swapped_in_while_listing_never_shows_the_outside) {
  // A second thread exchanges the folder "isos" with a link to the outside, atomically and
  // as fast as it can, while this one lists: every answer is the pool's folder or a refusal.
  fs::create_symlink(outside_, pool_ / "swap");
  std::atomic<bool> stop{false};
  std::thread swapper{[&] {
    while (!stop.load())
      (void)::renameat2(AT_FDCWD, (pool_ / "isos").c_str(), AT_FDCWD, (pool_ / "swap").c_str(),
                        RENAME_EXCHANGE);
  }};
  int listed = 0;
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    for (const char* path : {"isos", "swap"}) {
      const auto r = list_pool_files(pool_.string(), path);
      if (r) {
        ++listed;
        EXPECT_EQ(names(*r), (std::vector<std::string>{"linux", "readme.txt"}));
      } else {
        ++refused;
        EXPECT_EQ(r.error().details.at("reason"), "PATH_OUTSIDE_POOL") << r.error().to_string();
      }
    }
  }
  stop = true;
  swapper.join();
  EXPECT_GT(listed, 0);
  EXPECT_GT(refused, 0);
}

TEST_F(pool_files, a_file_where_a_folder_is_asked_is_not_a_directory) {
  expect_refused("disk.qcow2", errc::invalid_argument, "NOT_A_DIRECTORY");
  expect_refused("isos/readme.txt", errc::invalid_argument, "NOT_A_DIRECTORY");
  expect_refused("isos/readme.txt/x", errc::invalid_argument, "NOT_A_DIRECTORY");
}

TEST_F(pool_files, a_missing_folder_is_not_found) {
  expect_refused("nope", errc::not_found);
  expect_refused("isos/nope/deeper", errc::not_found);
}

TEST_F(pool_files, a_folder_with_more_than_max_entries_is_too_large) {
  for (int i = 0; i < 11; ++i)
    write_file(pool_ / "images" / ("f" + std::to_string(i)), 1);
  EXPECT_TRUE(list_pool_files(pool_.string(), "images", 11));
  const auto r = list_pool_files(pool_.string(), "images", 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::too_large);
  EXPECT_EQ(r.error().details.at("limit"), "10");
}

TEST_F(pool_files, an_unusable_pool_root_is_refused) {
  for (const auto& root :
       {std::string{}, std::string{"relative/pool"}, std::string("/tmp\0/x", 7)}) {
    const auto r = list_pool_files(root, "");
    ASSERT_FALSE(r) << root;
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    EXPECT_EQ(r.error().details.at("field"), "pool_root");
  }
  auto r = list_pool_files((dir_.path() / "no-pool").string(), "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
  r = list_pool_files((pool_ / "disk.qcow2").string(), "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().details.at("reason"), "NOT_A_DIRECTORY");
}

TEST_F(pool_files, a_pool_root_that_is_a_symlink_is_followed_once) {
  // The root is the operator's configuration (e.g. /var/lib/pools -> /data/pools).
  fs::create_symlink(pool_, dir_.path() / "pool-link");
  const auto r = list_pool_files((dir_.path() / "pool-link").string(), "isos");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(names(*r), (std::vector<std::string>{"linux", "readme.txt"}));
}

TEST_F(pool_files, an_unreadable_folder_is_permission_denied) {
  // As an unprivileged user (root reads every folder; CI runs as root).
  std::string why;
  EXPECT_TRUE(qx::test::run_unprivileged(
      dir_.path(),
      [&] {
        fs::permissions(pool_ / "images", fs::perms::none);
        const auto r = list_pool_files(pool_.string(), "images");
        fs::permissions(pool_ / "images", fs::perms::owner_all);
        return !r && r.error().code == errc::permission_denied;
      },
      why))
      << why;
}

} // namespace
