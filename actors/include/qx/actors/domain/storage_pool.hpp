#pragma once

// The storage pool (datastore) aggregate: its type and settings, capacity, the nodes it is
// assigned (mounted) to, and the space its volumes take. Delete only when it holds none.

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

[[nodiscard]] std::uint64_t allocated_bytes(const state& s);

} // namespace qx::domain::storage_pool
