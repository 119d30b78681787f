#include "qx/actors/domain/agent_logic.hpp"

#include <qx/base/utf8.hpp>

#include <qx/events/v1/vm.pb.h>

#include <algorithm>
#include <map>
#include <qx/events/text_fields.hpp>
#include <set>

namespace qx::domain::agent_logic {

std::string reason_text(std::string_view text) {
  auto out = qx::escape_invalid_utf8(text);
  for (auto& c : out) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F)
      c = ' ';
  }
  constexpr std::size_t max_bytes = 900;
  if (out.size() > max_bytes) {
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0U) == 0x80U)
      --cut;
    out.resize(cut);
  }
  return out;
}

namespace pb = agent::v1;
namespace vm = domain::vm;

namespace {

pb::Command action(const std::string& vm_id, const char* what) {
  pb::Command c;
  auto* a = c.mutable_domain_action();
  a->set_vm_id(vm_id);
  a->set_action(what);
  return c;
}

bool is_running(const std::string& s) {
  return s == "running" || s == "blocked";
}

} // namespace

pb::Command create_pool(const snapshots::v1::StoragePoolState& pool) {
  pb::Command c;
  c.mutable_create_pool()->set_pool_id(pool.id());
  const auto path = pool.settings().find("path");
  if (path != pool.settings().end())
    c.mutable_create_pool()->set_path(path->second);
  return c;
}

pb::Command create_volume(const snapshots::v1::VolumeState& volume) {
  pb::Command c;
  auto* v = c.mutable_create_volume();
  v->set_pool_id(volume.pool_id());
  v->set_volume_id(volume.id());
  v->set_capacity_bytes(volume.size_bytes());
  v->set_format(volume.format());
  return c;
}

pb::Command create_network(const std::string& network_id, const std::string& cidr) {
  pb::Command c;
  auto* n = c.mutable_create_network();
  n->set_network_id(network_id);
  n->set_bridge("qxbr" + std::to_string(std::hash<std::string>{}(network_id) % 100'000'000U));
  n->set_cidr(cidr);
  return c;
}

bool is_off(const std::string& s) {
  return s == "shutoff" || s == "crashed" || s == "missing" || s == "nostate";
}

pb::Command define_and_start(const snapshots::v1::VmState& s, const volume_lookup& volumes) {
  pb::Command c;
  auto* d = c.mutable_define_and_start();
  d->set_vm_id(s.id());
  d->set_name(s.spec().name());
  d->set_vcpus(s.spec().vcpus());
  d->set_memory_mib(s.spec().memory_mib());
  for (const auto& v : s.spec().volume_ids()) {
    const auto found = volumes ? volumes(v) : std::nullopt;
    if (!found)
      continue;
    auto* disk = d->add_disks();
    disk->set_volume_id(v);
    disk->set_pool_id(found->pool_id());
    disk->set_capacity_bytes(found->size_bytes());
  }
  for (const auto& n : s.spec().network_ids())
    d->add_network_ids(n);
  d->set_ha_protected(s.spec().ha_restart_priority() > 0);
  return c;
}

std::optional<pb::Command> command_after(const events::recorded_event& e,
                                         const snapshots::v1::VmState& s,
                                         const volume_lookup& volumes) {
  if (e.type == "qx.events.v1.VmPowerStateChanged") {
    events::v1::VmPowerStateChanged ev;
    if (!qx::events::parse_message(ev, e.payload))
      return std::nullopt;
    const auto& to = ev.to();
    const auto& from = ev.from();
    if (to == vm::power::starting)
      return define_and_start(s, volumes);
    if (to == vm::power::stopping)
      return action(s.id(), "shutdown");
    if (to == vm::power::stopped && from != vm::power::stopping)
      return action(s.id(), "destroy"); // a forced stop (idempotent when already off)
    if (to == vm::power::paused)
      return action(s.id(), "suspend");
    if (to == vm::power::running && from == vm::power::paused)
      return action(s.id(), "resume");
    return std::nullopt;
  }
  if (e.type == "qx.events.v1.VmRebooted")
    return action(s.id(), "reboot");
  if (e.type == "qx.events.v1.VmDeleted")
    return action(s.id(), "undefine");
  return std::nullopt;
}

std::string kind_of(const pb::Command& c) {
  if (c.has_define_and_start())
    return "start";
  if (c.has_migrate())
    return "migrate";
  if (c.has_domain_action())
    return c.domain_action().action();
  return "infrastructure";
}

std::optional<agent_command> for_vm_event(const events::recorded_event& e,
                                          const snapshots::v1::VmState& s,
                                          const volume_lookup& volumes, const uri_lookup& uris) {
  if (e.type == "qx.events.v1.VmMigrationStarted") {
    pb::Command c;
    c.mutable_migrate()->set_vm_id(s.id());
    c.mutable_migrate()->set_destination_uri(uris ? uris(s.migration_target()) : std::string{});
    return agent_command{std::move(c), s.id(), "migrate"};
  }
  auto c = command_after(e, s, volumes);
  if (!c)
    return std::nullopt;
  auto kind = kind_of(*c);
  return agent_command{std::move(*c), s.id(), std::move(kind)};
}

pb::Command delete_volume(const std::string& pool_id, const std::string& volume_id) {
  pb::Command c;
  c.mutable_delete_volume()->set_pool_id(pool_id);
  c.mutable_delete_volume()->set_volume_id(volume_id);
  return c;
}

