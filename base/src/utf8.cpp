#include "qx/base/utf8.hpp"

namespace qx {

utf8_sequence decode_utf8(std::string_view text, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) {
    return static_cast<std::uint8_t>(text[k]);
  };
  const std::uint8_t lead = byte(i);
  std::size_t length = 0;
  std::uint32_t cp = 0;
  std::uint32_t min = 0;
  if (lead < 0x80U)
    return {lead, 1};
  if ((lead & 0xE0U) == 0xC0U) {
    length = 2;
    cp = lead & 0x1FU;
    min = 0x80;
  } else if ((lead & 0xF0U) == 0xE0U) {
    length = 3;
    cp = lead & 0x0FU;
    min = 0x800;
  } else if ((lead & 0xF8U) == 0xF0U) {
    length = 4;
    cp = lead & 0x07U;
    min = 0x10000;
  } else {
    return {};
  }
  if (text.size() - i < length)
    return {};
  for (std::size_t k = 1; k < length; ++k) {
    const std::uint8_t cont = byte(i + k);
    if ((cont & 0xC0U) != 0x80U)
      return {};
    cp = (cp << 6U) | (cont & 0x3FU);
  }
  if (cp < min || cp > 0x10FFFFU || (cp >= 0xD800U && cp <= 0xDFFFU))
    return {};
  return {cp, length};
}

std::optional<std::size_t> invalid_utf8_at(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto seq = decode_utf8(text, i);
    if (seq.length == 0)
      return i;
    i += seq.length;
  }
  return std::nullopt;
}

std::string escape_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto seq = decode_utf8(text, i);
    if (seq.length != 0) {
      out.append(text.substr(i, seq.length));
      i += seq.length;
      continue;
    }
    constexpr std::string_view hex = "0123456789ABCDEF";
    const auto b = static_cast<std::uint8_t>(text[i++]);
    out += "\\x";
    out.push_back(hex[b >> 4U]);
    out.push_back(hex[b & 0xFU]);
  }
  return out;
}

} // namespace qx
