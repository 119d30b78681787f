#include "qx/actors/domain/node.hpp"

#include "overloaded.hpp"

#include <cmath>

namespace qx::domain::node {

namespace {

using namespace events::v1;
using detail::overloaded;

constexpr auto one = &one_event<event>;

NodeStateChanged move(const state& s, const char* to, std::string reason = {}) {
  NodeStateChanged ev;
  ev.set_id(s.id());
  ev.set_from(s.state());
  ev.set_to(to);
  ev.set_reason(std::move(reason));
  return ev;
}

error invalid_state(const state& s, std::string_view command) {
  return refused("INVALID_NODE_STATE",
                 "node " + s.id() + " cannot " + std::string{command} + " while " + s.state(),
                 {{"state", s.state()}, {"command", std::string{command}}});
}

status validate_hardware(const register_node& cmd) {
  if (auto ok = check_name("hostname", cmd.hostname, 253); !ok)
    return ok;
  if (auto ok = check_name("address", cmd.address, 253); !ok)
    return ok;
  const auto& key = cmd.agent_key_sha256;
  if (!key.empty() &&
      (key.size() != 64 || key.find_first_not_of("0123456789abcdef") != std::string::npos))
    return invalid_field("agent_key_sha256", "agent_key_sha256 must be 64 lower-case hex digits");
  const auto& hw = cmd.hardware;
  if (hw.cpu_cores() < 1 || hw.cpu_cores() > 4096)
    return invalid_field("hardware.cpu_cores", "cpu_cores must be between 1 and 4096");
  if (hw.cpu_threads() < hw.cpu_cores() || hw.cpu_threads() > 8192)
    return invalid_field("hardware.cpu_threads", "cpu_threads must be at least cpu_cores");
  if (hw.memory_mib() < 256 || hw.memory_mib() > (std::uint64_t{64} << 20U))
    return invalid_field("hardware.memory_mib", "memory must be between 256 MiB and 64 TiB");
  if (hw.cpu_model().size() > 256)
    return invalid_field("hardware.cpu_model", "cpu_model is longer than 256 bytes");
  if (hw.disks_size() > 256 || hw.nics_size() > 256)
    return invalid_field("hardware", "at most 256 disks and 256 NICs");
  return {};
}

NodeCapacityReserved reserved(const state& s, const reserve& r) {
  NodeCapacityReserved ev;
  ev.set_id(s.id());
  ev.set_vm_id(r.vm_id);
  ev.set_vcpus(r.vcpus);
  ev.set_memory_mib(r.memory_mib);
  return ev;
}

NodeCapacityReleased released(const state& s, const std::string& vm_id) {
  NodeCapacityReleased ev;
  ev.set_id(s.id());
  ev.set_vm_id(vm_id);
  return ev;
}

/// The whole units a capacity allows: allocations are integers, so `used + request` fits a
/// fractional capacity exactly when it fits its floor.
std::uint64_t whole(double capacity) {
  return capacity >= 1.0 ? static_cast<std::uint64_t>(std::floor(capacity)) : 0;
}

/// What is left of `capacity` after `used`; 0 when overcommit was lowered below the load.
std::uint64_t headroom(std::uint64_t capacity, std::uint64_t used) {
  return capacity > used ? capacity - used : 0;
}

decision<event> decide_reserve(const state& s, const reserve& r) {
  if (auto ok = check_name("vm_id", r.vm_id, 64); !ok)
    return ok.error();
  if (r.vcpus == 0)
    return invalid_field("vcpus", "vcpus must be at least 1");
  if (r.memory_mib == 0)
    return invalid_field("memory_mib", "memory_mib must be at least 1");
  const auto held = s.allocations().find(r.vm_id);
  if (held != s.allocations().end() && held->second.vcpus() == r.vcpus &&
      held->second.memory_mib() == r.memory_mib)
    return std::vector<event>{}; // the same reservation again (a retry): it is held already
  if (s.state() == states::maintenance)
    return refused("NODE_IN_MAINTENANCE", "node " + s.id() + " is in maintenance mode",
                   {{"state", s.state()}});
  if (s.state() != states::connected)
    return refused("NODE_NOT_CONNECTED", "node " + s.id() + " is " + s.state(),
                   {{"state", s.state()}});
  // Integer arithmetic on what is left: no wrap-around however large the request.
  std::uint64_t cpu = allocated_vcpus(s);
  std::uint64_t mem = allocated_memory_mib(s);
  std::vector<event> out;
  if (held != s.allocations().end()) { // a new size replaces the old one
    cpu -= held->second.vcpus();
    mem -= held->second.memory_mib();
    out.emplace_back(released(s, r.vm_id));
  }
  const auto cpu_cap = whole(cpu_capacity(s));
  const auto cpu_left = headroom(cpu_cap, cpu);
  if (r.vcpus > cpu_left)
    return error{errc::resource_exhausted,
                 "node " + s.id() + " has " + std::to_string(cpu_left) + " vCPUs left, " +
                     std::to_string(r.vcpus) + " requested",
                 {{"reason", "INSUFFICIENT_CPU"},
                  {"requested_vcpus", std::to_string(r.vcpus)},
                  {"available_vcpus", std::to_string(cpu_left)},
                  {"allocated_vcpus", std::to_string(cpu)},
                  {"capacity_vcpus", std::to_string(cpu_cap)}}};
  const auto mem_cap = whole(memory_capacity_mib(s));
  const auto mem_left = headroom(mem_cap, mem);
  if (r.memory_mib > mem_left)
    return error{errc::resource_exhausted,
                 "node " + s.id() + " has " + std::to_string(mem_left) + " MiB left, " +
                     std::to_string(r.memory_mib) + " requested",
                 {{"reason", "INSUFFICIENT_MEMORY"},
                  {"requested_memory_mib", std::to_string(r.memory_mib)},
                  {"available_memory_mib", std::to_string(mem_left)},
                  {"allocated_memory_mib", std::to_string(mem)},
                  {"capacity_memory_mib", std::to_string(mem_cap)}}};
  out.emplace_back(reserved(s, r));
  return out;
}

} // namespace

state initial(std::string_view id) {
  return initial_state<state>(id);
}

std::uint64_t allocated_vcpus(const state& s) {
  std::uint64_t n = 0;
  for (const auto& [vm, a] : s.allocations())
    n += a.vcpus();
  return n;
}

std::uint64_t allocated_memory_mib(const state& s) {
  std::uint64_t n = 0;
  for (const auto& [vm, a] : s.allocations())
    n += a.memory_mib();
  return n;
}

double cpu_capacity(const state& s) {
  return static_cast<double>(s.hardware().cpu_threads()) * s.cpu_overcommit();
}

double memory_capacity_mib(const state& s) {
  return static_cast<double>(s.hardware().memory_mib()) * s.memory_overcommit();
}

std::string_view name_of(const command& c) {
  static constexpr const char* names[] = {"register",          "connect",          "disconnect",
                                          "enter_maintenance", "exit_maintenance", "decommission",
                                          "set_overcommit",    "reserve",          "release",
                                          "join_cluster",      "leave_cluster"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[c.index()];
}

decision<event> decide(const state& s, const command& c) {
  if (!std::holds_alternative<register_node>(c)) {
    if (!s.registered())
      return not_found(kind, s.id());
    if (s.state() == states::decommissioned)
      return refused("DECOMMISSIONED", "node " + s.id() + " is decommissioned");
  }
  return std::visit(
      overloaded{
          [&](const register_node& cmd) -> decision<event> {
            if (s.registered())
              return already_exists(kind, s.id());
            if (auto ok = validate_hardware(cmd); !ok)
              return ok.error();
            NodeRegistered ev;
            ev.set_id(s.id());
            ev.set_hostname(cmd.hostname);
            ev.set_address(cmd.address);
            *ev.mutable_hardware() = cmd.hardware;
            ev.set_agent_key_sha256(cmd.agent_key_sha256);
            return one(std::move(ev));
          },
          [&](const connect&) -> decision<event> {
            if (s.state() == states::connected || s.state() == states::maintenance)
              return std::vector<event>{};
            if (s.state() != states::disconnected)
              return invalid_state(s, "connect");
            return one(move(s, states::connected));
          },
          [&](const disconnect& cmd) -> decision<event> {
            if (cmd.reason.size() > 1024)
              return invalid_field("reason", "reason is longer than 1024 bytes");
            // Maintenance an operator set outlives the agent's session (a host powered off
            // and on again is still in maintenance); the session shows in the agent hub.
            if (s.state() == states::disconnected || s.state() == states::maintenance)
              return std::vector<event>{};
            return one(move(s, states::disconnected, cmd.reason));
          },
          [&](const enter_maintenance&) -> decision<event> {
            if (s.state() == states::maintenance)
              return std::vector<event>{};
            if (s.state() != states::connected)
              return invalid_state(s, "enter_maintenance");
            if (!s.allocations().empty())
              return refused("NODE_HAS_VMS",
                             "node " + s.id() + " still runs " +
                                 std::to_string(s.allocations_size()) + " VMs: evacuate them first",
                             {{"vms", std::to_string(s.allocations_size())}});
            return one(move(s, states::maintenance));
          },
          [&](const exit_maintenance&) -> decision<event> {
            if (s.state() != states::maintenance)
              return invalid_state(s, "exit_maintenance");
            return one(move(s, states::connected));
          },
          [&](const decommission&) -> decision<event> {
            if (!s.allocations().empty())
              return refused("NODE_HAS_VMS",
                             "node " + s.id() + " still holds " +
                                 std::to_string(s.allocations_size()) + " VMs",
                             {{"vms", std::to_string(s.allocations_size())}});
            if (!s.cluster_id().empty())
              return refused("NODE_IN_CLUSTER",
                             "node " + s.id() + " is in cluster " + s.cluster_id(),
                             {{"cluster_id", s.cluster_id()}});
            return one(move(s, states::decommissioned));
          },
          [&](const set_overcommit& cmd) -> decision<event> {
            if (!(cmd.cpu_ratio >= 1.0 && cmd.cpu_ratio <= 16.0))
              return invalid_field("cpu_ratio", "cpu_ratio must be between 1 and 16");
            if (!(cmd.memory_ratio >= 1.0 && cmd.memory_ratio <= 2.0))
              return invalid_field("memory_ratio", "memory_ratio must be between 1 and 2");
            if (cmd.cpu_ratio == s.cpu_overcommit() && cmd.memory_ratio == s.memory_overcommit())
              return std::vector<event>{};
            NodeOvercommitSet ev;
            ev.set_id(s.id());
            ev.set_cpu_ratio(cmd.cpu_ratio);
            ev.set_memory_ratio(cmd.memory_ratio);
            return one(std::move(ev));
          },
          [&](const reserve& cmd) -> decision<event> { return decide_reserve(s, cmd); },
          [&](const release& cmd) -> decision<event> {
            if (auto ok = check_name("vm_id", cmd.vm_id, 64); !ok)
              return ok.error();
            if (s.allocations().count(cmd.vm_id) == 0)
              return std::vector<event>{};
            return one(released(s, cmd.vm_id));
          },
          [&](const join_cluster& cmd) -> decision<event> {
            if (auto ok = check_name("cluster_id", cmd.cluster_id, 64); !ok)
              return ok.error();
            if (s.cluster_id() == cmd.cluster_id)
              return std::vector<event>{};
            if (!s.cluster_id().empty())
              return refused("NODE_IN_CLUSTER",
                             "node " + s.id() + " already belongs to cluster " + s.cluster_id(),
                             {{"cluster_id", s.cluster_id()}});
            NodeJoinedCluster ev;
            ev.set_id(s.id());
            ev.set_cluster_id(cmd.cluster_id);
            return one(std::move(ev));
          },
          [&](const leave_cluster& cmd) -> decision<event> {
            if (auto ok = check_name("cluster_id", cmd.cluster_id, 64); !ok)
              return ok.error();
            if (s.cluster_id().empty() || s.cluster_id() != cmd.cluster_id)
              return refused("NODE_NOT_IN_CLUSTER",
                             "node " + s.id() + " is not in cluster " + cmd.cluster_id,
                             {{"field", "cluster_id"}});
            NodeLeftCluster ev;
            ev.set_id(s.id());
            ev.set_cluster_id(cmd.cluster_id);
            return one(std::move(ev));
          },
      },
      c);
}

void evolve(state& s, const event& e) {
  std::visit(
      overloaded{
          [&](const NodeRegistered& ev) {
            s.set_registered(true);
            s.set_hostname(ev.hostname());
            s.set_address(ev.address());
            *s.mutable_hardware() = ev.hardware();
            s.set_agent_key_sha256(ev.agent_key_sha256());
            s.set_state(states::connected);
            s.set_cpu_overcommit(default_cpu_overcommit);
            s.set_memory_overcommit(default_memory_overcommit);
          },
          [&](const NodeStateChanged& ev) { s.set_state(ev.to()); },
          [&](const NodeOvercommitSet& ev) {
            s.set_cpu_overcommit(ev.cpu_ratio());
            s.set_memory_overcommit(ev.memory_ratio());
          },
          [&](const NodeCapacityReserved& ev) {
            auto& a = (*s.mutable_allocations())[ev.vm_id()];
            a.set_vcpus(ev.vcpus());
            a.set_memory_mib(ev.memory_mib());
          },
          [&](const NodeCapacityReleased& ev) { s.mutable_allocations()->erase(ev.vm_id()); },
          [&](const NodeJoinedCluster& ev) { s.set_cluster_id(ev.cluster_id()); },
          [&](const NodeLeftCluster&) { s.clear_cluster_id(); },
      },
      e);
}

} // namespace qx::domain::node
