#include "qx/actors/reactor_wiring.hpp"
#include "qx/actors/message_types.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

namespace qx::actors {

namespace {

/// Events per message while the follower replays: large enough that a long log costs few
/// messages, small enough that one batch never holds the reactors for long.
constexpr std::size_t replay_batch = 512;

class reactor_signals final : public host_signals {
 public:
  explicit reactor_signals(reactor_set r) : reactors_(std::move(r)) {}
  void heard(const std::string& node_id) override { reactors_.heard({node_id}); }
  void measured(const std::string& /*node_id*/, const agent::v1::Telemetry& t) override {
    if (auto d = demand_of(t); !d.empty())
      reactors_.measured(std::move(d));
  }

 private:
  reactor_set reactors_;
};

} // namespace

reactor_set reactor_set::spawn(caf::actor_system& sys, events::event_store& store,
                               datacenter_actor coordinator, const reactor_settings& settings) {
  auto board = std::make_shared<drs::stats_board>();
  return {spawn_drs(sys, store, coordinator, settings.drs, settings.drs_interval, board),
          spawn_ha(sys, store, coordinator, settings.ha, settings.ha_interval), board};
}

void reactor_set::events(std::vector<events::recorded_event> batch) const {
  caf::anon_send(drs, events_atom::value, batch);
  caf::anon_send(ha, events_atom::value, std::move(batch));
}

void reactor_set::heard(std::vector<std::string> nodes) const {
  caf::anon_send(ha, heartbeat_atom::value, std::move(nodes));
}

void reactor_set::measured(std::vector<vm_demand> demand) const {
  caf::anon_send(drs, demand_atom::value, std::move(demand));
}

void reactor_set::live() const {
  caf::anon_send(drs, live_atom::value);
  caf::anon_send(ha, live_atom::value);
}

void reactor_set::stop() const {
  if (drs)
    caf::anon_send_exit(drs, caf::exit_reason::user_shutdown);
  if (ha)
    caf::anon_send_exit(ha, caf::exit_reason::user_shutdown);
}

std::vector<vm_demand> demand_of(const agent::v1::Telemetry& t) {
  std::vector<vm_demand> out;
  out.reserve(static_cast<std::size_t>(t.vms_size()));
  for (const auto& vm : t.vms())
    out.push_back({vm.id(), vm.cpu_percent() / 100.0, static_cast<double>(vm.memory_used_mib())});
  return out;
}

std::shared_ptr<host_signals> signals_to(reactor_set reactors) {
  return std::make_shared<reactor_signals>(std::move(reactors));
}

void reactor_follower::start() {
  start_head_ = store_.head().position;
  live_ = start_head_ == 0;
  if (live_)
    reactors_.live();
  subscription_ =
      store_.subscribe(0, [this](const events::recorded_event& e) { return on_event(e); });
}

void reactor_follower::stop() {
  if (subscription_)
    subscription_->stop();
  subscription_.reset();
}

bool reactor_follower::on_event(const events::recorded_event& e) {
  batch_.push_back(e);
  // Replaying: in batches, up to the head seen at start; from there on each event at once.
  const bool reached_head = !live_ && e.position >= start_head_;
  if (live_ || reached_head || batch_.size() >= replay_batch) {
    reactors_.events(std::move(batch_));
    batch_.clear();
  }
  if (reached_head) {
    live_ = true;
    reactors_.live();
  }
  return true;
}

} // namespace qx::actors
