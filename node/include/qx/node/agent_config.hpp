#pragma once

#include "qx/base/error.hpp"

#include <cstddef>
#include <string>

/// The node agent's own configuration file (YAML), written by the agent when it registers
/// with a control plane and read at start.
///
/// ```yaml
/// node_id: "n1"
/// control_plane_address: "https://cp.example:8080"
/// agent_key: "…"
/// control_plane_cert_pin: "sha256:…"
/// cluster_id: ""
/// listen: "127.0.0.1:8443"
/// libvirt_uri: "qemu:///system"
/// pools_root: "/srv/pools"
/// ```
namespace qx::node {

/// What the agent keeps across restarts. A standalone node (never registered) has node_id,
/// control_plane_address and agent_key all empty; a member has all three.
struct agent_config {
  /// The node's id at the control plane ([A-Za-z0-9._-]{1,64}, not starting with '.' or '-');
  /// "" while standalone.
  std::string node_id;
  /// Where the control plane listens: "http://host[:port]" or "https://host[:port]" (no path,
  /// no user info), e.g. "http://127.0.0.1:8080"; "" while standalone.
  std::string control_plane_address;
  /// The secret the control plane gave at registration (1..512 printable ASCII characters, no
  /// space); "" while standalone. The file is written with mode 0600 because of it.
  std::string agent_key;
  /// With an https:// control plane: the public-key pin of its certificate ("sha256:" + 64
  /// lower-case hex digits, given at join as `kubeadm join --discovery-token-ca-cert-hash`
  /// is). The agent then accepts exactly that key instead of checking CAs and the host name.
  /// Optional ("" = check the certificate against the system's CAs); never with http://.
  std::string control_plane_cert_pin;
  /// The cluster the node belongs to, an id as node_id; optional ("" = none).
  std::string cluster_id;
  /// Where the host API listens, "host:port" with port 1..65535 (an IPv6 host in brackets).
  /// Default "127.0.0.1:8443". Read at start: a change needs a restart.
  std::string listen = "127.0.0.1:8443";
  /// The libvirt connection. Default "qemu:///system". Read at start: a change needs a restart.
  std::string libvirt_uri = "qemu:///system";
  /// An absolute folder under which storage pools live; optional ("" = none).
  std::string pools_root;

  friend bool operator==(const agent_config&, const agent_config&) = default;
};

/// Largest config file read (errc::too_large above).
inline constexpr std::size_t max_agent_config_bytes = std::size_t{64} * 1024;
/// Longest value of any one key.
inline constexpr std::size_t max_agent_config_value_bytes = 4096;

/// Checks the values (not the file): node_id and cluster_id are ids, control_plane_address an
/// http(s) origin, listen a host:port, agent_key printable ASCII, pools_root absolute, no value
/// holds NUL or invalid UTF-8 or is longer than max_agent_config_value_bytes, and node_id,
/// control_plane_address and agent_key are set together or not at all. A failure is
/// errc::invalid_argument with details["field"] = the key at fault.
[[nodiscard]] status validate(const agent_config& c);

/// Reads the config at `path`; a file that does not exist answers the defaults (a standalone
/// node). A key set to null (`listen:` or `listen: ~`) keeps its default.
///
/// Refused with errc::invalid_argument and details["field"] = the key at fault, or "file" for
/// the file as a whole (with details["line"] / ["column"], 1-based, where they are known, and
/// the same in the message): YAML syntax errors, more than one document, a top level that is
/// not a mapping, keys that are not plain names, unknown keys, a key twice, values that are
/// not single scalars, invalid UTF-8, NUL bytes, and everything validate() refuses. A file
/// over max_agent_config_bytes is errc::too_large; one that cannot be read, errc::io_error.
[[nodiscard]] result<agent_config> load_agent_config(const std::string& path);

/// Writes `c` (after validate()) to `path` atomically and durably: `path.tmp` is written with
/// mode 0600 (the file holds a secret), synced, renamed over `path`, and the folder is synced.
/// After a crash the file holds either the old or the new config, never a mix. Values are
/// written by yaml-cpp's emitter, double-quoted, so any text reads back as it was.
[[nodiscard]] status save_agent_config(const std::string& path, const agent_config& c);

/// Whether the node has registered: node_id, control_plane_address and agent_key all set.
[[nodiscard]] bool is_member(const agent_config& c) noexcept;

} // namespace qx::node
