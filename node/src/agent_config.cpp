#include "qx/node/agent_config.hpp"

#include "qx/base/mapping_keys.hpp"
#include "qx/base/utf8.hpp"
#include "qx/node/validate.hpp"
#include "qx/security/tls_identity.hpp"
#include "unique_fd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

namespace qx::node {

namespace {

qx::error io_failure(std::string message, int err) {
  return {errc::io_error,
          std::move(message) + ": " + std::strerror(err),
          {{"field", "file"}, {"errno", std::to_string(err)}}};
}

/// Adds a 1-based position to an error: to its details and, readable, to its message.
qx::error at_position(qx::error e, std::size_t line, std::size_t column) {
  e.message += " (line " + std::to_string(line) + ", column " + std::to_string(column) + ")";
  e.details["line"] = std::to_string(line);
  e.details["column"] = std::to_string(column);
  return e;
}

qx::error at_mark(qx::error e, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0)
    return e;
  return at_position(std::move(e), static_cast<std::size_t>(mark.line) + 1,
                     static_cast<std::size_t>(mark.column) + 1);
}

/// The 1-based line and column of byte `offset` of `text`.
qx::error at_offset(qx::error e, std::string_view text, std::size_t offset) {
  const auto before = text.substr(0, offset);
  const auto line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
  const auto last_newline = before.rfind('\n');
  const std::size_t column =
      last_newline == std::string_view::npos ? offset + 1 : offset - last_newline;
  e.details["byte"] = std::to_string(offset);
  return at_position(std::move(e), line, column);
}

// --- values ---------------------------------------------------------------------------------

bool dns_label_char(char ch) noexcept {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         ch == '-';
}

/// A DNS name (labels of [A-Za-z0-9-], 1..63, not starting or ending with '-'; 253 at most),
/// an IPv4 address (a name of digits only must be one), or an IPv6 address in brackets.
bool valid_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    const std::string inner{host.substr(1, host.size() - 2)};
    std::array<unsigned char, 16> addr{};
    return inet_pton(AF_INET6, inner.c_str(), addr.data()) == 1;
  }
  if (host.empty() || host.size() > 253)
    return false;
  bool digits_and_dots_only = true;
  std::size_t start = 0;
  while (true) {
    const auto dot = host.find('.', start);
    const auto label = host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::all_of(label.begin(), label.end(), dns_label_char))
      return false;
    digits_and_dots_only =
        digits_and_dots_only &&
        std::all_of(label.begin(), label.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  if (digits_and_dots_only) {
    const std::string text{host};
    std::array<unsigned char, 4> addr{};
    return inet_pton(AF_INET, text.c_str(), addr.data()) == 1;
  }
  return true;
}

bool valid_port(std::string_view port) noexcept {
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return false;
  unsigned value = 0;
  std::from_chars(port.data(), port.data() + port.size(), value);
  return value >= 1 && value <= 65535;
}

/// "host:port" or "[v6]:port"; with `port_optional`, "host" or "[v6]" too.
bool valid_host_port(std::string_view text, bool port_optional) {
  std::string_view host = text;
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos)
      return false;
    host = text.substr(0, close + 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return false;
      port = rest.substr(1);
      has_port = true;
    }
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    has_port = true;
  }
  if (!has_port && !port_optional)
    return false;
  return valid_host(host) && (!has_port || valid_port(port));
}

status validate_control_plane_address(std::string_view address) {
  const auto bad = [] {
    return invalid_field(
        "control_plane_address",
        "control_plane_address must be http://host[:port] or https://host[:port] (no "
        "path, no user info)");
  };
  std::string_view rest;
  if (address.starts_with("http://"))
    rest = address.substr(7);
  else if (address.starts_with("https://"))
    rest = address.substr(8);
  else
    return bad();
  if (rest.find_first_of("/?#@\\") != std::string_view::npos || !valid_host_port(rest, true))
    return bad();
  return {};
}

status validate_agent_key(std::string_view key) {
  constexpr std::size_t max_key_bytes = 512;
  if (key.size() > max_key_bytes ||
      !std::all_of(key.begin(), key.end(), [](char ch) { return ch > 0x20 && ch < 0x7F; }))
    return invalid_field("agent_key",
                         "agent_key must be 1 to 512 printable ASCII characters without spaces");
  return {};
}

/// The keys in file order, and how each is read from and written to the struct.
struct key_binding {
  std::string_view name;
  std::string agent_config::*member;
};
constexpr std::array<key_binding, 8> bindings{{
    {"node_id", &agent_config::node_id},
    {"control_plane_address", &agent_config::control_plane_address},
    {"agent_key", &agent_config::agent_key},
    {"control_plane_cert_pin", &agent_config::control_plane_cert_pin},
    {"cluster_id", &agent_config::cluster_id},
    {"listen", &agent_config::listen},
    {"libvirt_uri", &agent_config::libvirt_uri},
    {"pools_root", &agent_config::pools_root},
}};

