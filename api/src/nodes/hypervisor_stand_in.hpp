#pragma once

// For nodes registered by hand (no qx-node agent reports their VMs' power), `qvdc serve
// --hypervisor-stand-in` confirms every power transition at once, under its own principal
// "system:hypervisor-stand-in", so the audit trail says who confirmed. Off by default: without
// it, such VMs wait in starting/stopping/migrating as they would for a silent host. Not for
// nodes with agents, whose VMs follow libvirt's events.

#include "gateway.hpp"

#include <qx/events/types.hpp>
#include <qx/projections/inventory.hpp>

#include <functional>
#include <string>
#include <vector>

namespace qx::api {

class hypervisor_stand_in {
 public:
  /// `measured` (when given) learns the demand of each VM confirmed running: `demand` of its
  /// vCPUs busy and all its memory.
  hypervisor_stand_in(gateway& gw, const projections::inventory& inv,
                      std::function<void(std::vector<actors::vm_demand>)> measured = {},
                      double demand = 0)
      : gw_(gw), inv_(inv), measured_(std::move(measured)), demand_(demand) {}

  /// After a VM event: confirms the transition the VM is in, if any.
  void on_event(const events::recorded_event& e);
  /// Confirms every VM caught mid-transition (after a restart).
  void settle_all();

 private:
  void settle(const std::string& vm_id, const std::string& cause);
  /// What the stand-in measures of a running VM (`demand_` of its vCPUs, all its memory).
  [[nodiscard]] actors::vm_demand demand_of(const domain::vm::state& s) const;

  gateway& gw_;
  const projections::inventory& inv_;
  std::function<void(std::vector<actors::vm_demand>)> measured_;
  double demand_;
};

} // namespace qx::api