std::vector<agent_command> infrastructure_for(const std::string& node_id,
                                              const infrastructure& known) {
  std::vector<agent_command> out;
  std::set<std::string> pools;
  for (const auto& p : known.pools) {
    const auto& ids = p.node_ids();
    if (std::find(ids.begin(), ids.end(), node_id) == ids.end())
      continue;
    pools.insert(p.id());
    out.push_back({create_pool(p), "", "infrastructure"});
  }
  for (const auto& v : known.volumes)
    if (pools.count(v.pool_id()) != 0)
      out.push_back({create_volume(v), "", "infrastructure"});
  for (const auto& n : known.networks)
    out.push_back({create_network(n.id(), n.cidr()), "", "infrastructure"});
  return out;
}

std::optional<vm_record> after_domain_event(const std::string& node_id, const pb::DomainEvent& ev,
                                            const std::optional<vm_on_node>& v) {
  if (!v || v->state.node_id() != node_id)
    return std::nullopt; // not a VM of ours on this node (a domain defined by hand, or moved away)
  auto cmd = follow(ev, v->state.power_state());
  if (!cmd)
    return std::nullopt;
  return vm_record{ev.id(), std::move(*cmd), v->version,
                   "libvirt:" + ev.kind() + ":" + ev.detail()};
}

std::optional<vm_record> after_result(const std::string& vm_id, const std::string& kind,
                                      const pb::CommandResult& res,
                                      const std::optional<vm_on_node>& v) {
  constexpr std::string_view cause = "agent-result";
  if (res.ok()) {
    if (kind == "migrate")
      return vm_record{vm_id, vm::complete_migration{}, std::nullopt, std::string{cause}};
    return std::nullopt;
  }
  if (vm_id.empty() || !v)
    return std::nullopt;
  const auto reason = reason_text(res.error_code() + ": " + res.message());
  const auto& power = v->state.power_state();
  if ((kind == "start" || kind == "resend") && power == vm::power::starting)
    return vm_record{vm_id, vm::force_stop{"START_FAILED: " + reason}, v->version,
                     std::string{cause}};
  if (kind == "migrate" && power == vm::power::migrating)
    return vm_record{vm_id, vm::fail_migration{reason}, v->version, std::string{cause}};
  return std::nullopt;
}

domain::node::command after_leaving(const pb::Leaving& leaving) {
  return domain::node::disconnect{"LEFT: " + reason_text(leaving.reason())};
}

domain::node::command after_session_closed(const std::string& why) {
  return domain::node::disconnect{"AGENT_SESSION_CLOSED: " + why};
}

std::optional<vm::command> follow(const pb::DomainEvent& ev, const std::string& power) {
  const auto& kind = ev.kind();
  if (kind == "started" || kind == "resumed") {
    if (power == vm::power::starting)
      return vm::command{vm::confirm_running{}};
    if (power == vm::power::paused && kind == "resumed")
      return vm::command{vm::resume{}};
    return std::nullopt;
  }
  if (kind == "stopped" || kind == "crashed") {
    if (ev.detail() == "migrated")
      return std::nullopt; // the migration's own outcome is recorded from its result
    if (power == vm::power::stopping)
      return vm::command{vm::confirm_stopped{}};
    if (power == vm::power::running || power == vm::power::paused || power == vm::power::starting)
      return vm::command{
          vm::force_stop{"STOPPED_ON_HOST: libvirt reported " + kind + " (" + ev.detail() + ")"}};
    return std::nullopt;
  }
  if (kind == "suspended" && power == vm::power::running)
    return vm::command{vm::pause{}};
  return std::nullopt;
}

std::vector<reconcile_step> reconcile(const pb::Hello& hello, const std::vector<vm_on_node>& vms,
                                      const volume_lookup& volumes) {
  std::map<std::string, std::string> on_host;
  for (const auto& d : hello.domains())
    on_host[d.id()] = d.state();
  std::vector<reconcile_step> out;
  for (const auto& v : vms) {
    const auto& s = v.state;
    const auto it = on_host.find(s.id());
    const std::string actual = it == on_host.end() ? "missing" : it->second;
    reconcile_step step{s.id(), v.version, std::nullopt, std::nullopt};
    const auto& p = s.power_state();
    if (p == vm::power::running || p == vm::power::paused) {
      if (is_off(actual))
        step.record = vm::command{vm::force_stop{"FOUND_STOPPED: the host reported it " + actual +
                                                 " when its agent reconnected"}};
      else if (p == vm::power::running && actual == "paused")
        step.record = vm::command{vm::pause{}};
      else if (p == vm::power::paused && is_running(actual))
        step.record = vm::command{vm::resume{}};
    } else if (p == vm::power::starting) {
      if (is_running(actual))
        step.record = vm::command{vm::confirm_running{}};
      else
        step.resend = define_and_start(s, volumes);
    } else if (p == vm::power::stopping) {
      if (is_off(actual))
        step.record = vm::command{vm::confirm_stopped{}};
      else
        step.resend = action(s.id(), "shutdown");
    }
    if (step.record || step.resend)
      out.push_back(std::move(step));
  }
  return out;
}

} // namespace qx::domain::agent_logic
