// The agent hub (agent_hub.hpp): the node proxies, their epochs and statuses, and the log's
// events routed to them.
#include "qx/actors/agent_hub.hpp"

#include "qx/actors/domain/agent_routing.hpp"
#include "qx/actors/message_types.hpp"

#include <qx/base/log.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

namespace qx::actors {

namespace logic = domain::agent_logic;

namespace hub_detail {

/// What the proxies publish, read by other threads. A named namespace, not an anonymous one:
/// agent_hub::impl holds it, and a unity batch would see an external type with an internal
/// member.
class status_registry final : public status_board {
 public:
  void publish(const std::string& node_id, const agent_status& s) override {
    std::lock_guard lock{mutex_};
    board_[node_id] = s;
  }

  [[nodiscard]] std::optional<agent_status> get(const std::string& node_id) const {
    std::lock_guard lock{mutex_};
    const auto it = board_.find(node_id);
    if (it == board_.end())
      return std::nullopt;
    return it->second;
  }

  /// The libvirt URI the node's agent last said (a migration's destination); "" when unknown.
  [[nodiscard]] std::string libvirt_uri(const std::string& node_id) const {
    std::lock_guard lock{mutex_};
    const auto it = board_.find(node_id);
    return it == board_.end() || !it->second.host ? std::string{} : it->second.host->libvirt_uri();
  }

  [[nodiscard]] std::vector<std::pair<std::string, agent_status>> all() const {
    std::lock_guard lock{mutex_};
    return {board_.begin(), board_.end()};
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, agent_status> board_; ///< node id → what its proxy published
};

} // namespace hub_detail

namespace {

constexpr std::string_view hub_component = "agent-hub";

std::uint64_t now_unix_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

} // namespace

struct agent_hub::impl {
  impl(caf::actor_system& s, std::shared_ptr<command_sink> commands,
       std::shared_ptr<const agent_view> v, std::shared_ptr<host_signals> signals,
       std::chrono::milliseconds l)
      : sys(s), view(std::move(v)),
        board(std::make_shared<hub_detail::status_registry>()), deps{std::move(commands), view,
                                                                     board, std::move(signals)},
        lease(l) {}

  caf::actor_system& sys;
  std::shared_ptr<const agent_view> view;
  std::shared_ptr<hub_detail::status_registry> board;
  node_proxy_dependencies deps;
  std::chrono::milliseconds lease;

  mutable std::mutex mutex; ///< Guards what follows.
  std::map<std::string, node_proxy_actor> proxies;
  std::map<std::string, std::uint64_t> epochs;
  logic::event_router router;
  bool stopped = false;

  node_proxy_actor proxy_of(const std::string& node_id, bool create) {
    std::lock_guard lock{mutex};
    if (stopped)
      return {};
    const auto it = proxies.find(node_id);
    if (it != proxies.end())
      return it->second;
    if (!create)
      return {};
    node_proxy_config cfg{node_id};
    cfg.lease = lease;
    auto a = spawn_node_proxy(sys, std::move(cfg), deps);
    if (!a) {
      log::error(hub_component, "no node proxy", {{"node", node_id}, {"error", a.error().message}});
      return {};
    }
    proxies.emplace(node_id, *a);
    return *a;
  }

  /// What the router reads; `nodes` is called with the mutex held.
  [[nodiscard]] logic::routing_reads make_reads() {
    logic::routing_reads r;
    r.vm = [this](const std::string& id) {
      return view->vm_even_deleted(id);
    };
    r.volume = [this](const std::string& id) {
      return view->volume_even_deleted(id);
    };
    r.pool = [this](const std::string& id) {
      return view->pool_even_deleted(id);
    };
    r.cluster_of = [this](const std::string& id) {
      return view->cluster_of(id);
    };
    r.live_volumes = [this](const std::string& id) {
      return view->volume(id);
    };
    r.libvirt_uris = [this](const std::string& node_id) {
      return board->libvirt_uri(node_id);
    };
    r.nodes = [this] {
      std::vector<std::string> out;
      for (const auto& [id, a] : proxies)
        out.push_back(id);
      return out;
    };
    return r;
  }

  logic::routing_reads reads = make_reads();
};

agent_hub::agent_hub(caf::actor_system& sys, std::shared_ptr<command_sink> commands,
                     std::shared_ptr<const agent_view> view, std::shared_ptr<host_signals> signals,
                     std::chrono::milliseconds lease)
    : impl_(std::make_unique<impl>(sys, std::move(commands), std::move(view), std::move(signals),
                                   lease)) {}

agent_hub::~agent_hub() {
  stop();
}

std::uint64_t agent_hub::attach(const std::string& node_id, std::shared_ptr<agent_link> link) {
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock{impl_->mutex};
    auto& last = impl_->epochs[node_id];
    epoch = std::max(last + 1, now_unix_ms());
    last = epoch;
  }
  auto p = impl_->proxy_of(node_id, true);
  if (!p) {
    link->close("the control plane is stopping");
    return epoch;
  }
  caf::anon_send(p, attach_atom::value, std::move(link), epoch);
  return epoch;
}

void agent_hub::frame(const std::string& node_id, std::uint64_t epoch, agent::v1::AgentFrame f) {
  if (auto p = impl_->proxy_of(node_id, false))
    caf::anon_send(p, frame_atom::value, epoch, std::move(f));
}

void agent_hub::closed(const std::string& node_id, std::uint64_t epoch, const std::string& why) {
  if (auto p = impl_->proxy_of(node_id, false))
    caf::anon_send(p, closed_atom::value, epoch, why);
}

void agent_hub::on_event(const events::recorded_event& e) {
  std::vector<std::pair<node_proxy_actor, logic::agent_command>> commands;
  std::pair<node_proxy_actor, std::string> membership;
  {
    // One event at a time: the router remembers where each VM last ran.
    std::lock_guard lock{impl_->mutex};
    if (impl_->stopped)
      return;
    auto r = impl_->router.route(e, impl_->reads);
    const auto proxy = [this](const std::string& node_id) {
      const auto it = impl_->proxies.find(node_id);
      return it == impl_->proxies.end() ? node_proxy_actor{} : it->second;
    };
    // A node without a proxy never had a session: the reconciliation at its first one brings
    // it up to date.
    for (auto& c : r.commands)
      if (auto p = proxy(c.node_id))
        commands.emplace_back(std::move(p), std::move(c.command));
    if (r.membership)
      membership = {proxy(r.membership->node_id), std::move(r.membership->cluster_id)};
  }
  for (auto& [p, c] : commands)
    caf::anon_send(p, std::move(c));
  if (membership.first)
    caf::anon_send(membership.first, membership_atom::value, std::move(membership.second));
}

std::optional<agent_status> agent_hub::status(const std::string& node_id) const {
  return impl_->board->get(node_id);
}

std::vector<std::pair<std::string, agent_status>> agent_hub::statuses() const {
  return impl_->board->all();
}

std::size_t agent_hub::connected() const {
  const auto all = impl_->board->all();
  return static_cast<std::size_t>(
      std::count_if(all.begin(), all.end(), [](const auto& s) { return s.second.connected; }));
}

void agent_hub::stop() {
  std::map<std::string, node_proxy_actor> proxies;
  {
    std::lock_guard lock{impl_->mutex};
    impl_->stopped = true;
    proxies.swap(impl_->proxies);
  }
  for (auto& [id, a] : proxies)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

} // namespace qx::actors
