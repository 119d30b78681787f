#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

/// Plain value types that cross the hypervisor interface. No libvirt type appears here, so the
/// control plane and the simulator can use them without libvirt's headers.
namespace qx::node {

/// What the hypervisor host reports about itself (libvirt's virNodeGetInfo and friends).
struct host_info {
  std::string hostname;
  /// CPU model as libvirt reports it ("x86_64", or the CPU's name on real hosts).
  std::string cpu_model;
  /// Logical CPUs usable by guests.
  std::uint32_t cpus = 0;
  std::uint32_t mhz = 0;
  std::uint32_t numa_nodes = 0;
  /// Sockets per NUMA node, cores per socket, threads per core (libvirt's meaning).
  std::uint32_t sockets = 0;
  std::uint32_t cores = 0;
  std::uint32_t threads = 0;
  std::uint64_t memory_mib = 0;
  /// Version of the libvirt library, "major.minor.release".
  std::string libvirt_version;
  /// Driver name as libvirt reports it: "QEMU" in production, "TEST" with the test driver.
  std::string hypervisor_type;
  /// Version of the hypervisor itself, "major.minor.release".
  std::string hypervisor_version;
};

/// On-disk format of a disk image or a volume.
enum class disk_format : std::uint8_t { raw, qcow2 };

/// "raw" or "qcow2".
[[nodiscard]] std::string_view to_string(disk_format f) noexcept;

/// One disk of a domain: a file (usually a volume's path) seen by the guest as `target_dev`.
struct disk_spec {
  /// Absolute path of the image file.
  std::string path;
  disk_format format = disk_format::qcow2;
  /// Guest device name: "vd?" (virtio), "sd?" (SATA) or "hd?" (IDE). Default "vda".
  std::string target_dev = "vda";
};

/// One network interface of a domain, attached to a libvirt network.
struct nic_spec {
  /// Name of the libvirt network.
  std::string network;
  /// Unicast MAC "52:54:00:xx:xx:xx"; empty lets libvirt choose one. Default empty.
  std::string mac;
};

/// A device the firmware may boot from.
enum class boot_device : std::uint8_t { hd, cdrom, network, fd };

/// "hd", "cdrom", "network" or "fd" (libvirt's names).
[[nodiscard]] std::string_view to_string(boot_device d) noexcept;

/// What a domain (VM) is made of. `id` is libvirt's domain name, the key of everything else.
struct domain_spec {
  /// [A-Za-z0-9._-]{1,64}, not starting with '.' or '-'.
  std::string id;
  /// Human name, any single-line text XML 1.0 can carry (no newline, no control character).
  /// Empty means no title. Default empty.
  std::string title;
  /// Virtual CPUs, 1..4096. Default 1.
  std::uint32_t vcpus = 1;
  /// Memory in MiB, at least 1. Default 512.
  std::uint64_t memory_mib = 512;
  std::vector<disk_spec> disks;
  std::vector<nic_spec> nics;
  /// Boot order, first tried first. Default: hard disk only.
  std::vector<boot_device> boot_order = {boot_device::hd};
};

/// A domain's power state, as libvirt's virDomainState.
enum class domain_state : std::uint8_t {
  no_state,
  running,
  blocked,
  paused,
  shutting_down,
  shutoff,
  crashed,
  pm_suspended,
};

/// Stable lower-case names: "nostate", "running", "blocked", "paused", "shutdown" (shutting
/// down), "shutoff", "crashed", "pmsuspended".
[[nodiscard]] std::string_view to_string(domain_state s) noexcept;

/// A state and why the domain is in it (libvirt's reason, lower case: "booted", "user",
/// "destroyed", "shutdown", "from_snapshot", ...; "unknown" when libvirt gives none).
struct domain_status {
  domain_state state = domain_state::no_state;
  std::string reason;
};

/// Counters of a domain (libvirt's virDomainGetInfo).
struct domain_stats {
  domain_state state = domain_state::no_state;
  /// CPU time used, in nanoseconds. The test driver derives it from the wall clock.
  std::uint64_t cpu_time_ns = 0;
  /// Memory in use and the maximum, in KiB.
  std::uint64_t memory_kib = 0;
  std::uint64_t max_memory_kib = 0;
  std::uint32_t vcpus = 0;
};

/// One line of a domain listing.
struct domain_summary {
  std::string id;
  std::string title;
  std::string uuid;
  domain_status status;
  /// Running or paused (has a live instance).
  bool active = false;
  /// Has a persistent definition (survives a stop).
  bool persistent = false;
};

/// What to remove along with a domain's definition (libvirt's virDomainUndefineFlags).
struct undefine_options {
  /// Also drop the snapshots' metadata; without it a domain with snapshots is refused.
  /// Default false.
  bool snapshots_metadata = false;
  /// Also drop a managed save image. Default false.
  bool managed_save = false;
};

/// How to migrate (libvirt's virDomainMigrateFlags). The source host's libvirt talks to the
/// destination's directly (peer to peer), so the agent needs no second connection.
struct migrate_options {
  /// Keep the guest running during the copy. Default true.
  bool live = true;
  /// Make the domain persistent on the destination. Default true.
  bool persist_destination = true;
  /// Drop the definition on the source when done. Default true.
  bool undefine_source = true;
};

/// A snapshot to create.
struct snapshot_spec {
  /// Same rule as a domain id.
  std::string name;
  /// Free text; newlines allowed, control characters not. Default empty.
  std::string description;
};

/// A snapshot as libvirt describes it.
struct snapshot_info {
  std::string name;
  std::string description;
  /// Name of the parent snapshot, empty for a root.
  std::string parent;
  /// Domain state when the snapshot was taken, as libvirt writes it ("running", "shutoff").
  std::string state;
  /// Seconds since the epoch.
  std::int64_t creation_time = 0;
  /// The snapshot the domain currently descends from.
  bool current = false;
};

/// A directory storage pool: a folder of image files on the host.
struct pool_spec {
  /// Same rule as a domain id.
  std::string name;
  /// Absolute path of the folder.
  std::string target_path;
};

/// A storage pool as libvirt reports it.
struct pool_info {
  std::string name;
  std::string target_path;
  /// "inactive", "building", "running", "degraded" or "inaccessible".
  std::string state;
  bool active = false;
  bool persistent = false;
  std::uint64_t capacity_bytes = 0;
  std::uint64_t allocation_bytes = 0;
  std::uint64_t available_bytes = 0;
};

/// A volume to create in a pool.
struct volume_spec {
  /// Same rule as a domain id ("disk-1.qcow2").
  std::string name;
  /// Size seen by the guest, in bytes, at least 1.
  std::uint64_t capacity_bytes = 0;
  disk_format format = disk_format::qcow2;
};

/// A volume as libvirt reports it.
struct volume_info {
  std::string name;
  /// Absolute path of the image: what a disk_spec points at.
  std::string path;
  /// As libvirt writes it ("raw", "qcow2", ...); empty when libvirt does not say.
  std::string format;
  std::uint64_t capacity_bytes = 0;
  std::uint64_t allocation_bytes = 0;
};

/// How a virtual network reaches the outside.
enum class network_mode : std::uint8_t {
  /// Guests reach out through the host's routes, masqueraded.
  nat,
  /// Guests reach each other and the host only.
  isolated,
  /// Any other forward mode libvirt knows (route, open, bridge, ...): reported by
  /// list_networks for networks defined elsewhere, refused by define_network.
  other,
};

/// "nat", "isolated" or "other".
[[nodiscard]] std::string_view to_string(network_mode m) noexcept;

/// A bridged virtual network with an IPv4 subnet.
struct network_spec {
  /// Same rule as a domain id.
  std::string name;
  /// Linux bridge name, [A-Za-z0-9_.-]{1,15}.
  std::string bridge;
  network_mode mode = network_mode::nat;
  /// The host's address on the bridge and the prefix length, "10.0.0.1/24".
  std::string cidr;
  /// First and last address handed out by DHCP, inside the subnet; both empty: no DHCP.
  std::string dhcp_start;
  std::string dhcp_end;
};

/// A network as libvirt reports it.
struct network_info {
  std::string name;
  std::string bridge;
  network_mode mode = network_mode::isolated;
  /// "address/prefix" of the first IPv4 address, empty if none.
  std::string cidr;
  std::string dhcp_start;
  std::string dhcp_end;
  bool active = false;
  bool persistent = false;
};

/// What happened to a domain (libvirt's lifecycle event types).
enum class domain_event_type : std::uint8_t {
  defined,
  undefined,
  started,
  suspended,
  resumed,
  stopped,
  shutdown,
  pm_suspended,
  crashed,
  /// A type this code does not know (a newer libvirt).
  unknown,
};

/// Stable lower-case names: "defined", "undefined", "started", "suspended", "resumed",
/// "stopped", "shutdown", "pmsuspended", "crashed", "unknown".
[[nodiscard]] std::string_view to_string(domain_event_type t) noexcept;

/// One lifecycle event of one domain.
struct domain_event {
  std::string domain_id;
  domain_event_type type = domain_event_type::unknown;
  /// libvirt's detail in lower case: for `stopped` "shutdown", "destroyed", "crashed",
  /// "migrated", "saved", "failed", "from_snapshot"; for `started` "booted", "migrated",
  /// "restored", "from_snapshot", "wakeup"; and so on. "unknown" when not known.
  std::string detail;
};

} // namespace qx::node
