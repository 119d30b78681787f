#include "network_xml.hpp"

#include "qx/node/validate.hpp"
#include "xml_reader.hpp"
#include "xml_writer.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <optional>

namespace qx::node::detail {

namespace {

constexpr std::size_t max_bridge_length = 15; // IFNAMSIZ - 1 on Linux
constexpr std::uint64_t max_prefix = 30;      // a smaller subnet has no room for guests

// Dotted-quad IPv4 in host byte order.
std::optional<std::uint32_t> parse_ipv4(const std::string& text) {
  in_addr addr{};
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1)
    return std::nullopt;
  return ntohl(addr.s_addr);
}

struct subnet {
  std::uint32_t address = 0;
  std::uint32_t prefix = 0;
  [[nodiscard]] std::uint32_t mask() const noexcept {
    return prefix == 0 ? 0U : ~std::uint32_t{0} << (32U - prefix);
  }
  [[nodiscard]] std::uint32_t network() const noexcept { return address & mask(); }
  [[nodiscard]] std::uint32_t broadcast() const noexcept { return network() | ~mask(); }
  // A usable host address: inside, neither the network nor the broadcast address.
  [[nodiscard]] bool host(std::uint32_t a) const noexcept {
    return (a & mask()) == network() && a != network() && a != broadcast();
  }
};

std::optional<subnet> parse_cidr(std::string_view cidr) {
  const auto slash = cidr.find('/');
  if (slash == std::string_view::npos)
    return std::nullopt;
  const auto address = parse_ipv4(std::string{cidr.substr(0, slash)});
  const auto prefix = parse_u64(cidr.substr(slash + 1));
  if (!address || !prefix || *prefix < 1 || *prefix > max_prefix)
    return std::nullopt;
  return subnet{*address, static_cast<std::uint32_t>(*prefix)};
}

bool valid_bridge(std::string_view name) {
  if (name.empty() || name.size() > max_bridge_length)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

} // namespace

status validate_network_spec(const network_spec& spec) {
  if (auto s = validate_name("name", spec.name); !s)
    return s;
  if (!valid_bridge(spec.bridge))
    return invalid_field("bridge",
                         "bridge must be 1 to 15 characters of A-Z, a-z, 0-9, '_', '.', '-'");
  if (spec.mode == network_mode::other)
    return invalid_field("mode", "only nat and isolated networks can be defined");
  const auto net = parse_cidr(spec.cidr);
  if (!net)
    return invalid_field("cidr",
                         "cidr must be an IPv4 address and a prefix of 1 to 30, 10.0.0.1/24");
  if (!net->host(net->address))
    return invalid_field("cidr", "the address of cidr must be a host address of its subnet");
  if (spec.dhcp_start.empty() != spec.dhcp_end.empty())
    return invalid_field(spec.dhcp_start.empty() ? "dhcp_start" : "dhcp_end",
                         "a DHCP range needs both dhcp_start and dhcp_end");
  if (spec.dhcp_start.empty())
    return {};
  const auto start = parse_ipv4(spec.dhcp_start);
  if (!start || !net->host(*start))
    return invalid_field("dhcp_start", "dhcp_start must be a host address inside cidr");
  const auto end = parse_ipv4(spec.dhcp_end);
  if (!end || !net->host(*end))
    return invalid_field("dhcp_end", "dhcp_end must be a host address inside cidr");
  if (*start > *end)
    return invalid_field("dhcp_end", "dhcp_end must not come before dhcp_start");
  return {};
}

result<std::string> network_xml(const network_spec& spec) {
  if (auto s = validate_network_spec(spec); !s)
    return std::move(s).error();
  const auto slash = spec.cidr.find('/');
  xml_writer w;
  w.start("network");
  w.element("name", spec.name);
  if (spec.mode == network_mode::nat) {
    w.start("forward");
    w.attribute("mode", "nat");
    w.end();
  }
  w.start("bridge");
  w.attribute("name", spec.bridge);
  w.attribute("stp", "on");
  w.attribute("delay", "0");
  w.end();
  w.start("ip");
  w.attribute("address", spec.cidr.substr(0, slash));
  w.attribute("prefix", spec.cidr.substr(slash + 1));
  if (!spec.dhcp_start.empty()) {
    w.start("dhcp");
    w.start("range");
    w.attribute("start", spec.dhcp_start);
    w.attribute("end", spec.dhcp_end);
    w.end();
    w.end();
  }
  w.end();
  w.end();
  return w.finish();
}

result<network_info> parse_network_xml(std::string_view xml) {
  auto doc = xml_document::parse(xml, "network XML");
  if (!doc)
    return std::move(doc).error();
  const xmlNode* root = doc->root();
  network_info out;
  out.name = child_text(root, "name");
  out.bridge = attribute_or_empty(child(root, "bridge"), "name");
  if (const auto* forward = child(root, "forward"))
    out.mode = attribute_or_empty(forward, "mode") == "nat" || !attribute_of(forward, "mode")
                   ? network_mode::nat // libvirt's default forward mode is nat
                   : network_mode::other;
  else
    out.mode = network_mode::isolated;
  for (const auto* ip : children(root, "ip")) {
    const auto family = attribute_or_empty(ip, "family");
    if (!family.empty() && family != "ipv4")
      continue;
    const auto address = attribute_or_empty(ip, "address");
    auto prefix = attribute_or_empty(ip, "prefix");
    if (prefix.empty()) {
      // libvirt keeps the form it was given: a netmask becomes a prefix length here.
      if (const auto mask = parse_ipv4(attribute_or_empty(ip, "netmask")))
        prefix = std::to_string(std::popcount(*mask));
    }
    out.cidr = address;
    if (!prefix.empty())
      out.cidr.append("/").append(prefix);
    const auto* range = child(child(ip, "dhcp"), "range");
    out.dhcp_start = attribute_or_empty(range, "start");
    out.dhcp_end = attribute_or_empty(range, "end");
    break;
  }
  return out;
}

} // namespace qx::node::detail
