#include "console_files.hpp"

#include <qx/base/html.hpp>

#include <array>
#include <cctype>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

namespace qx::api {

namespace {

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// The q of one Accept-Encoding element's parameters ("q=0.5"); 1 when absent, 0 when unreadable.
bool q_is_zero(std::string_view params) {
  while (!params.empty()) {
    const auto semi = params.find(';');
    const auto p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    if (p.size() < 2 || std::tolower(static_cast<unsigned char>(p[0])) != 'q' || p[1] != '=')
      continue;
    // "0", "0.", "0.0", "0.00", "0.000" are zero; anything else (1, 0.5) is not.
    const auto v = p.substr(2);
    if (v.empty() || v[0] != '0')
      return v.empty();
    for (const char c : v.substr(1))
      if (c != '.' && c != '0')
        return false;
    return true;
  }
  return false;
}

http_response with_console_headers(http_response r) {
  r.headers.emplace_back("Content-Security-Policy", std::string{console_csp});
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

std::string read_whole(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

} // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    const auto comma = accept_encoding.find(',');
    const auto element = trim(accept_encoding.substr(0, comma));
    accept_encoding =
        comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);
    const auto semi = element.find(';');
    const auto coding = lower(trim(element.substr(0, semi)));
    if (coding != "gzip" && coding != "x-gzip" && coding != "*")
      continue;
    if (!q_is_zero(semi == std::string_view::npos ? std::string_view{} : element.substr(semi + 1)))
      return true;
  }
  return false;
}

std::string content_type_of(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> types{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
  }};
  const auto dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    const auto ext = lower(name.substr(dot));
    for (const auto& [e, type] : types)
      if (ext == e)
        return std::string{type};
  }
  return "application/octet-stream";
}

console_files::console_files(std::string why_absent) : why_absent_(std::move(why_absent)) {}

result<console_files> console_files::load(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(dir / "index.html", ec))
    return error{errc::not_found,
                 "no index.html in the console folder " + dir.string(),
                 {{"field", "console-dir"}}};
  console_files out;
  std::size_t bytes = 0;
  std::unordered_map<std::string, std::string> gzipped; // by the name they compress
  std::filesystem::recursive_directory_iterator it{dir, ec};
  for (; !ec && it != std::filesystem::recursive_directory_iterator{}; it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec))
      continue;
    const auto rel = std::filesystem::relative(it->path(), dir, ec).generic_string();
    if (ec || rel.empty() || rel.starts_with(".."))
      continue;
    // The bound is checked on the size before the read: one huge file is never read whole.
    bytes += it->file_size(ec);
    if (ec)
      break; // reported below as the folder's read error
    if (out.files_.size() + gzipped.size() >= max_files || bytes > max_bytes)
      return error{errc::too_large,
                   "the console folder " + dir.string() + " holds more than " +
                       std::to_string(max_files) + " files or " + std::to_string(max_bytes >> 20U) +
                       " MiB: is it the right folder?",
                   {{"field", "console-dir"}}};
    auto body = read_whole(it->path());
    const auto url = "/" + rel;
    if (url.ends_with(".gz")) {
      gzipped.emplace(url.substr(0, url.size() - 3), std::move(body));
      continue;
    }
    file f;
    f.body = std::move(body);
    f.content_type = content_type_of(rel);
    f.immutable = rel.starts_with("assets/");
    out.files_.emplace(url, std::move(f));
  }
  if (ec)
    return error{errc::io_error,
                 "reading the console folder " + dir.string() + ": " + ec.message(),
                 {{"field", "console-dir"}}};
  for (auto& [url, gz] : gzipped)
    if (auto f = out.files_.find(url); f != out.files_.end())
      f->second.gzip = std::move(gz);
  return out;
}

http_response console_files::absent_page() const {
  http_response r;
  r.status = 404;
  r.content_type = "text/html; charset=utf-8";
  r.body = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>qvdc: no web "
           "console</title></head><body><h1>No web console in this qvdc</h1><p>" +
           html_escape(why_absent_) +
           ".</p><p>Build it with <code>scripts/build-console</code> (or run "
           "<code>scripts/run</code>), or start <code>qvdc serve --console-dir DIR</code> with "
           "the folder of a built console. The API answers under <code>/api/v1</code>.</p>"
           "</body></html>\n";
  r.headers.emplace_back("Cache-Control", "no-cache");
  return with_console_headers(std::move(r));
}

http_response console_files::answer(std::string_view path, std::string_view accept_encoding) const {
  if (!present())
    return absent_page();
  const auto last_slash = path.rfind('/');
  const bool page = path.find('.', last_slash == std::string_view::npos ? 0 : last_slash) ==
                    std::string_view::npos;
  auto found = files_.find(std::string{path});
  if (found == files_.end() && page)
    found = files_.find("/index.html");
  if (found == files_.end()) {
    http_response r;
    r.status = 404;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "not found\n";
    r.headers.emplace_back("Cache-Control", "no-cache");
    return with_console_headers(std::move(r));
  }
  const auto& f = found->second;
  http_response r;
  r.content_type = f.content_type;
  r.headers.emplace_back("Cache-Control",
                         f.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (!f.gzip.empty()) {
    r.headers.emplace_back("Vary", "Accept-Encoding");
    if (accepts_gzip(accept_encoding)) {
      r.headers.emplace_back("Content-Encoding", "gzip");
      r.body = f.gzip;
      return with_console_headers(std::move(r));
    }
  }
  r.body = f.body;
  return with_console_headers(std::move(r));
}

} // namespace qx::api
