// Test-driver hosts: each host.xml describes one host; each connection has its own state, so
// one process can model several hosts.
#include "qx/node/libvirt_hypervisor.hpp"
#include "qx/node/test_host.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace {

using qx::errc;
using namespace qx::node;

std::unique_ptr<hypervisor> open_host(const std::filesystem::path& file,
                                      const test_host_spec& spec) {
  auto uri = write_test_host(file, spec);
  EXPECT_TRUE(uri) << uri.error().to_string();
  if (!uri)
    return nullptr;
  auto hv = open_libvirt(*uri);
  EXPECT_TRUE(hv) << hv.error().to_string();
  return hv ? std::move(*hv) : nullptr;
}

domain_spec domain(std::string id) {
  domain_spec s;
  s.id = std::move(id);
  return s;
}

TEST(test_host, host_info_reflects_the_description) {
  qx::test::temp_dir dir;
  test_host_spec spec;
  spec.cpus = 12;
  spec.memory_mib = 65536;
  spec.cpu_model = "qx-model";
  spec.mhz = 3100;
  const auto hv = open_host(dir.path() / "host.xml", spec);
  ASSERT_NE(hv, nullptr);
  const auto info = hv->host();
  ASSERT_TRUE(info) << info.error().to_string();
  EXPECT_EQ(info->cpus, 12U);
  EXPECT_EQ(info->memory_mib, 65536U);
  EXPECT_EQ(info->cpu_model, "qx-model");
  EXPECT_EQ(info->mhz, 3100U);
  EXPECT_EQ(info->sockets * info->cores * info->threads * info->numa_nodes, 12U);
  EXPECT_EQ(info->hypervisor_type, "TEST");
  EXPECT_EQ(info->libvirt_version.substr(0, 2), "9.");
  EXPECT_FALSE(info->hostname.empty());
}

TEST(test_host, two_hosts_in_one_process_are_independent) {
  qx::test::temp_dir dir;
  test_host_spec small;
  small.cpus = 2;
  small.memory_mib = 4096;
  test_host_spec big;
  big.cpus = 64;
  big.memory_mib = 262144;
  const auto a = open_host(dir.path() / "node-a.xml", small);
  const auto b = open_host(dir.path() / "node-b.xml", big);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);

  EXPECT_EQ(a->host()->cpus, 2U);
  EXPECT_EQ(a->host()->memory_mib, 4096U);
  EXPECT_EQ(b->host()->cpus, 64U);
  EXPECT_EQ(b->host()->memory_mib, 262144U);

  ASSERT_TRUE(a->define_domain(domain("only-on-a")));
  ASSERT_TRUE(a->start_domain("only-on-a"));
  EXPECT_EQ(b->query_state("only-on-a").error().code, errc::not_found);
  EXPECT_TRUE(b->list_domains()->empty());
  // The same id may exist on both hosts, each with its own state.
  ASSERT_TRUE(b->define_domain(domain("only-on-a")));
  EXPECT_EQ(a->query_state("only-on-a")->state, domain_state::running);
  EXPECT_EQ(b->query_state("only-on-a")->state, domain_state::shutoff);
}

TEST(test_host, two_connections_to_one_file_are_two_hosts_too) {
  qx::test::temp_dir dir;
  const auto a = open_host(dir.path() / "host.xml", {});
  auto uri = write_test_host(dir.path() / "host.xml", {});
  ASSERT_TRUE(uri);
  auto b = open_libvirt(*uri);
  ASSERT_TRUE(b);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->define_domain(domain("vm")));
  EXPECT_TRUE((*b)->list_domains()->empty());
}

TEST(test_host, paths_that_need_escaping_in_a_uri_work) {
  qx::test::temp_dir dir;
  std::filesystem::create_directory(dir.path() / "with space%");
  test_host_spec spec;
  spec.cpus = 3;
  const auto hv = open_host(dir.path() / "with space%" / "host.xml", spec);
  ASSERT_NE(hv, nullptr);
  EXPECT_EQ(hv->host()->cpus, 3U);
}

TEST(test_host, bad_descriptions_and_uris_are_errors) {
  qx::test::temp_dir dir;
  test_host_spec none;
  none.cpus = 0;
  const auto zero = write_test_host(dir.path() / "h.xml", none);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().details.at("field"), "cpus");

  const auto missing = open_libvirt("test://" + dir.sub("missing.xml"));
  ASSERT_FALSE(missing);
  EXPECT_FALSE(missing.error().message.empty());
  EXPECT_EQ(open_libvirt("").error().code, errc::invalid_argument);
}

} // namespace
