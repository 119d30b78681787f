#include "qx/node/validate.hpp"

#include <qx/base/utf8.hpp>

#include <charconv>
#include <cstdint>
#include <string>

namespace qx::node {

namespace {

constexpr std::size_t max_name_length = 64;

bool name_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool hex_digit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// "001F" for U+001F: the form error messages use.
std::string hex4(std::uint32_t cp) {
  constexpr std::string_view digits = "0123456789ABCDEF";
  std::string hex;
  for (unsigned shift = 16; shift > 0; shift -= 4)
    hex += digits[(cp >> (shift - 4)) & 0xFU];
  return hex;
}

} // namespace

status validate_name(std::string_view field, std::string_view name) {
  if (name.empty())
    return invalid_field(field, std::string{field} + " must not be empty");
  if (name.size() > max_name_length)
    return invalid_field(field, std::string{field} + " is longer than 64 characters");
  if (name.front() == '.' || name.front() == '-')
    return invalid_field(field, std::string{field} + " must not start with '.' or '-'");
  for (const char c : name)
    if (!name_char(c))
      return invalid_field(field,
                           std::string{field} + " may hold only A-Z, a-z, 0-9, '.', '_', '-'");
  return {};
}

status validate_xml_text(std::string_view field, std::string_view text, bool multi_line) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto [cp, length] = qx::decode_utf8(text, i);
    if (length == 0)
      return invalid_field(field, std::string{field} + " is not valid UTF-8 (byte " +
                                      std::to_string(i) + ")");
    const bool allowed_control = cp == '\t' || (multi_line && cp == '\n');
    if ((cp < 0x20 && !allowed_control) || cp == 0xFFFE || cp == 0xFFFF)
      return invalid_field(field, std::string{field} +
                                      " holds a character XML 1.0 cannot carry (U+" + hex4(cp) +
                                      ")");
    i += length;
  }
  return {};
}

status validate_path(std::string_view field, std::string_view path) {
  if (path.empty() || path.front() != '/')
    return invalid_field(field, std::string{field} + " must be an absolute path");
  if (auto s = validate_xml_text(field, path, false); !s)
    return s;
  std::size_t start = 1;
  while (start <= path.size()) {
    const auto end = path.find('/', start);
    const auto part = path.substr(start, end == std::string_view::npos ? path.npos : end - start);
    if (part == "." || part == "..")
      return invalid_field(field, std::string{field} + " must not hold '.' or '..' components");
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  return {};
}

status validate_mac(std::string_view field, std::string_view mac) {
  constexpr std::size_t mac_length = 17; // "xx:xx:xx:xx:xx:xx"
  bool ok = mac.size() == mac_length;
  for (std::size_t i = 0; ok && i < mac.size(); ++i)
    ok = (i % 3 == 2) ? mac[i] == ':' : hex_digit(mac[i]);
  if (!ok)
    return invalid_field(field, std::string{field} + " must look like 52:54:00:12:34:56");
  // The lowest bit of the first octet marks a multicast address.
  unsigned first = 0;
  std::from_chars(mac.data(), mac.data() + 2, first, 16);
  if ((first & 1U) != 0)
    return invalid_field(field, std::string{field} + " must be a unicast address");
  return {};
}

} // namespace qx::node
