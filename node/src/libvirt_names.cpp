#include "libvirt_names.hpp"

#include <libvirt/libvirt.h>

#include <array>
#include <span>

namespace qx::node::detail {

namespace {

constexpr std::string_view unknown = "unknown";

// Index = libvirt's enum value; the order follows libvirt-domain.h.
constexpr std::array<std::string_view, 12> running_reasons{
    "unknown",       "booted",   "migrated",           "restored",
    "from_snapshot", "unpaused", "migration_canceled", "save_canceled",
    "wakeup",        "crashed",  "postcopy",           "postcopy_failed"};
constexpr std::array<std::string_view, 14> paused_reasons{
    "unknown", "user",        "migration",     "save",           "dump",
    "ioerror", "watchdog",    "from_snapshot", "shutting_down",  "snapshot",
    "crashed", "starting_up", "postcopy",      "postcopy_failed"};
constexpr std::array<std::string_view, 2> shutdown_reasons{"unknown", "user"};
constexpr std::array<std::string_view, 9> shutoff_reasons{"unknown", "shutdown",      "destroyed",
                                                          "crashed", "migrated",      "saved",
                                                          "failed",  "from_snapshot", "daemon"};
constexpr std::array<std::string_view, 2> crashed_reasons{"unknown", "panicked"};

constexpr std::array<std::string_view, 4> defined_details{"added", "updated", "renamed",
                                                          "from_snapshot"};
constexpr std::array<std::string_view, 2> undefined_details{"removed", "renamed"};
constexpr std::array<std::string_view, 5> started_details{"booted", "migrated", "restored",
                                                          "from_snapshot", "wakeup"};
constexpr std::array<std::string_view, 9> suspended_details{
    "paused",        "migrated",  "ioerror",  "watchdog",       "restored",
    "from_snapshot", "api_error", "postcopy", "postcopy_failed"};
constexpr std::array<std::string_view, 5> resumed_details{"unpaused", "migrated", "from_snapshot",
                                                          "postcopy", "postcopy_failed"};
constexpr std::array<std::string_view, 7> stopped_details{
    "shutdown", "destroyed", "crashed", "migrated", "saved", "failed", "from_snapshot"};
constexpr std::array<std::string_view, 3> shutdown_details{"finished", "guest", "host"};
constexpr std::array<std::string_view, 2> pmsuspended_details{"memory", "disk"};
constexpr std::array<std::string_view, 2> crashed_details{"panicked", "crashloaded"};

constexpr std::array<std::string_view, 5> pool_states{"inactive", "building", "running", "degraded",
                                                      "inaccessible"};

std::string_view pick(std::span<const std::string_view> names, int index) noexcept {
  if (index < 0 || static_cast<std::size_t>(index) >= names.size())
    return unknown;
  return names[static_cast<std::size_t>(index)];
}

} // namespace

domain_state state_from_libvirt(int state) noexcept {
  switch (state) {
  case VIR_DOMAIN_RUNNING:
    return domain_state::running;
  case VIR_DOMAIN_BLOCKED:
    return domain_state::blocked;
  case VIR_DOMAIN_PAUSED:
    return domain_state::paused;
  case VIR_DOMAIN_SHUTDOWN:
    return domain_state::shutting_down;
  case VIR_DOMAIN_SHUTOFF:
    return domain_state::shutoff;
  case VIR_DOMAIN_CRASHED:
    return domain_state::crashed;
  case VIR_DOMAIN_PMSUSPENDED:
    return domain_state::pm_suspended;
  default:
    return domain_state::no_state;
  }
}

std::string_view reason_name(int state, int reason) noexcept {
  switch (state) {
  case VIR_DOMAIN_RUNNING:
    return pick(running_reasons, reason);
  case VIR_DOMAIN_PAUSED:
    return pick(paused_reasons, reason);
  case VIR_DOMAIN_SHUTDOWN:
    return pick(shutdown_reasons, reason);
  case VIR_DOMAIN_SHUTOFF:
    return pick(shutoff_reasons, reason);
  case VIR_DOMAIN_CRASHED:
    return pick(crashed_reasons, reason);
  default:
    return unknown;
  }
}

domain_event_type event_type_from_libvirt(int event) noexcept {
  switch (event) {
  case VIR_DOMAIN_EVENT_DEFINED:
    return domain_event_type::defined;
  case VIR_DOMAIN_EVENT_UNDEFINED:
    return domain_event_type::undefined;
  case VIR_DOMAIN_EVENT_STARTED:
    return domain_event_type::started;
  case VIR_DOMAIN_EVENT_SUSPENDED:
    return domain_event_type::suspended;
  case VIR_DOMAIN_EVENT_RESUMED:
    return domain_event_type::resumed;
  case VIR_DOMAIN_EVENT_STOPPED:
    return domain_event_type::stopped;
  case VIR_DOMAIN_EVENT_SHUTDOWN:
    return domain_event_type::shutdown;
  case VIR_DOMAIN_EVENT_PMSUSPENDED:
    return domain_event_type::pm_suspended;
  case VIR_DOMAIN_EVENT_CRASHED:
    return domain_event_type::crashed;
  default:
    return domain_event_type::unknown;
  }
}

std::string_view event_detail_name(int event, int detail) noexcept {
  switch (event) {
  case VIR_DOMAIN_EVENT_DEFINED:
    return pick(defined_details, detail);
  case VIR_DOMAIN_EVENT_UNDEFINED:
    return pick(undefined_details, detail);
  case VIR_DOMAIN_EVENT_STARTED:
    return pick(started_details, detail);
  case VIR_DOMAIN_EVENT_SUSPENDED:
    return pick(suspended_details, detail);
  case VIR_DOMAIN_EVENT_RESUMED:
    return pick(resumed_details, detail);
  case VIR_DOMAIN_EVENT_STOPPED:
    return pick(stopped_details, detail);
  case VIR_DOMAIN_EVENT_SHUTDOWN:
    return pick(shutdown_details, detail);
  case VIR_DOMAIN_EVENT_PMSUSPENDED:
    return pick(pmsuspended_details, detail);
  case VIR_DOMAIN_EVENT_CRASHED:
    return pick(crashed_details, detail);
  default:
    return unknown;
  }
}

std::string_view pool_state_name(int state) noexcept {
  return pick(pool_states, state);
}

} // namespace qx::node::detail
