#include "domain_xml.hpp"

#include "qx/node/validate.hpp"
#include "xml_reader.hpp"
#include "xml_writer.hpp"

#include <algorithm>
#include <set>

namespace qx::node::detail {

namespace {

constexpr std::uint32_t max_vcpus = 4096;
// 16 TiB: far above any host, and small enough that KiB and bytes fit in 64 bits.
constexpr std::uint64_t max_memory_mib = std::uint64_t{16} * 1024 * 1024;
constexpr std::uint64_t mib = std::uint64_t{1024} * 1024;

std::string indexed(std::string_view list, std::size_t i, std::string_view member) {
  return std::string{list} + "[" + std::to_string(i) + "]." + std::string{member};
}

// "vda", "sdb", "hdc": a bus prefix and one or two letters.
bool valid_target_dev(std::string_view dev) {
  if (dev.size() < 3 || dev.size() > 4)
    return false;
  const auto prefix = dev.substr(0, 2);
  if (prefix != "vd" && prefix != "sd" && prefix != "hd")
    return false;
  return std::all_of(dev.begin() + 2, dev.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

std::string_view bus_of(std::string_view dev) {
  if (dev.starts_with("vd"))
    return "virtio";
  if (dev.starts_with("sd"))
    return "sata";
  return "ide";
}

status validate_disks(const std::vector<disk_spec>& disks) {
  std::set<std::string> targets;
  for (std::size_t i = 0; i < disks.size(); ++i) {
    const auto& d = disks[i];
    if (auto s = validate_path(indexed("disks", i, "path"), d.path); !s)
      return s;
    if (!valid_target_dev(d.target_dev))
      return invalid_field(indexed("disks", i, "target_dev"),
                           "disk target must be vd, sd or hd followed by one or two letters");
    if (!targets.insert(d.target_dev).second)
      return invalid_field(indexed("disks", i, "target_dev"), "disk target used twice");
  }
  return {};
}

status validate_nics(const std::vector<nic_spec>& nics) {
  for (std::size_t i = 0; i < nics.size(); ++i) {
    if (auto s = validate_name(indexed("nics", i, "network"), nics[i].network); !s)
      return s;
    if (!nics[i].mac.empty())
      if (auto s = validate_mac(indexed("nics", i, "mac"), nics[i].mac); !s)
        return s;
  }
  return {};
}

std::optional<boot_device> boot_device_from(std::string_view name) {
  for (const auto d : {boot_device::hd, boot_device::cdrom, boot_device::network, boot_device::fd})
    if (to_string(d) == name)
      return d;
  return std::nullopt;
}

void write_disk(xml_writer& w, const disk_spec& d) {
  w.start("disk");
  w.attribute("type", "file");
  w.attribute("device", "disk");
  w.start("driver");
  w.attribute("name", "qemu");
  w.attribute("type", to_string(d.format));
  w.end();
  w.start("source");
  w.attribute("file", d.path);
  w.end();
  w.start("target");
  w.attribute("dev", d.target_dev);
  w.attribute("bus", bus_of(d.target_dev));
  w.end();
  w.end();
}

void write_nic(xml_writer& w, const nic_spec& n) {
  w.start("interface");
  w.attribute("type", "network");
  if (!n.mac.empty()) {
    w.start("mac");
    w.attribute("address", n.mac);
    w.end();
  }
  w.start("source");
  w.attribute("network", n.network);
  w.end();
  w.start("model");
  w.attribute("type", "virtio");
  w.end();
  w.end();
}

void write_serial(xml_writer& w, std::string_view log_file) {
  w.start("serial");
  w.attribute("type", "pty");
  w.start("log");
  w.attribute("file", log_file);
  w.attribute("append", "on");
  w.end();
  w.end();
}

} // namespace

status validate_domain_spec(const domain_spec& spec) {
  if (auto s = validate_name("id", spec.id); !s)
    return s;
  if (auto s = validate_xml_text("title", spec.title, false); !s)
    return s;
  if (spec.vcpus < 1 || spec.vcpus > max_vcpus)
    return invalid_field("vcpus", "vcpus must be between 1 and 4096");
  if (spec.memory_mib < 1 || spec.memory_mib > max_memory_mib)
    return invalid_field("memory_mib", "memory_mib must be between 1 and 16777216");
  if (auto s = validate_disks(spec.disks); !s)
    return s;
  if (auto s = validate_nics(spec.nics); !s)
    return s;
  std::set<boot_device> seen;
  for (const auto d : spec.boot_order)
    if (!seen.insert(d).second)
      return invalid_field("boot_order", "a boot device is listed twice");
  return {};
}

result<std::string> domain_xml(const domain_spec& spec, std::string_view domain_type,
                               std::string_view serial_log) {
  if (auto s = validate_domain_spec(spec); !s)
    return std::move(s).error();
  xml_writer w;
  w.start("domain");
  w.attribute("type", domain_type);
  w.element("name", spec.id);
  if (!spec.title.empty())
    w.element("title", spec.title);
  w.start("memory");
  w.attribute("unit", "MiB");
  w.text(std::to_string(spec.memory_mib));
  w.end();
  w.element("vcpu", std::to_string(spec.vcpus));
  w.start("os");
  w.element("type", "hvm");
  for (const auto d : spec.boot_order) {
    w.start("boot");
    w.attribute("dev", to_string(d));
    w.end();
  }
  w.end();
  w.start("devices");
  for (const auto& d : spec.disks)
    write_disk(w, d);
  for (const auto& n : spec.nics)
    write_nic(w, n);
  if (!serial_log.empty())
    write_serial(w, serial_log);
  w.end();
  w.end();
  return w.finish();
}

result<domain_spec> parse_domain_xml(std::string_view xml) {
  auto doc = xml_document::parse(xml, "domain XML");
  if (!doc)
    return std::move(doc).error();
  const xmlNode* root = doc->root();
  domain_spec out;
  out.id = child_text(root, "name");
  out.title = child_text(root, "title");
  const auto vcpus = parse_u64(child_text(root, "vcpu"));
  out.vcpus = vcpus && *vcpus <= max_vcpus ? static_cast<std::uint32_t>(*vcpus) : 0;
  const auto memory = size_in_bytes(child(root, "memory"), "KiB");
  out.memory_mib = memory ? *memory / mib : 0;
  out.boot_order.clear();
  for (const auto* boot : children(child(root, "os"), "boot"))
    if (auto d = boot_device_from(attribute_or_empty(boot, "dev")))
      out.boot_order.push_back(*d);
  const xmlNode* devices = child(root, "devices");
  for (const auto* disk : children(devices, "disk")) {
    if (attribute_or_empty(disk, "device") != "disk" && attribute_of(disk, "device"))
      continue; // cdrom, floppy, lun: not modelled
    disk_spec d;
    d.path = attribute_or_empty(child(disk, "source"), "file");
    d.format = attribute_or_empty(child(disk, "driver"), "type") == "qcow2" ? disk_format::qcow2
                                                                            : disk_format::raw;
    d.target_dev = attribute_or_empty(child(disk, "target"), "dev");
    out.disks.push_back(std::move(d));
  }
  for (const auto* nic : children(devices, "interface")) {
    if (attribute_or_empty(nic, "type") != "network")
      continue; // direct, bridge, user: not modelled
    nic_spec n;
    n.network = attribute_or_empty(child(nic, "source"), "network");
    n.mac = attribute_or_empty(child(nic, "mac"), "address");
    out.nics.push_back(std::move(n));
  }
  return out;
}

result<std::string> snapshot_xml(const snapshot_spec& spec) {
  if (auto s = validate_name("name", spec.name); !s)
    return std::move(s).error();
  if (auto s = validate_xml_text("description", spec.description, true); !s)
    return std::move(s).error();
  xml_writer w;
  w.start("domainsnapshot");
  w.element("name", spec.name);
  if (!spec.description.empty())
    w.element("description", spec.description);
  w.end();
  return w.finish();
}

result<snapshot_info> parse_snapshot_xml(std::string_view xml) {
  auto doc = xml_document::parse(xml, "snapshot XML");
  if (!doc)
    return std::move(doc).error();
  const xmlNode* root = doc->root();
  snapshot_info out;
  out.name = child_text(root, "name");
  out.description = child_text(root, "description");
  out.parent = child_text(child(root, "parent"), "name");
  out.state = child_text(root, "state");
  const auto created = parse_u64(child_text(root, "creationTime"));
  out.creation_time = created ? static_cast<std::int64_t>(*created) : 0;
  return out;
}

} // namespace qx::node::detail
