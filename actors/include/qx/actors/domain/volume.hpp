#pragma once

// The volume (virtual disk) aggregate: pool, size (grow only), format, and the VMs it is
// attached to (one at a time unless shareable). Delete only when detached. The space on the
// pool is held by the coordinator (storage_pool::add_volume) before the volume is created; the
// volume only knows its pool's id.
//
// Commands and their refusals (before create every command is NOT_FOUND, create twice is
// ALREADY_EXISTS, and a deleted volume refuses everything with reason DELETED):
//   create   size 1 MiB..64 TiB, format raw|qcow2
//   resize   smaller: VOLUME_SHRINK_REFUSED; equal: no events; above 64 TiB: INVALID_ARGUMENT
//   attach   attached to that VM already: no events; attached elsewhere and not shareable:
//            VOLUME_IN_USE
//   detach   not attached to that VM: VOLUME_NOT_ATTACHED
//   remove   while attached: VOLUME_ATTACHED

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/storage.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <string>
#include <variant>

namespace qx::domain::volume {

using state = snapshots::v1::VolumeState;

struct create {
  std::string name;
  std::string pool_id;
  std::uint64_t size_bytes = 0;
  std::string format = "qcow2"; ///< raw or qcow2
  bool shareable = false;
};
/// Grows the volume to `size_bytes` (its new size).
struct resize {
  std::uint64_t size_bytes = 0;
};
struct attach {
  std::string vm_id;
};
struct detach {
  std::string vm_id;
};
struct remove {};

using command = std::variant<create, resize, attach, detach, remove>;
using event =
    std::variant<events::v1::VolumeCreated, events::v1::VolumeResized, events::v1::VolumeAttached,
                 events::v1::VolumeDetached, events::v1::VolumeDeleted>;

inline constexpr const char* kind = "volume";
inline constexpr const char* stream_prefix = "volume-";
inline constexpr std::uint64_t min_size = std::uint64_t{1} << 20U;  // 1 MiB
inline constexpr std::uint64_t max_size = std::uint64_t{64} << 40U; // 64 TiB

[[nodiscard]] state initial(std::string_view id);
[[nodiscard]] decision<event> decide(const state& s, const command& c);
void evolve(state& s, const event& e);
[[nodiscard]] std::string_view name_of(const command& c);

} // namespace qx::domain::volume
