#pragma once

// Paths given on a command line are made absolute once, at start, against the directory the
// command was started in: later uses (a pool folder sent to an agent, a child process started
// elsewhere, a path written into the log) never depend on the working directory again.

#include <filesystem>
#include <string>

namespace qx {

/// `path` made absolute and lexically normal; "" stays "" (an option left at its default).
inline std::string absolute_path(std::string path) {
  if (path.empty())
    return path;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

} // namespace qx
