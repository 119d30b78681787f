// Titles and ids travel through the domain XML unchanged, or are refused before libvirt sees
// them; never stripped, never able to change the document's shape.
#include "qx/node/libvirt_hypervisor.hpp"
#include "qx/node/test_host.hpp"
#include "test_host_fixture.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>
#include <vector>

namespace {

using qx::errc;
using namespace qx::node;

class xml_round_trip : public qx::node::test::on_test_host {
 protected:
  static domain_spec spec(std::string id, std::string title) {
    domain_spec s;
    s.id = std::move(id);
    s.title = std::move(title);
    s.disks.push_back(disk_spec{"/var/lib/qx/disk.qcow2", disk_format::qcow2, "vda"});
    return s;
  }

  [[nodiscard]] std::size_t domain_count() {
    auto list = hv_->list_domains();
    EXPECT_TRUE(list) << list.error().to_string();
    return list ? list->size() : 0;
  }
};

// Pieces chosen to break naive XML: markup, entities, quotes, CDATA ends, whitespace, and
// UTF-8 of two, three and four bytes.
constexpr std::array<const char*, 24> pieces{
    "<",     ">",      "&",    "\"", "'",  " ", "\t", "</title><devices>", "]]>",
    "&amp;", "&#x41;", "<!--", "é",  "漢", "😀", "ß",  "\xc2\xa0",          "\xe2\x80\xa8",
    "\x7f",  "a",      "Z",    "0",  "%s", "\\"};

std::string random_title(std::mt19937& rng) {
  std::uniform_int_distribution<std::size_t> length(0, 40);
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  std::string title;
  for (auto n = length(rng); n > 0; --n)
    title += pieces.at(pick(rng));
  return title;
}

TEST_F(xml_round_trip, five_hundred_hostile_titles_come_back_byte_for_byte) {
  std::mt19937 rng{20240501};
  for (int i = 0; i < 500; ++i) {
    const auto title = random_title(rng);
    const auto id = "vm-" + std::to_string(i);
    const auto defined = hv_->define_domain(spec(id, title));
    ASSERT_TRUE(defined) << i << ": " << defined.error().to_string();

    // Read back twice: the domain XML parsed with libxml2, and libvirt's own title.
    const auto described = hv_->describe_domain(id);
    ASSERT_TRUE(described) << described.error().to_string();
    EXPECT_EQ(described->title, title) << "title " << i;
    EXPECT_EQ(described->id, id);
    ASSERT_EQ(described->disks.size(), 1U) << "the title changed the document, title " << i;
    const auto listed = hv_->list_domains();
    ASSERT_TRUE(listed) << listed.error().to_string();
    ASSERT_EQ(listed->size(), 1U);
    EXPECT_EQ(listed->front().title, title) << "title " << i;

    ASSERT_TRUE(hv_->undefine_domain(id, {}));
  }
}

TEST_F(xml_round_trip, the_rest_of_the_spec_comes_back_too) {
  domain_spec s = spec("full", "Full <spec>");
  s.vcpus = 3;
  s.memory_mib = 1536;
  s.disks.push_back(disk_spec{"/var/lib/qx/data.raw", disk_format::raw, "sdb"});
  s.nics.push_back(nic_spec{"default", "52:54:00:12:34:56"});
  s.nics.push_back(nic_spec{"backend", ""});
  s.boot_order = {boot_device::network, boot_device::hd};
  ASSERT_TRUE(hv_->define_domain(s));

  const auto back = hv_->describe_domain("full");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->vcpus, 3U);
  EXPECT_EQ(back->memory_mib, 1536U);
  ASSERT_EQ(back->disks.size(), 2U);
  EXPECT_EQ(back->disks[0].path, "/var/lib/qx/disk.qcow2");
  EXPECT_EQ(back->disks[0].format, disk_format::qcow2);
  EXPECT_EQ(back->disks[0].target_dev, "vda");
  EXPECT_EQ(back->disks[1].path, "/var/lib/qx/data.raw");
  EXPECT_EQ(back->disks[1].format, disk_format::raw);
  EXPECT_EQ(back->disks[1].target_dev, "sdb");
  ASSERT_EQ(back->nics.size(), 2U);
  EXPECT_EQ(back->nics[0].network, "default");
  EXPECT_EQ(back->nics[0].mac, "52:54:00:12:34:56");
  EXPECT_EQ(back->nics[1].network, "backend");
  EXPECT_FALSE(back->nics[1].mac.empty()) << "libvirt assigns a MAC when none is given";
  EXPECT_EQ(back->boot_order, (std::vector<boot_device>{boot_device::network, boot_device::hd}));
}

