// URLs the agents and the control plane exchange (net/src/url.cpp): parse_url, and the
// request-target helpers percent_decode and split_target.
//
// Properties: an accepted URL is well formed (http/https, a host, a port 1..65535, a path
// starting with '/') and its origin()+path parses back to the same URL; percent-encoding any
// bytes decodes back to them; split_target's path starts with '/'.

#include "fuzz_common.hpp"

#include <qx/net/url.hpp>

#include <map>
#include <string>

namespace {

std::string encode_all(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    out += '%';
    out += hex[c >> 4U];
    out += hex[c & 0x0FU];
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using qx::fuzz::check;
  const auto text = qx::fuzz::as_text(data, size);

  if (auto u = qx::net::parse_url(text)) {
    check(u->scheme == "http" || u->scheme == "https", "parse_url: scheme is http or https",
          u->scheme);
    check(!u->host.empty(), "parse_url: host is not empty");
    check(u->port != 0, "parse_url: port is 1..65535");
    check(!u->path.empty() && u->path.front() == '/', "parse_url: path starts with /", u->path);
    const auto again = qx::net::parse_url(u->origin() + u->path);
    check(again.has_value(), "parse_url: origin()+path parses again", u->origin() + u->path);
    check(again->scheme == u->scheme && again->host == u->host && again->port == u->port &&
              again->path == u->path,
          "parse_url: origin()+path parses to the same URL", u->origin() + u->path);
  }

  for (const bool plus : {false, true}) {
    if (auto d = qx::net::percent_decode(text, plus))
      check(d->size() <= text.size(), "percent_decode: never longer than its input");
    const auto round = qx::net::percent_decode(encode_all(text), plus);
    check(round.has_value() && *round == text, "percent_decode: decodes %XX of any byte");
  }

  std::string path;
  std::map<std::string, std::string> query;
  if (qx::net::split_target(text, path, query))
    check(!path.empty() && path.front() == '/', "split_target: path starts with /", path);
  return 0;
}
