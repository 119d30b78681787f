#pragma once

// What the harnesses share: a property check that libFuzzer records as a crash, and the
// splitting of one input into a small header line and the rest.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace qx::fuzz {

/// A property that must hold for every input: a violation is a crash (abort), with `what`.
inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (ok)
    return;
  std::fprintf(stderr, "PROPERTY VIOLATED: %s\n", what);
  if (!detail.empty())
    std::fprintf(stderr, "  detail: %.*s\n", static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits `in` at its first '\n': {line, rest}; {"", in} when there is none.
inline std::pair<std::string_view, std::string_view> first_line(std::string_view in) {
  const auto nl = in.find('\n');
  if (nl == std::string_view::npos)
    return {{}, in};
  return {in.substr(0, nl), in.substr(nl + 1)};
}

/// A small deterministic generator (chunk sizes and the like) seeded from the input.
struct splitmix {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
  }
};

} // namespace qx::fuzz
