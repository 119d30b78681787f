#pragma once

// The image aggregate: an uploaded disk or ISO. uploading (with progress) -> ready | error.
//
// Commands and their refusals (before create every command is NOT_FOUND, create twice is
// ALREADY_EXISTS, and a deleted image refuses everything with reason DELETED):
//   create    format raw|qcow2|iso, size 1 byte..1 TiB; starts uploading
//   progress  only while uploading (IMAGE_NOT_UPLOADING); more than the size: INVALID_ARGUMENT;
//             less than before: PROGRESS_BACKWARDS; the same: no events
//   complete  only while uploading; sha256 64 lower-case hex digits; received != size:
//             UPLOAD_INCOMPLETE; -> ready
//   fail      only while uploading; -> error
//   remove    in any state

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/network.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <string>
#include <variant>

namespace qx::domain::image {

namespace phase {
inline constexpr const char* uploading = "uploading";
inline constexpr const char* ready = "ready";
inline constexpr const char* in_error = "error";
} // namespace phase

using state = snapshots::v1::ImageState;

struct create {
  std::string name;
  std::string format; ///< raw, qcow2, iso
  std::uint64_t size_bytes = 0;
};
struct progress {
  std::uint64_t received_bytes = 0;
};
struct complete {
  std::string sha256; ///< 64 lower-case hex digits
};
struct fail {
  std::string reason;
};
struct remove {};

using command = std::variant<create, progress, complete, fail, remove>;
using event =
    std::variant<events::v1::ImageCreated, events::v1::ImageUploadProgressed,
                 events::v1::ImageReady, events::v1::ImageFailed, events::v1::ImageDeleted>;

inline constexpr const char* kind = "image";
inline constexpr const char* stream_prefix = "image-";
inline constexpr std::uint64_t max_size = std::uint64_t{1} << 40U; // 1 TiB

[[nodiscard]] state initial(std::string_view id);
[[nodiscard]] decision<event> decide(const state& s, const command& c);
void evolve(state& s, const event& e);
[[nodiscard]] std::string_view name_of(const command& c);

} // namespace qx::domain::image
