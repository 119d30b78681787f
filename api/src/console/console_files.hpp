#pragma once

// The web console's built files (console/, built by scripts/build-console), served by
// `qvdc serve` at / beside the API. Read once at start into memory: a request never touches the
// file system, so no path a client sends can reach a file outside the folder.

#include <qx/api/http.hpp>
#include <qx/base/error.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>

namespace qx::api {

/// What a browser may load and run for a console page: only what this server serves.
inline constexpr std::string_view console_csp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

class console_files {
 public:
  struct file {
    std::string body;
    std::string gzip; ///< The precompressed "<name>.gz" beside it; empty when none.
    std::string content_type;
    bool immutable = false; ///< Under assets/: the name carries the content's hash.
  };

  /// Bounds on what load() reads: a console is a few MiB; a wrong --console-dir (say, /) must
  /// not fill the memory.
  static constexpr std::size_t max_files = 4096;
  static constexpr std::size_t max_bytes = 64U << 20U;

  /// No console: every page answers 404 with `why` and how to get one.
  explicit console_files(std::string why_absent = "this qvdc was started without a console");

  /// Reads every regular file under `dir` (symbolic links are not followed); needs
  /// `dir`/index.html. An error says what is wrong with the folder.
  [[nodiscard]] static result<console_files> load(const std::filesystem::path& dir);

  [[nodiscard]] bool present() const { return !files_.empty(); }
  [[nodiscard]] std::size_t file_count() const { return files_.size(); }

  /// The answer to GET `path` (a decoded path outside /api/): the file, index.html for a
  /// page's own address (no dot in its last segment: the console routes it), else 404.
  /// `accept_encoding` is the request's Accept-Encoding header.
  [[nodiscard]] http_response answer(std::string_view path, std::string_view accept_encoding) const;

 private:
  [[nodiscard]] http_response absent_page() const;

  std::unordered_map<std::string, file> files_; ///< By URL path ("/index.html").
  std::string why_absent_;
};

/// True when an Accept-Encoding header value accepts gzip (a "gzip" or "*" token whose q is not
/// 0; RFC 9110, 12.5.3).
[[nodiscard]] bool accepts_gzip(std::string_view accept_encoding);

/// The media type served for a file name, by its extension.
[[nodiscard]] std::string content_type_of(std::string_view name);

} // namespace qx::api
