#pragma once

// The DRS and HA reactors and what feeds them, built one way for `qvdc serve` and `qvdc-sim`
// so that nothing about DRS/HA is wired twice:
// - the log, in order, in batches (events): the server from its own subscription
//   (reactor_follower: replayed from the start, then live), the simulator after each settle;
// - the nodes heard from (heard): the node proxies on every agent heartbeat (host_signals),
//   the simulator's agents every step; HA's leases run on them;
// - the VMs' measured demand (measured): agents' telemetry (demand_of), or the simulator's
//   workloads; DRS balances on it.
// The reactors answer to the datacenter coordinator like any client.

#include "qx/actors/node_proxy.hpp"
#include "qx/actors/reactors.hpp"

#include <qx/agent/v1/session.pb.h>
#include <qx/events/event_store.hpp>

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace qx::actors {

struct reactor_settings {
  drs::config drs;
  std::chrono::milliseconds drs_interval{std::chrono::minutes{5}}; ///< 0: no timer (tests)
  ha::config ha;
  std::chrono::milliseconds ha_interval{std::chrono::seconds{1}}; ///< 0: no timer (tests)
};

/// The two reactors; copies share them.
struct reactor_set {
  drs_actor drs;
  ha_actor ha;
  std::shared_ptr<drs::stats_board> drs_stats; ///< DRS's latest pass, for the metrics

  [[nodiscard]] static reactor_set spawn(caf::actor_system& sys, events::event_store& store,
                                         datacenter_actor coordinator,
                                         const reactor_settings& settings);
  /// The log's next events, in position order, no gap.
  void events(std::vector<events::recorded_event> batch) const;
  /// These nodes were heard from now.
  void heard(std::vector<std::string> nodes) const;
  /// The latest demand of these VMs.
  void measured(std::vector<vm_demand> demand) const;
  /// The log has been replayed to its head: the reactors act from now on.
  void live() const;
  /// Stops both (an exit message each); call before the coordinator stops.
  void stop() const;
};

/// What a node's telemetry says its VMs demand: vCPUs busy (libvirt's CPU time over wall time,
/// as the agent's percent of one CPU) and memory used.
[[nodiscard]] std::vector<vm_demand> demand_of(const agent::v1::Telemetry& t);

/// The node proxies' heartbeats and telemetry, passed to the reactors.
[[nodiscard]] std::shared_ptr<host_signals> signals_to(reactor_set reactors);

/// Follows the log for the reactors, on the store's subscription thread: every event from
/// the start in batches while replaying, then each one as it becomes durable; live() once
/// the head seen at start() is reached. The reactors fold the replay without acting on it.
class reactor_follower {
 public:
  reactor_follower(events::event_store& store, reactor_set reactors)
      : store_(store), reactors_(std::move(reactors)) {}
  ~reactor_follower() { stop(); }
  reactor_follower(const reactor_follower&) = delete;
  reactor_follower& operator=(const reactor_follower&) = delete;
  reactor_follower(reactor_follower&&) = delete;
  reactor_follower& operator=(reactor_follower&&) = delete;

  void start();
  void stop();

 private:
  bool on_event(const events::recorded_event& e);

  events::event_store& store_;
  reactor_set reactors_;
  std::unique_ptr<events::subscription> subscription_;
  std::vector<events::recorded_event> batch_; ///< only touched on the subscription's thread
  std::uint64_t start_head_ = 0;
  bool live_ = false;
};

} // namespace qx::actors
