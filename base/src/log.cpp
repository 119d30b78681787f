#include "qx/base/log.hpp"

#include "qx/base/utf8.hpp"

#include <cstdio>
#include <type_traits>

namespace qx::log {

namespace {

void append_string(std::string& out, std::string_view text) {
  const auto clean = escape_invalid_utf8(text);
  out += '"';
  for (const char c : clean) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out += buf;
      } else {
        out += c;
      }
    }
  }
  out += '"';
}

void append_value(std::string& out, const value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>)
          append_string(out, x);
        else if constexpr (std::is_same_v<T, bool>)
          out += x ? "true" : "false";
        else if constexpr (std::is_same_v<T, double>) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%.17g", x);
          out += buf;
        } else
          out += std::to_string(x);
      },
      v);
}

constexpr std::string_view name_of(level lv) {
  switch (lv) {
  case level::info:
    return "info";
  case level::warn:
    return "warn";
  case level::error:
    return "error";
  }
  return "info";
}

} // namespace

std::string format(level lv, std::string_view component, std::string_view msg,
                   std::initializer_list<field> fields) {
  std::string out = R"({"level":")";
  out += name_of(lv);
  out += R"(","component":)";
  append_string(out, component);
  out += R"(,"msg":)";
  append_string(out, msg);
  for (const auto& [key, v] : fields) {
    out += ',';
    append_string(out, key);
    out += ':';
    append_value(out, v);
  }
  out += '}';
  return out;
}

void write(level lv, std::string_view component, std::string_view msg,
           std::initializer_list<field> fields) {
  auto line = format(lv, component, msg, fields);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace qx::log
