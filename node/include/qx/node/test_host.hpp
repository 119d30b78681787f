#pragma once

#include "qx/base/error.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace qx::node {

/// A host for libvirt's test driver: the <node> description it reads from a file.
struct test_host_spec {
  /// Logical CPUs (one socket, one thread per core), at least 1. Default 4.
  std::uint32_t cpus = 4;
  /// Memory in MiB, at least 1. Default 8192.
  std::uint64_t memory_mib = 8192;
  /// CPU model reported by the host. Default "x86_64".
  std::string cpu_model = "x86_64";
  /// Clock rate reported by the host. Default 2400.
  std::uint32_t mhz = 2400;
};

/// Writes a test-driver node description to `path` (replacing the file) and returns the URI
/// to open it, "test:///<absolute path>". Each connection to that URI gets its own in-memory
/// state, starting with no domains, pools or networks, so one process can model several
/// hosts. The driver checks no capacity: admission is the control plane's job.
[[nodiscard]] result<std::string> write_test_host(const std::filesystem::path& path,
                                                  const test_host_spec& spec);

} // namespace qx::node
