#pragma once

// The one structured logger of every component: one JSON object per line on stderr,
// {"level", "component", "msg", fields...}, written with a single call so that lines of
// different threads never interleave. Text that is not UTF-8 is carried escaped (\xHH), so a
// log line is always valid JSON whatever a peer sent.
//
//   qx::log::warn("agent-registry", "agent frame does not parse", {{"node", id}});

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace qx::log {

enum class level : std::uint8_t { info, warn, error };

/// A field's value: text, an integer, a number or a flag.
using value = std::variant<std::string, std::int64_t, std::uint64_t, double, bool>;
using field = std::pair<std::string_view, value>;

/// The line `write` prints, without its newline (for tests).
[[nodiscard]] std::string format(level lv, std::string_view component, std::string_view msg,
                                 std::initializer_list<field> fields);

void write(level lv, std::string_view component, std::string_view msg,
           std::initializer_list<field> fields = {});

inline void info(std::string_view component, std::string_view msg,
                 std::initializer_list<field> fields = {}) {
  write(level::info, component, msg, fields);
}
inline void warn(std::string_view component, std::string_view msg,
                 std::initializer_list<field> fields = {}) {
  write(level::warn, component, msg, fields);
}
inline void error(std::string_view component, std::string_view msg,
                  std::initializer_list<field> fields = {}) {
  write(level::error, component, msg, fields);
}

} // namespace qx::log
