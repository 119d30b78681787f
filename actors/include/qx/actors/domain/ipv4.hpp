#pragma once

// Strict IPv4 parsing for networks and firewall rules: dotted quads without leading zeros,
// CIDRs whose host bits are zero.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qx::domain::ipv4 {

struct cidr {
  std::uint32_t network = 0;
  unsigned prefix = 0;

  [[nodiscard]] std::uint32_t mask() const {
    return prefix == 0 ? 0 : ~std::uint32_t{0} << (32U - prefix);
  }
  [[nodiscard]] std::uint32_t broadcast() const { return network | ~mask(); }
  [[nodiscard]] bool contains(std::uint32_t a) const { return (a & mask()) == network; }
};

[[nodiscard]] std::optional<std::uint32_t> parse_address(std::string_view text);
/// "a.b.c.d/n" with min_prefix <= n <= max_prefix and zero host bits.
[[nodiscard]] std::optional<cidr> parse_cidr(std::string_view text, unsigned min_prefix = 0,
                                             unsigned max_prefix = 32);
[[nodiscard]] std::string to_string(std::uint32_t address);

} // namespace qx::domain::ipv4
