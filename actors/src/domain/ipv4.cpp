#include "qx/actors/domain/ipv4.hpp"

namespace qx::domain::ipv4 {

namespace {

/// A decimal number 0..max without sign or leading zeros.
std::optional<unsigned> parse_number(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text.front() == '0'))
    return std::nullopt;
  unsigned v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max)
    return std::nullopt;
  return v;
}

} // namespace

std::optional<std::uint32_t> parse_address(std::string_view text) {
  std::uint32_t out = 0;
  for (int part = 0; part < 4; ++part) {
    const auto dot = text.find('.');
    const auto piece = part < 3 ? text.substr(0, dot) : text;
    if (part < 3 && dot == std::string_view::npos)
      return std::nullopt;
    auto v = parse_number(piece, 255);
    if (!v)
      return std::nullopt;
    out = (out << 8U) | *v;
    if (part < 3)
      text.remove_prefix(dot + 1);
  }
  return out;
}

std::optional<cidr> parse_cidr(std::string_view text, unsigned min_prefix, unsigned max_prefix) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return std::nullopt;
  auto address = parse_address(text.substr(0, slash));
  auto prefix = parse_number(text.substr(slash + 1), 32);
  if (!address || !prefix || *prefix < min_prefix || *prefix > max_prefix)
    return std::nullopt;
  cidr c{*address, *prefix};
  if ((c.network & ~c.mask()) != 0)
    return std::nullopt; // host bits set
  return c;
}

std::string to_string(std::uint32_t a) {
  return std::to_string(a >> 24U) + "." + std::to_string((a >> 16U) & 0xFFU) + "." +
         std::to_string((a >> 8U) & 0xFFU) + "." + std::to_string(a & 0xFFU);
}

} // namespace qx::domain::ipv4
