#include "hypervisor_stand_in.hpp"

#include <qx/actors/dropped_outcome.hpp>

#include <vector>

namespace qx::api {

namespace {

using actors::vm_aggregate;
namespace vm = domain::vm;

constexpr const char* stand_in_principal = "system:hypervisor-stand-in";

} // namespace

void hypervisor_stand_in::on_event(const events::recorded_event& e) {
  const auto prefix = vm_aggregate::stream("");
  if (e.stream.starts_with(prefix) &&
      (e.type == "qx.events.v1.VmPowerStateChanged" || e.type == "qx.events.v1.VmMigrationStarted"))
    settle(e.stream.substr(prefix.size()), std::to_string(e.position));
}

void hypervisor_stand_in::settle_all() {
  std::vector<std::string> ids;
  std::vector<actors::vm_demand> running;
  inv_.for_each<vm_aggregate>([&](const projections::resource<vm_aggregate>& r) {
    const auto& p = r.state.power_state();
    if (p == vm::power::starting || p == vm::power::stopping || p == vm::power::migrating)
      ids.push_back(r.state.id());
    else if (p == vm::power::running && measured_)
      running.push_back(demand_of(r.state));
  });
  // After a restart the VMs already running are measured again, as agents' telemetry would.
  if (!running.empty())
    measured_(std::move(running));
  for (const auto& id : ids)
    settle(id, "restart");
}

actors::vm_demand hypervisor_stand_in::demand_of(const vm::state& s) const {
  return {s.id(), demand_ * s.spec().vcpus(), static_cast<double>(s.spec().memory_mib())};
}

void hypervisor_stand_in::settle(const std::string& vm_id, const std::string& cause) {
  const auto r = inv_.get<vm_aggregate>(vm_id);
  if (!r)
    return;
  vm::command cmd;
  const auto& p = r->state.power_state();
  if (p == vm::power::starting) {
    cmd = vm::confirm_running{};
    if (measured_)
      measured_({demand_of(r->state)});
  } else if (p == vm::power::stopping)
    cmd = vm::confirm_stopped{};
  else if (p == vm::power::migrating)
    cmd = vm::complete_migration{};
  else
    return;
  actors::command_meta meta;
  meta.principal = stand_in_principal;
  meta.causation_id = cause;
  // The version pins the transition seen: if the VM moved on meanwhile, this is refused.
  meta.expected_version = r->version;
  gw_.send(actors::command_request<vm_aggregate>{vm_id, std::move(cmd), std::move(meta)},
           [](const actors::command_outcome& o) {
             // Refused when the VM moved on meanwhile (the version pinned it): counted only.
             actors::drop_outcome("stand-in", "power confirmation", o,
                                  {errc::conflict, errc::failed_precondition});
           });
}

} // namespace qx::api
