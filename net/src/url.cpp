#include "qx/net/url.hpp"

#include <charconv>

namespace qx::net {

namespace {

constexpr std::size_t max_url_bytes = 2048;

error bad(const std::string& field, const std::string& why) {
  return error{errc::invalid_argument, field + " " + why, {{"field", field}}};
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_' || c == ':';
}

} // namespace

std::string url::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string url::origin() const {
  return scheme + "://" + authority();
}

result<url> parse_url(std::string_view text, const std::string& field) {
  if (text.empty())
    return bad(field, "is empty");
  if (text.size() > max_url_bytes)
    return bad(field, "is longer than " + std::to_string(max_url_bytes) + " bytes");
  for (const char c : text)
    if (static_cast<unsigned char>(c) <= 0x20U || static_cast<unsigned char>(c) >= 0x7FU)
      return bad(field, "contains a space, a control or a non-ASCII character");
  url u;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos)
    return bad(field, "must start with http:// or https://");
  u.scheme = std::string{text.substr(0, sep)};
  for (auto& c : u.scheme)
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (u.scheme == "ws")
    u.scheme = "http";
  else if (u.scheme == "wss")
    u.scheme = "https";
  if (u.scheme != "http" && u.scheme != "https")
    return bad(field, "must start with http:// or https://");
  auto rest = text.substr(sep + 3);
  const auto slash = rest.find_first_of("/?#");
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    if (rest[slash] == '#' || rest.find('#') != std::string_view::npos)
      return bad(field, "must not have a fragment");
    u.path = std::string{rest.substr(slash)};
    if (u.path.front() == '?')
      u.path.insert(0, "/");
  } else {
    u.path = "/";
  }
  if (authority.find('@') != std::string_view::npos)
    return bad(field, "must not carry user information");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return bad(field, "has an unclosed [ in its host");
    u.host = std::string{authority.substr(1, close - 1)};
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return bad(field, "has text after its IPv6 host");
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    u.host = std::string{authority.substr(0, colon)};
    if (colon != std::string_view::npos)
      port_text = authority.substr(colon + 1);
    if (u.host.find(':') != std::string::npos)
      return bad(field, "has an IPv6 host outside brackets");
  }
  if (u.host.empty())
    return bad(field, "has no host");
  for (const char c : u.host)
    if (!host_char(c))
      return bad(field, "has a character a host name cannot have");
  if (port_text.empty()) {
    u.port = u.tls() ? 443 : 80;
  } else {
    unsigned v = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || v == 0 || v > 65535)
      return bad(field, "has a port that is not 1..65535");
    u.port = static_cast<std::uint16_t>(v);
  }
  return u;
}

} // namespace qx::net

namespace qx::net {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      const int hi = i + 1 < s.size() ? hex(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? hex(s[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

bool split_target(std::string_view target, std::string& path,
                  std::map<std::string, std::string>& query) {
  const auto q = target.find('?');
  auto decoded = percent_decode(target.substr(0, q), false);
  if (!decoded || decoded->empty() || decoded->front() != '/')
    return false;
  path = std::move(*decoded);
  if (q == std::string_view::npos)
    return true;
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty())
      continue;
    const auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value)
      return false;
    query[*key] = std::move(*value);
  }
  return true;
}

} // namespace qx::net
