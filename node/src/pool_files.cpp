#include "qx/node/pool_files.hpp"

#include "qx/base/utf8.hpp"
#include "unique_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

namespace qx::node {

namespace {

/// How often a component is percent-decoded again to see what it hides ("%25252e" needs 3).
constexpr int max_decode_rounds = 8;

qx::error path_error(std::string_view reason, std::string message) {
  return {errc::invalid_argument,
          std::move(message),
          {{"field", "path"}, {"reason", std::string{reason}}}};
}

qx::error too_long(std::string message, std::size_t limit) {
  return {
      errc::too_large, std::move(message), {{"field", "path"}, {"limit", std::to_string(limit)}}};
}

qx::error os_error(std::string_view field, const std::string& what, int err) {
  switch (err) {
  case ENOENT:
    return {errc::not_found, what + " does not exist", {{"field", std::string{field}}}};
  case EACCES:
  case EPERM:
    return {errc::permission_denied, what + " may not be read", {{"field", std::string{field}}}};
  case ENAMETOOLONG:
    return {errc::too_large, what + " is too long a name", {{"field", std::string{field}}}};
  default:
    return {errc::io_error,
            what + ": " + std::strerror(err),
            {{"field", std::string{field}}, {"errno", std::to_string(err)}}};
  }
}

bool control(char ch) noexcept {
  const auto byte = static_cast<unsigned char>(ch);
  return byte < 0x20 || byte == 0x7F;
}

/// Text that can name a file for a client: valid UTF-8, no control character.
bool plain_text(std::string_view text) noexcept {
  return !invalid_utf8_at(text) && std::none_of(text.begin(), text.end(), control);
}

int hex_value(char ch) noexcept {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/// One round of percent-decoding; a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

/// A component as the client sent it, and what it would become if anything on the way
/// decoded it again.
status check_segment(std::string_view segment) {
  if (segment.size() > max_pool_segment_bytes)
    return too_long("a component of path is longer than " + std::to_string(max_pool_segment_bytes) +
                        " bytes",
                    max_pool_segment_bytes);
  if (segment == "..")
    return path_error("PATH_OUTSIDE_POOL", "path must not hold '..'");
  std::string current{segment};
  for (int round = 0; round < max_decode_rounds; ++round) {
    auto decoded = percent_decode(current);
    if (decoded == current)
      return {};
    if (decoded == ".." || decoded.find('/') != std::string::npos)
      return path_error("PATH_OUTSIDE_POOL",
                        "path holds an encoded '..' or '/' (percent-encoding is decoded once)");
    if (decoded == "." || decoded.find('\\') != std::string::npos || !plain_text(decoded))
      return path_error("INVALID_PATH",
                        "path holds an encoded '.', backslash or control character");
    current = std::move(decoded);
  }
  return path_error("INVALID_PATH", "path is percent-encoded too many times");
}

/// The components of `path` after the checks, without empty and "." ones.
result<std::vector<std::string_view>> split_path(std::string_view path) {
  if (path.size() > max_pool_path_bytes)
    return too_long("path is longer than " + std::to_string(max_pool_path_bytes) + " bytes",
                    max_pool_path_bytes);
  if (std::any_of(path.begin(), path.end(), control))
    return path_error("INVALID_PATH", "path must not hold NUL or other control characters");
  if (path.find('\\') != std::string_view::npos)
    return path_error("INVALID_PATH", "path must not hold backslashes");
  if (invalid_utf8_at(path))
    return path_error("INVALID_PATH", "path is not valid UTF-8");
  if (!path.empty() && path.front() == '/')
    return path_error("PATH_OUTSIDE_POOL", "path must be relative to the pool");
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto segment =
        path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    if (!segment.empty() && segment != ".") {
      if (auto ok = check_segment(segment); !ok)
        return std::move(ok).error();
      segments.push_back(segment);
    }
    if (slash == std::string_view::npos)
      break;
    start = slash + 1;
  }
  return segments;
}

/// Opens the folder `name` inside `parent` without following a symlink.
result<unique_fd> open_child_folder(int parent, const std::string& name, const std::string& shown) {
  unique_fd fd{::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (fd.valid())
    return fd;
  const int err = errno;
  if (err == ELOOP || err == ENOTDIR) {
    // Nothing was opened: this is a refusal either way, and a second look at the entry only
    // picks the reason. With O_DIRECTORY Linux answers ENOTDIR for a symlink too. A folder
    // found now was something else a moment ago: it was swapped, which counts as a link.
    struct stat st {};
    if (err != ELOOP && ::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return os_error("path", shown, errno);
    if (err == ELOOP || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
      return path_error("PATH_OUTSIDE_POOL",
                        shown + " is a symbolic link; links in a pool are never followed");
    return path_error("NOT_A_DIRECTORY", shown + " is not a folder");
  }
  return os_error("path", shown, err);
}

const char* type_of(mode_t mode) noexcept {
  if (S_ISREG(mode))
    return "file";
  if (S_ISDIR(mode))
    return "directory";
  if (S_ISLNK(mode))
    return "symlink";
  return "other";
}

} // namespace

result<std::vector<pool_file>> list_pool_files(const std::string& pool_root,
                                               std::string_view relative_path,
                                               std::size_t max_entries) {
  if (pool_root.empty() || pool_root.front() != '/' || pool_root.find('\0') != std::string::npos)
    return qx::error{
        errc::invalid_argument, "the pool root must be an absolute path", {{"field", "pool_root"}}};
  auto segments = split_path(relative_path);
  if (!segments)
    return std::move(segments).error();

  // The root itself is the operator's configuration and may be a symlink; below it nothing is.
  unique_fd dir{::open(pool_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!dir.valid()) {
    if (errno == ENOTDIR)
      return qx::error{errc::invalid_argument,
                       "the pool root " + pool_root + " is not a folder",
                       {{"field", "pool_root"}, {"reason", "NOT_A_DIRECTORY"}}};
    return os_error("pool_root", "the pool root " + pool_root, errno);
  }
  std::string walked;
  for (const auto segment : *segments) {
    walked += walked.empty() ? "" : "/";
    walked += segment;
    auto child = open_child_folder(dir.get(), std::string{segment}, walked);
    if (!child)
      return std::move(child).error();
    dir = std::move(*child);
  }

  const int dir_fd = dir.get();
  DIR* stream = ::fdopendir(dir_fd);
  if (stream == nullptr)
    return os_error("path", walked.empty() ? "the pool's root" : walked, errno);
  (void)dir.release(); // the stream owns the descriptor now
  const auto close_stream = [](DIR* d) {
    ::closedir(d);
  };
  const std::unique_ptr<DIR, decltype(close_stream)> owner{stream, close_stream};

  std::vector<pool_file> files;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(stream);
    if (entry == nullptr) {
      if (errno != 0)
        return os_error("path", walked.empty() ? "the pool's root" : walked, errno);
      break;
    }
    const std::string_view name{entry->d_name};
    if (name == "." || name == ".." || !plain_text(name))
      continue;
    struct stat st {};
    if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT)
        continue; // removed while we looked
      return os_error("path", std::string{name}, errno);
    }
    if (files.size() >= max_entries)
      return qx::error{errc::too_large,
                       "the folder holds more than " + std::to_string(max_entries) + " entries",
                       {{"field", "path"}, {"limit", std::to_string(max_entries)}}};
    pool_file f;
    f.name = std::string{name};
    f.type = type_of(st.st_mode);
    f.size_bytes = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
    f.modified_unix = static_cast<std::int64_t>(st.st_mtim.tv_sec);
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(),
            [](const pool_file& a, const pool_file& b) { return a.name < b.name; });
  return files;
}

} // namespace qx::node
