// The input checks that guard every call before it reaches libvirt.
#include "qx/node/validate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using qx::errc;
using qx::node::validate_mac;
using qx::node::validate_name;
using qx::node::validate_path;
using qx::node::validate_xml_text;

TEST(validate_name, accepts_the_allowed_alphabet_up_to_64_characters) {
  EXPECT_TRUE(validate_name("id", "vm-1"));
  EXPECT_TRUE(validate_name("id", "A.b_c-9"));
  EXPECT_TRUE(validate_name("id", std::string(64, 'a')));
  EXPECT_TRUE(validate_name("id", "a..b"));
}

TEST(validate_name, refuses_everything_else_naming_the_field) {
  const std::vector<std::string> all_bad{"",
                                         "a/b",
                                         "..",
                                         ".",
                                         ".hidden",
                                         "-x",
                                         "a b",
                                         "é",
                                         "a:b",
                                         std::string(65, 'a'),
                                         std::string("a\0b", 3)};
  for (const auto& bad : all_bad) {
    const auto s = validate_name("id", bad);
    ASSERT_FALSE(s) << "accepted '" << bad << "'";
    EXPECT_EQ(s.error().code, errc::invalid_argument);
    EXPECT_EQ(s.error().details.at("field"), "id");
  }
}

TEST(validate_xml_text, accepts_utf8_markup_characters_and_tab) {
  EXPECT_TRUE(validate_xml_text("title", "</title><devices>\"'&<> \t é 漢 😀", false));
  EXPECT_TRUE(validate_xml_text("title", "\x7f \xc2\x85 \xef\xbf\xbd", false)); // DEL, NEL, U+FFFD
  EXPECT_TRUE(validate_xml_text("description", "two\nlines", true));
}

TEST(validate_xml_text, refuses_control_characters_and_newlines_in_single_line_text) {
  for (int c = 1; c < 0x20; ++c) {
    if (c == '\t')
      continue;
    const std::string text = std::string{"a"} + static_cast<char>(c) + "b";
    const auto s = validate_xml_text("title", text, false);
    ASSERT_FALSE(s) << "accepted control character " << c;
    EXPECT_EQ(s.error().details.at("field"), "title");
  }
  EXPECT_FALSE(validate_xml_text("title", std::string("a\0b", 3), false));
  // CR does not survive libvirt's XML even where newlines are allowed.
  EXPECT_FALSE(validate_xml_text("description", "a\r\nb", true));
}

TEST(validate_xml_text, refuses_invalid_utf8_and_noncharacters) {
  for (const std::string bad :
       {"\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\x80",
        "\xef\xbf\xbe", "\xef\xbf\xbf", "ok\xe6\xbc"}) {
    const auto s = validate_xml_text("title", bad, true);
    ASSERT_FALSE(s) << "accepted bytes of length " << bad.size();
    EXPECT_EQ(s.error().code, errc::invalid_argument);
    EXPECT_EQ(s.error().details.at("field"), "title");
  }
}

TEST(validate_path, wants_absolute_paths_without_dot_components) {
  EXPECT_TRUE(validate_path("path", "/var/lib/qx/disk-1.qcow2"));
  for (const std::string bad : {"", "relative/x", "/a/../b", "/a/./b", "/a/..", "/a\nb"})
    EXPECT_FALSE(validate_path("path", bad)) << bad;
}

TEST(validate_mac, wants_six_hex_octets_of_a_unicast_address) {
  EXPECT_TRUE(validate_mac("mac", "52:54:00:aB:cd:EF"));
  for (const std::string bad : {"", "52:54:00:ab:cd", "52-54-00-ab-cd-ef", "52:54:00:ab:cd:eg",
                                "01:00:5e:00:00:01", "52:54:00:ab:cd:ef:00"})
    EXPECT_FALSE(validate_mac("mac", bad)) << bad;
}

} // namespace
