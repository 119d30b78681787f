#pragma once

// The scheduler: filters, then the least allocated node (spread) or the most allocated that
// fits (pack). Pure: the caller gathers the node and pool facts, this picks. Deterministic:
// ties go to the smaller node id. `in_flight` counts the reservations placement chose and the
// node states it read do not show yet, so that VMs placed together spread as if placed one by
// one.

#include <qx/base/error.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace qx::domain::placement {

/// What placement needs to know of one node.
struct node_view {
  std::string id;
  std::string state;               ///< connected, disconnected, maintenance, decommissioned
  double cpu_capacity = 0;         ///< threads x CPU overcommit ratio
  std::uint64_t cpu_allocated = 0; ///< vCPUs reserved
  double memory_capacity_mib = 0;  ///< memory x memory overcommit ratio
  std::uint64_t memory_allocated_mib = 0;
  std::set<std::string> pool_ids; ///< pools assigned to this node
  /// The VMs holding capacity here (the node's reservations, and those in flight): what the
  /// keep-apart and keep-together rules are checked against.
  std::set<std::string> vm_ids{};
};

/// The VMs a VM must not share a node with (keep-apart rules) and must share one with
/// (keep-together), each with its rule's name. Placement checks them against the nodes'
/// reservations, which the rules' own view of the log may not show yet.
struct peers {
  std::map<std::string, std::string> apart;    ///< VM id -> rule name
  std::map<std::string, std::string> together; ///< VM id -> rule name
};

struct request {
  std::string vm_id;
  std::uint32_t vcpus = 0;
  std::uint64_t memory_mib = 0;
  std::set<std::string> pool_ids; ///< pools of the VM's volumes: all must be on the node
  peers rules{};                  ///< keep-apart and keep-together peers
  /// Node -> rank from should-run-on rules (absent: 0): the highest rank that fits wins
  /// before the strategy is asked.
  std::map<std::string, std::int32_t> rank{};
};

/// Why a node was passed over, as a stable token.
struct rejection {
  std::string node_id;
  std::string reason; ///< NODE_NOT_CONNECTED, NODE_IN_MAINTENANCE, INSUFFICIENT_CPU,
                      ///< INSUFFICIENT_MEMORY, POOL_NOT_ASSIGNED, RULE_VIOLATION
  std::string rule{}; ///< RULE_VIOLATION: the rule's name
};

struct choice {
  std::string node_id;
  double load_after = 0; ///< the chosen node's max(cpu, memory) allocation ratio after placing
  std::vector<rejection> rejected;
};

/// Why `node` cannot take `req`, or an empty string when it can.
[[nodiscard]] std::string reject_reason(const node_view& node, const request& req);

/// Whether a VM of that size and pools fits `node` (reject_reason(...).empty() without building
/// a request or a reason: DRS asks this for every VM and host of a pass).
[[nodiscard]] bool fits(const node_view& node, std::uint32_t vcpus, std::uint64_t memory_mib,
                        const std::set<std::string>& pool_ids);
/// fits() less its state check, for a caller that checked the node's state once for many VMs
/// (DRS's balancing loop).
[[nodiscard]] bool has_room(const node_view& node, std::uint32_t vcpus, std::uint64_t memory_mib,
                            const std::set<std::string>& pool_ids);

/// How the node is picked among those that fit (a cluster setting).
enum class strategy {
  spread, ///< least allocated afterwards: even load (the default)
  pack,   ///< most allocated afterwards: fewer active hosts (consolidation)
};

/// "spread" or "pack"; nullopt for anything else.
[[nodiscard]] std::optional<strategy> strategy_named(std::string_view name);
[[nodiscard]] std::string_view name_of(strategy s);

/// The node that fits, keeps the peer rules, has the highest rank, and is least (spread) or
/// most (pack) allocated afterwards, by max(cpu, memory) ratio. When none: errc::
/// failed_precondition with reason RULE_VIOLATION and the rule's name if only rules refused,
/// else errc::resource_exhausted with reason NO_SUITABLE_NODE (each node's reason in the
/// details).
[[nodiscard]] result<choice> choose(const request& req, const std::vector<node_view>& nodes,
                                    strategy how = strategy::spread);

/// Reservations placement chose that the node states it reads may not show yet. A placement
/// reads node states (begin_read … end_read), adds what is in flight (add_to), chooses, and
/// holds its choice at once; the node's answer to the reservation settles the hold. A hold
/// counts for a read unless that read saw the node at or after the version the reservation
/// made; it is forgotten once failed, or once no read that began before it settled remains.
/// One instance per placing actor (not thread-safe).
class in_flight {
 public:
  using ticket = std::uint64_t;

  /// A placement starts reading node states: its read number.
  [[nodiscard]] std::uint64_t begin_read();
  /// That read is over (its choice held, or none made).
  void end_read(std::uint64_t read);
  /// `views` as read (each node's version in `versions`), plus the holds they do not show.
  void add_to(std::vector<node_view>& views,
              const std::map<std::string, std::uint64_t>& versions) const;
  /// Placement chose `node_id` for a VM of that size: counted by every later choice.
  [[nodiscard]] ticket hold(const std::string& node_id, const std::string& vm_id,
                            std::uint32_t vcpus, std::uint64_t memory_mib);
  /// The node answered the reservation: reserved at `node_version`, or refused (nullopt).
  void settled(ticket t, std::optional<std::uint64_t> node_version);
  /// Holds not yet forgotten (for tests and metrics).
  [[nodiscard]] std::size_t size() const { return holds_.size(); }

 private:
  struct held {
    std::string node_id;
    std::string vm_id;
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::optional<std::uint64_t> version; ///< the node's version once reserved
    std::uint64_t settled_at_read = 0;    ///< reads numbered below this began before it settled
  };
  void forget_settled();

  std::map<ticket, held> holds_;
  std::set<std::uint64_t> reading_; ///< reads begun and not ended
  std::uint64_t next_read_ = 1;
  ticket next_ticket_ = 1;
};

} // namespace qx::domain::placement
