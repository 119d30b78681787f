#include "qx/node/types.hpp"

namespace qx::node {

std::string_view to_string(disk_format f) noexcept {
  switch (f) {
  case disk_format::raw:
    return "raw";
  case disk_format::qcow2:
    return "qcow2";
  }
  return "unknown";
}

std::string_view to_string(boot_device d) noexcept {
  switch (d) {
  case boot_device::hd:
    return "hd";
  case boot_device::cdrom:
    return "cdrom";
  case boot_device::network:
    return "network";
  case boot_device::fd:
    return "fd";
  }
  return "unknown";
}

std::string_view to_string(domain_state s) noexcept {
  switch (s) {
  case domain_state::no_state:
    return "nostate";
  case domain_state::running:
    return "running";
  case domain_state::blocked:
    return "blocked";
  case domain_state::paused:
    return "paused";
  case domain_state::shutting_down:
    return "shutdown";
  case domain_state::shutoff:
    return "shutoff";
  case domain_state::crashed:
    return "crashed";
  case domain_state::pm_suspended:
    return "pmsuspended";
  }
  return "unknown";
}

std::string_view to_string(network_mode m) noexcept {
  switch (m) {
  case network_mode::nat:
    return "nat";
  case network_mode::isolated:
    return "isolated";
  case network_mode::other:
    return "other";
  }
  return "unknown";
}

std::string_view to_string(domain_event_type t) noexcept {
  switch (t) {
  case domain_event_type::defined:
    return "defined";
  case domain_event_type::undefined:
    return "undefined";
  case domain_event_type::started:
    return "started";
  case domain_event_type::suspended:
    return "suspended";
  case domain_event_type::resumed:
    return "resumed";
  case domain_event_type::stopped:
    return "stopped";
  case domain_event_type::shutdown:
    return "shutdown";
  case domain_event_type::pm_suspended:
    return "pmsuspended";
  case domain_event_type::crashed:
    return "crashed";
  case domain_event_type::unknown:
    return "unknown";
  }
  return "unknown";
}

} // namespace qx::node
