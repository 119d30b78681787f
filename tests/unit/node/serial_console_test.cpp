// The serial console option: every domain defined gets a pty serial port whose output libvirt
// logs to <dir>/<id>.serial.log (what the real-QEMU test reads the guest's boot message from).
#include "qx/node/libvirt_hypervisor.hpp"

#include <gtest/gtest.h>
#include <libvirt/libvirt.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace {

using qx::errc;
using namespace qx::node;

// The stored XML of `id` on libvirt's shared in-process host test:///default, read by a second
// connection of our own (the hypervisor under test keeps its connection private).
std::string stored_xml(const std::string& id) {
  const std::unique_ptr<virConnect, decltype(&virConnectClose)> conn{
      virConnectOpen("test:///default"), &virConnectClose};
  if (!conn)
    return {};
  const std::unique_ptr<virDomain, decltype(&virDomainFree)> dom{
      virDomainLookupByName(conn.get(), id.c_str()), &virDomainFree};
  if (!dom)
    return {};
  char* xml = virDomainGetXMLDesc(dom.get(), VIR_DOMAIN_XML_INACTIVE);
  std::string out = xml != nullptr ? xml : "";
  std::free(xml); // NOLINT(cppcoreguidelines-no-malloc): libvirt's string, libvirt's allocator
  return out;
}

TEST(serial_console, each_domain_logs_its_serial_port_to_a_file_named_after_it) {
  libvirt_options opts;
  opts.serial_log_dir = "/var/log/qx & <consoles>";
  auto hv = open_libvirt("test:///default", opts);
  ASSERT_TRUE(hv) << hv.error().to_string();
  domain_spec spec;
  spec.id = "serial-console-vm";
  ASSERT_TRUE((*hv)->define_domain(spec));
  const auto xml = stored_xml(spec.id);
  EXPECT_NE(xml.find("<serial type='pty'>"), std::string::npos) << xml;
  // The folder's markup characters are escaped, not interpreted.
  EXPECT_NE(xml.find("<log file='/var/log/qx &amp; &lt;consoles&gt;/serial-console-vm.serial.log' "
                     "append='on'/>"),
            std::string::npos)
      << xml;
  EXPECT_TRUE((*hv)->undefine_domain(spec.id, undefine_options{}));
}

TEST(serial_console, without_the_option_there_is_no_serial_port) {
  auto hv = open_libvirt("test:///default");
  ASSERT_TRUE(hv) << hv.error().to_string();
  domain_spec spec;
  spec.id = "no-serial-console-vm";
  ASSERT_TRUE((*hv)->define_domain(spec));
  const auto xml = stored_xml(spec.id);
  ASSERT_FALSE(xml.empty());
  EXPECT_EQ(xml.find("<serial"), std::string::npos) << xml;
  EXPECT_TRUE((*hv)->undefine_domain(spec.id, undefine_options{}));
}

TEST(serial_console, a_relative_or_control_character_folder_is_refused) {
  for (const char* dir : {"relative/logs", "/var/log/\nqx"}) {
    libvirt_options opts;
    opts.serial_log_dir = dir;
    const auto hv = open_libvirt("test:///default", opts);
    ASSERT_FALSE(hv) << dir;
    EXPECT_EQ(hv.error().code, errc::invalid_argument);
    EXPECT_EQ(hv.error().details.at("field"), "serial_log_dir");
  }
}

} // namespace
