#pragma once

// The storage pool (datastore) aggregate: its type and settings, capacity, the nodes it is
// assigned (mounted) to, and the space its volumes take. Delete only when it holds none.
//
// Commands and their refusals (before create every command is NOT_FOUND, create twice is
// ALREADY_EXISTS, and a deleted pool refuses everything with reason DELETED):
//   create          type dir {path: absolute, no "." or ".." component}, nfs {server, export},
//                   ceph-rbd {monitors, pool}, iscsi {portal, target}; a missing or unknown
//                   key is INVALID_ARGUMENT naming "settings.<key>"; capacity_bytes > 0
//   assign          already assigned: no events
//   unassign        not assigned: NODE_NOT_ASSIGNED
//   add_volume      duplicate id: ALREADY_EXISTS; over capacity: RESOURCE_EXHAUSTED POOL_FULL
//   resize_volume   unknown id: NOT_FOUND (field volume_id); smaller: VOLUME_SHRINK_REFUSED;
//                   equal: no events; over capacity: POOL_FULL
//   remove_volume   unknown id: no events (the coordinator uses it to give space back)
//   remove          while it holds volumes: POOL_NOT_EMPTY

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/storage.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <map>
#include <string>
#include <variant>

namespace qx::domain::storage_pool {

using state = snapshots::v1::StoragePoolState;

/// type: dir {path}, nfs {server, export}, ceph-rbd {monitors, pool}, iscsi {portal, target}.
struct create {
  std::string name;
  std::string type;
  std::map<std::string, std::string> settings;
  std::uint64_t capacity_bytes = 0;
};
struct assign {
  std::string node_id;
};
struct unassign {
  std::string node_id;
};
/// Holds space for a volume (asked by the coordinator before the volume is created).
struct add_volume {
  std::string volume_id;
  std::uint64_t size_bytes = 0;
};
/// Grows a volume's hold to `size_bytes` (its new size).
struct resize_volume {
  std::string volume_id;
  std::uint64_t size_bytes = 0;
};
struct remove_volume {
  std::string volume_id;
};
struct remove {};

using command =
    std::variant<create, assign, unassign, add_volume, resize_volume, remove_volume, remove>;
using event = std::variant<events::v1::StoragePoolCreated, events::v1::StoragePoolAssigned,
                           events::v1::StoragePoolUnassigned, events::v1::StoragePoolVolumeAdded,
                           events::v1::StoragePoolVolumeResized,
                           events::v1::StoragePoolVolumeRemoved, events::v1::StoragePoolDeleted>;

inline constexpr const char* kind = "storage_pool";
inline constexpr const char* stream_prefix = "pool-";

[[nodiscard]] state initial(std::string_view id);
[[nodiscard]] decision<event> decide(const state& s, const command& c);
void evolve(state& s, const event& e);
[[nodiscard]] std::string_view name_of(const command& c);

/// The space the pool's volumes hold (never more than its capacity).
[[nodiscard]] std::uint64_t allocated_bytes(const state& s);

} // namespace qx::domain::storage_pool
