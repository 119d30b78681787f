#pragma once

#include "qx/base/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qx::node {

/// One entry of a storage pool's folder.
struct pool_file {
  /// The entry's name within its folder (never "." or "..").
  std::string name;
  /// "file", "directory", "symlink" or "other" (device, FIFO, socket), as the entry itself is:
  /// a symlink is reported as one and never followed.
  std::string type;
  /// Size of a regular file; 0 for every other type.
  std::uint64_t size_bytes = 0;
  /// Last modification, seconds since the Unix epoch.
  std::int64_t modified_unix = 0;

  friend bool operator==(const pool_file&, const pool_file&) = default;
};

/// Longest relative path accepted (errc::too_large above).
inline constexpr std::size_t max_pool_path_bytes = 4096;
/// Longest single component accepted (errc::too_large above), as Linux's NAME_MAX.
inline constexpr std::size_t max_pool_segment_bytes = 255;

/// The entries of the folder `relative_path` under `pool_root`, sorted by name (bytewise).
///
/// `relative_path` is what a client asked for, percent-decoded once by the HTTP layer: "" or "."
/// is the root, "isos/linux" a folder below it; empty and "." components are skipped.
/// Nothing outside the pool is ever opened or listed:
/// - refused with errc::invalid_argument, details["field"] = "path" and details["reason"] =
///   "PATH_OUTSIDE_POOL": an absolute path, a ".." component, a component that decodes to ".."
///   or holds '/' after further percent-decoding (double encoding: "%2e%2e", "%252e%252e"), a
///   symlink on the way (even one that points inside the pool);
/// - "INVALID_PATH": backslashes, NUL and other control characters, invalid UTF-8, a component
///   that decodes to "." or to a control character or backslash;
/// - errc::too_large: a path over max_pool_path_bytes or a component over
///   max_pool_segment_bytes, or a folder with more than `max_entries` entries.
/// The path is walked one component at a time with openat(O_NOFOLLOW | O_DIRECTORY) from the
/// root's descriptor, so a symlink swapped in between checks is refused, not followed; entries
/// are examined with fstatat(AT_SYMLINK_NOFOLLOW). Entries whose names are not valid UTF-8 or
/// hold control characters are left out (they could not travel through JSON unchanged).
/// A missing folder is errc::not_found; a file where a folder is asked for is invalid_argument
/// with reason "NOT_A_DIRECTORY"; a folder this process may not read is
/// errc::permission_denied; other failures are errc::io_error.
[[nodiscard]] result<std::vector<pool_file>> list_pool_files(const std::string& pool_root,
                                                             std::string_view relative_path,
                                                             std::size_t max_entries = 10000);

} // namespace qx::node