TEST_F(xml_round_trip, titles_xml_cannot_carry_are_refused_and_nothing_is_defined) {
  std::vector<std::string> bad;
  for (int c = 1; c < 0x20; ++c)
    if (c != '\t')
      bad.push_back(std::string{"before"} + static_cast<char>(c) + "after");
  for (const char* b : {"\xef\xbf\xbe", "\xef\xbf\xbf", "\xc3", "\xc0\xaf", "\xed\xa0\x80",
                        "\xf4\x90\x80\x80", "\xff", "\x80", "caf\xc3"})
    bad.emplace_back(b);
  bad.emplace_back("nul\0inside", 10);

  for (std::size_t i = 0; i < bad.size(); ++i) {
    const auto s = hv_->define_domain(spec("vm-" + std::to_string(i), bad[i]));
    ASSERT_FALSE(s) << "accepted bad title " << i;
    EXPECT_EQ(s.error().code, errc::invalid_argument) << i;
    EXPECT_EQ(s.error().details.at("field"), "title") << i;
  }
  EXPECT_EQ(domain_count(), 0U);
}

TEST_F(xml_round_trip, malformed_ids_are_refused_and_nothing_is_defined) {
  const std::vector<std::string> ids{"a/b",  "..",    "../etc", "with space", "",
                                     ".dot", "-dash", "tab\t",  "é",          std::string(65, 'x')};
  for (const auto& id : ids) {
    const auto s = hv_->define_domain(spec(id, "t"));
    ASSERT_FALSE(s) << "accepted id '" << id << "'";
    EXPECT_EQ(s.error().code, errc::invalid_argument);
    EXPECT_EQ(s.error().details.at("field"), "id");
  }
  EXPECT_EQ(domain_count(), 0U);
  EXPECT_TRUE(hv_->define_domain(spec(std::string(64, 'x'), "longest id")));
  EXPECT_EQ(domain_count(), 1U);
}

TEST_F(xml_round_trip, other_malformed_fields_are_named) {
  auto check = [&](domain_spec s, const std::string& field) {
    const auto r = hv_->define_domain(s);
    ASSERT_FALSE(r) << field;
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    EXPECT_EQ(r.error().details.at("field"), field);
  };
  auto s = spec("vm", "t");
  s.vcpus = 0;
  check(s, "vcpus");
  s = spec("vm", "t");
  s.memory_mib = 0;
  check(s, "memory_mib");
  s = spec("vm", "t");
  s.disks[0].path = "relative.qcow2";
  check(s, "disks[0].path");
  s = spec("vm", "t");
  s.disks.push_back(disk_spec{"/b.qcow2", disk_format::qcow2, "vda"});
  check(s, "disks[1].target_dev");
  s = spec("vm", "t");
  s.disks[0].target_dev = "xvda";
  check(s, "disks[0].target_dev");
  s = spec("vm", "t");
  s.nics.push_back(nic_spec{"net/1", ""});
  check(s, "nics[0].network");
  s = spec("vm", "t");
  s.nics.push_back(nic_spec{"default", "01:00:5e:00:00:01"});
  check(s, "nics[0].mac");
  s = spec("vm", "t");
  s.boot_order = {boot_device::hd, boot_device::hd};
  check(s, "boot_order");
  EXPECT_EQ(domain_count(), 0U);
}

} // namespace
