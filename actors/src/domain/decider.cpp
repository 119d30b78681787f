#include "qx/actors/domain/decider.hpp"

#include <qx/base/utf8.hpp>

#include <algorithm>

namespace qx::domain {

namespace {

/// A code point that XML 1.0 (and so libvirt's domain XML) and a terminal take as text:
/// no C0 or C1 control, no DEL, not U+FFFE or U+FFFF. Surrogates never decode.
bool printable(std::uint32_t cp) {
  return cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp <= 0x9F) && cp != 0xFFFE && cp != 0xFFFF;
}

bool is_space(std::uint32_t cp) {
  return cp == ' ' || cp == 0xA0 || cp == 0x3000 || (cp >= 0x2000 && cp <= 0x200B);
}

} // namespace

status check_text(std::string_view field, std::string_view value, std::size_t max) {
  if (value.size() > max)
    return invalid_field(std::string{field},
                         std::string{field} + " is longer than " + std::to_string(max) + " bytes");
  std::size_t i = 0;
  while (i < value.size()) {
    const auto seq = qx::decode_utf8(value, i);
    if (seq.length == 0)
      return invalid_field(std::string{field}, std::string{field} + " is not valid UTF-8 (byte " +
                                                   std::to_string(i) + ")");
    if (!printable(seq.code_point))
      return invalid_field(std::string{field},
                           std::string{field} +
                               " holds a control character or non-character (byte " +
                               std::to_string(i) + ")");
    i += seq.length;
  }
  return {};
}

status check_name(std::string_view field, std::string_view value, std::size_t max) {
  if (value.empty())
    return invalid_field(std::string{field}, std::string{field} + " is empty");
  if (auto ok = check_text(field, value, max); !ok)
    return ok;
  if (value == "." || value == "..")
    return invalid_field(std::string{field}, std::string{field} + " may not be . or ..");
  constexpr std::string_view reserved = "/\\<>&\"'";
  if (std::any_of(value.begin(), value.end(),
                  [&](char c) { return reserved.find(c) != std::string_view::npos; }))
    return invalid_field(std::string{field},
                         std::string{field} + " may not hold any of / \\ < > & \" '");
  const auto first = qx::decode_utf8(value, 0).code_point;
  std::size_t last_at = value.size() - 1;
  while (last_at > 0 && (static_cast<unsigned char>(value[last_at]) & 0xC0U) == 0x80U)
    --last_at;
  if (is_space(first) || is_space(qx::decode_utf8(value, last_at).code_point))
    return invalid_field(std::string{field},
                         std::string{field} + " may not begin or end with white space");
  return {};
}

} // namespace qx::domain
