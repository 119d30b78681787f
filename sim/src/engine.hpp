#pragma once

// The simulator's engine: owns the deterministic actor system, the in-memory log, the
// datacenter and the DRS and HA reactors, the simulated hosts (world) and the clock. One
// engine plays one scenario once.

#include "qx/sim/run.hpp"
#include "qx/sim/workload.hpp"
#include "world.hpp"

#include <qx/actors/datacenter.hpp>
#include <qx/actors/domain/cluster_view.hpp>
#include <qx/actors/message_types.hpp>
#include <qx/actors/reactor_wiring.hpp>
#include <qx/base/clock.hpp>
#include <qx/events/event_store.hpp>
#include <qx/events/v1/drs.pb.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace qx::sim {

class engine {
 public:
  engine(const scenario& s, const run_options& opts);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;
  engine(engine&&) = delete;
  engine& operator=(engine&&) = delete;

  [[nodiscard]] result<run_result> play();

 private:
  /// Something an agent will do once its (simulated) libvirt call returns.
  struct agent_action {
    enum class kind : std::uint8_t { start, stop, migrate } what = kind::start;
    std::string vm;
    std::string host;
    std::string target;
  };

  // Setup and the time loop.
  status set_up();
  void step();
  void settle();
  void observe(const events::recorded_event& e);
  void run_due_actions();
  void run_action(const agent_action& a);
  void agents();
  void reconcile(const std::string& host);
  void telemetry();
  void sample();
  /// Active and overloaded hosts and unmet CPU demand (host_metrics.cpp); `used` is each
  /// host's CPU (vCPUs) and memory (MiB) demand.
  void count_hosts(metrics_sample& m,
                   const std::map<std::string, std::pair<double, double>>& used) const;
  void apply_step(const step_spec& st);
  void host_power_off(const std::string& host);
  void host_power_on(const std::string& host);
  void host_shutdown(const std::string& host);

  // Commands, as a client would send them; replies are tracked for the final check.
  template<class Reply, class Handle, class... Ts>
  void ask(const Handle& dest, std::function<void(Reply&)> then, Ts... xs);
  /// Remembers where an acknowledged command's events landed (checked at the end).
  template<class Reply>
  void acknowledge(const Reply& r);
  void note(std::string_view what);
  /// A command of the simulated operator ("user:sim").
  template<class A>
  void command(const std::string& id, typename A::command c,
               std::function<void(actors::command_outcome&)> then = {});
  /// A command under `who`.
  template<class A>
  void command_as(std::string who, const std::string& id, typename A::command c,
                  std::function<void(actors::command_outcome&)> then = {});
  /// What host `host`'s simulated agent reports, under "agent:<host>" as the node proxy
  /// records it (HA tells an operator's stop from a host's by the principal).
  void report(const std::string& host, const std::string& vm, domain::vm::command c);
  void create_vm(const vm_spec& v);
  /// `action`: the step that starts it, for a refusal ("start": the scenario's own start).
  void start_vm(const std::string& vm, std::string host, std::string action = "vm_start");
  // Refusals (refusals.cpp): recorded with the step's time, action and target, and noted.
  void refuse(const std::string& action, const std::string& target, const qx::error& e);
  [[nodiscard]] std::function<void(actors::command_outcome&)> on_refusal(std::string action,
                                                                         std::string target);
  [[nodiscard]] std::function<void(actors::placement_outcome&)>
  on_placement_refusal(std::string action, std::string target);
  void migrate_vm(const std::string& vm, const std::string& to);
  void maintenance(const std::string& host, bool enable);
  [[nodiscard]] bool in_maintenance(const std::string& host) const;
  [[nodiscard]] double bandwidth_of(const std::string& vm) const;
  // Invariants beyond the world's (invariants.cpp).
  void check_rules(const std::string& vm, const std::string& host);
  void check_not_stopped_by_user(const std::string& vm);
  void check_balance_move(const events::v1::DrsRecommended& rec);
  void set_rule(const rule_spec& r);
  void remove_rule(const std::string& name);

  [[nodiscard]] sim_duration latency(const std::string& host) const;
  [[nodiscard]] std::string cluster_of(const std::string& vm) const;
  [[nodiscard]] result<run_result> finish();

  const scenario& scenario_;
  run_options opts_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  manual_clock clock_;
  std::unique_ptr<events::event_store> store_;
  actors::datacenter dc_;
  actors::reactor_set reactors_;

  world world_;
  domain::cluster_view view_; ///< the log as the agents learn it
  std::map<std::string, workload> workloads_;
  std::vector<rule_spec> rules_;
  std::multimap<sim_duration, agent_action> actions_;
  std::set<std::string> desired_;                  ///< VMs that should be running
  std::map<std::string, std::string> relocations_; ///< vm -> host to start on once stopped
  std::set<std::string> stopped_by_user_;          ///< stopped by the timeline, not started since
  struct balance_move {
    std::string from;
    sim_duration at{0};
  };
  std::map<std::string, balance_move> last_balance_; ///< vm -> its latest balancing move
  std::map<std::string, sim_duration> downtime_;
  void count_downtime();
  std::vector<std::string> down_; ///< desired VMs not running, as of the generations below
  std::uint64_t down_world_generation_ = ~std::uint64_t{0};
  std::uint64_t desired_generation_ = 0;
  std::uint64_t down_desired_generation_ = ~std::uint64_t{0};
  std::size_t next_step_ = 0;
  sim_duration now_{0};
  std::uint64_t next_position_ = 1;
  std::uint64_t migrations_ = 0;
  std::uint64_t restarts_ = 0;
  std::map<std::string, std::uint64_t> event_counts_;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> acknowledged_; ///< first position, count
  std::vector<metrics_sample> samples_;
  std::vector<std::string> notes_; ///< what the run did that the log cannot say
  std::vector<refusal> refusals_;  ///< what the control plane refused, also in notes_
  /// When the run began, for the report's wall seconds.
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

} // namespace qx::sim
