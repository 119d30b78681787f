#include "qx/node/test_host.hpp"

#include "qx/node/validate.hpp"
#include "xml_writer.hpp"

#include <fstream>
#include <system_error>

namespace qx::node {

namespace {

constexpr std::uint64_t kib_per_mib = 1024;
// 16 TiB, as for a domain: keeps KiB far inside 64 bits.
constexpr std::uint64_t max_memory_mib = std::uint64_t{16} * 1024 * 1024;

// Percent-encodes what may not appear raw in a URI path; libvirt decodes it again.
std::string uri_path(const std::string& path) {
  constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  for (const char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '/' || c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out += c;
    } else {
      out += '%';
      out += hex[byte >> 4U];
      out += hex[byte & 0xFU];
    }
  }
  return out;
}

} // namespace

result<std::string> write_test_host(const std::filesystem::path& path, const test_host_spec& spec) {
  if (spec.cpus < 1)
    return invalid_field("cpus", "a test host needs at least one CPU");
  if (spec.memory_mib < 1 || spec.memory_mib > max_memory_mib)
    return invalid_field("memory_mib", "memory_mib must be between 1 and 16777216");
  if (auto s = validate_xml_text("cpu_model", spec.cpu_model, false); !s)
    return std::move(s).error();
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(path, ec);
  if (ec)
    return qx::error{errc::io_error, ec.message(), {{"path", path.string()}}};

  // The test driver's <node> description (libvirt docs, "drvtest"): the CPU topology and the
  // memory in KiB. One socket of `cpus` single-threaded cores keeps the counts consistent.
  detail::xml_writer w;
  w.start("node");
  w.start("cpu");
  w.element("nodes", "1");
  w.element("sockets", "1");
  w.element("cores", std::to_string(spec.cpus));
  w.element("threads", "1");
  w.element("active", std::to_string(spec.cpus));
  w.element("mhz", std::to_string(spec.mhz));
  w.element("model", spec.cpu_model);
  w.end();
  w.element("memory", std::to_string(spec.memory_mib * kib_per_mib));
  w.end();
  auto xml = w.finish();
  if (!xml)
    return std::move(xml).error();

  std::ofstream out{absolute, std::ios::binary | std::ios::trunc};
  out << *xml;
  out.close();
  if (!out)
    return qx::error{
        errc::io_error, "could not write the test host description", {{"path", absolute.string()}}};
  return "test://" + uri_path(absolute.string());
}

} // namespace qx::node