// --- the file -------------------------------------------------------------------------------

/// The bytes of `path`, nullopt-like `found = false` when it does not exist.
struct file_text {
  bool found = false;
  std::string text;
};

result<file_text> read_config_file(const std::string& path) {
  // O_NONBLOCK: a FIFO put in the file's place must not hang the agent at start.
  const unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
  if (!fd.valid()) {
    if (errno == ENOENT)
      return file_text{};
    return io_failure("cannot open " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return io_failure("cannot stat " + path, errno);
  if (!S_ISREG(st.st_mode))
    return invalid_field("file", path + " is not a regular file");
  const auto too_large = [&] {
    return qx::error{errc::too_large,
                     path + " is larger than " + std::to_string(max_agent_config_bytes) + " bytes",
                     {{"field", "file"}, {"limit", std::to_string(max_agent_config_bytes)}}};
  };
  if (static_cast<std::uint64_t>(st.st_size) > max_agent_config_bytes)
    return too_large();
  // Read one byte beyond the limit: a file that grew since fstat is refused, not cut.
  file_text out{true, std::string(max_agent_config_bytes + 1, '\0')};
  std::size_t used = 0;
  while (used < out.text.size()) {
    const auto n = ::read(fd.get(), out.text.data() + used, out.text.size() - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_failure("cannot read " + path, errno);
    if (n == 0)
      break;
    used += static_cast<std::size_t>(n);
  }
  if (used > max_agent_config_bytes)
    return too_large();
  out.text.resize(used);
  return out;
}

status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_failure("cannot write the config", errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

result<agent_config> parse(std::string_view text) {
  if (const auto nul = text.find('\0'); nul != std::string_view::npos)
    return at_offset(invalid_field("file", "the config holds a NUL byte"), text, nul);
  if (const auto bad = invalid_utf8_at(text))
    return at_offset(invalid_field("file", "the config is not valid UTF-8"), text, *bad);
  agent_config c;
  std::map<std::string, YAML::Mark, std::less<>> marks;
  try {
    const auto documents = YAML::LoadAll(std::string{text});
    if (documents.size() > 1)
      return invalid_field("file", "the config holds more than one YAML document");
    if (documents.empty() || documents.front().IsNull())
      return c; // empty, or comments only: the defaults
    const auto& root = documents.front();
    if (!root.IsMap())
      return at_mark(invalid_field("file", "the config must be a mapping of keys to values"),
                     root.Mark());
    key_set seen{
        "node_id", "control_plane_address", "agent_key", "control_plane_cert_pin", "cluster_id",
        "listen",  "libvirt_uri",           "pools_root"};
    for (const auto& kv : root) {
      if (!kv.first.IsScalar())
        return at_mark(invalid_field("file", "keys must be plain names"), kv.first.Mark());
      const auto& key = kv.first.Scalar();
      if (auto why = seen.add(key))
        return at_mark(invalid_field(key, key + ": " + *why), kv.first.Mark());
      marks.emplace(key, kv.first.Mark());
      if (kv.second.IsNull())
        continue; // `key:` alone keeps the default
      if (!kv.second.IsScalar())
        return at_mark(invalid_field(key, key + " must be a single value"), kv.first.Mark());
      const auto* binding = std::find_if(bindings.begin(), bindings.end(),
                                         [&](const key_binding& b) { return b.name == key; });
      c.*(binding->member) = kv.second.Scalar();
    }
  } catch (const YAML::Exception& e) {
    return at_mark(invalid_field("file", "the config is not valid YAML: " + e.msg), e.mark);
  } catch (const std::exception& e) { // allocation failures; nothing leaves this file
    return invalid_field("file", std::string{"the config cannot be read: "} + e.what());
  }
  if (auto ok = validate(c); !ok) {
    auto e = std::move(ok).error();
    const auto it = marks.find(e.details["field"]);
    return it == marks.end() ? std::move(e) : at_mark(std::move(e), it->second);
  }
  return c;
}

} // namespace

status validate(const agent_config& c) {
  for (const auto& b : bindings) {
    const std::string& value = c.*(b.member);
    const std::string field{b.name};
    if (value.size() > max_agent_config_value_bytes)
      return invalid_field(field, field + " is longer than " +
                                      std::to_string(max_agent_config_value_bytes) + " bytes");
    if (value.find('\0') != std::string::npos)
      return invalid_field(field, field + " holds a NUL byte");
    if (invalid_utf8_at(value))
      return invalid_field(field, field + " is not valid UTF-8");
  }
  const bool has_id = !c.node_id.empty();
  const bool has_address = !c.control_plane_address.empty();
  const bool has_key = !c.agent_key.empty();
  if (has_id || has_address || has_key) {
    const char* missing = !has_id        ? "node_id"
                          : !has_address ? "control_plane_address"
                          : !has_key     ? "agent_key"
                                         : nullptr;
    if (missing != nullptr)
      return invalid_field(missing,
                           std::string{"node_id, control_plane_address and agent_key are set "
                                       "together or not at all; "} +
                               missing + " is missing");
  }
  if (has_id)
    if (auto ok = validate_name("node_id", c.node_id); !ok)
      return ok;
  if (has_address)
    if (auto ok = validate_control_plane_address(c.control_plane_address); !ok)
      return ok;
  if (has_key)
    if (auto ok = validate_agent_key(c.agent_key); !ok)
      return ok;
  if (!c.control_plane_cert_pin.empty()) {
    if (!security::is_cert_pin(c.control_plane_cert_pin))
      return invalid_field("control_plane_cert_pin",
                           "control_plane_cert_pin must be sha256: and 64 lower-case hex digits");
    if (!c.control_plane_address.starts_with("https://"))
      return invalid_field("control_plane_cert_pin",
                           "control_plane_cert_pin needs an https:// control_plane_address");
  }
  if (!c.cluster_id.empty())
    if (auto ok = validate_name("cluster_id", c.cluster_id); !ok)
      return ok;
  if (!valid_host_port(c.listen, false))
    return invalid_field("listen", "listen must be host:port with a port from 1 to 65535 (an IPv6 "
                                   "host in brackets)");
  if (c.libvirt_uri.empty())
    return invalid_field("libvirt_uri", "libvirt_uri must not be empty");
  if (!c.pools_root.empty() && c.pools_root.front() != '/')
    return invalid_field("pools_root", "pools_root must be an absolute path");
  return {};
}

result<agent_config> load_agent_config(const std::string& path) {
  auto file = read_config_file(path);
  if (!file)
    return std::move(file).error();
  if (!file->found)
    return agent_config{};
  auto parsed = parse(file->text);
  if (!parsed) {
    auto e = std::move(parsed).error();
    e.message = path + ": " + e.message;
    return e;
  }
  return parsed;
}

status save_agent_config(const std::string& path, const agent_config& c) {
  if (auto ok = validate(c); !ok)
    return ok;
  YAML::Emitter out;
  out.SetOutputCharset(YAML::EmitNonAscii); // UTF-8 as it is, not \u escapes
  out << YAML::Comment("qx-node agent configuration, written by qx-node. It holds a secret: "
                       "keep it mode 0600.");
  out << YAML::BeginMap;
  for (const auto& b : bindings)
    out << YAML::Key << std::string{b.name} << YAML::Value << YAML::DoubleQuoted << c.*(b.member);
  out << YAML::EndMap;
  if (!out.good())
    return invalid_field("file", "the config cannot be written as YAML: " + out.GetLastError());
  std::string text = out.c_str();
  text += '\n';

  const std::string tmp = path + ".tmp";
  // A leftover tmp (a crash mid-save) may have another owner or mode: start afresh.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    return io_failure("cannot remove " + tmp, errno);
  unique_fd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (!fd.valid())
    return io_failure("cannot create " + tmp, errno);
  const auto fail = [&](qx::error e) {
    ::unlink(tmp.c_str());
    return e;
  };
  if (::fchmod(fd.get(), 0600) != 0) // the umask may only take bits away; make it exact
    return fail(io_failure("cannot set the mode of " + tmp, errno));
  if (auto ok = write_all(fd.get(), text); !ok)
    return fail(std::move(ok).error());
  if (::fsync(fd.get()) != 0)
    return fail(io_failure("cannot sync " + tmp, errno));
  if (const int err = fd.close_now(); err != 0)
    return fail(io_failure("cannot close " + tmp, err));
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail(io_failure("cannot rename " + tmp + " to " + path, errno));
  auto folder = std::filesystem::path{path}.parent_path();
  if (folder.empty())
    folder = ".";
  const unique_fd dir{::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!dir.valid())
    return io_failure("cannot open " + folder.string() + " to sync it", errno);
  if (::fsync(dir.get()) != 0)
    return io_failure("cannot sync " + folder.string(), errno);
  return {};
}

bool is_member(const agent_config& c) noexcept {
  return !c.node_id.empty() && !c.control_plane_address.empty() && !c.agent_key.empty();
}

} // namespace qx::node
