#include "qx/actors/domain/vm.hpp"

#include "overloaded.hpp"

#include <algorithm>
#include <initializer_list>

namespace qx::domain::vm {

namespace {

using namespace events::v1;
using detail::overloaded;

constexpr std::uint32_t max_vcpus = 512;
constexpr std::uint64_t min_memory_mib = 16;
constexpr std::uint64_t max_memory_mib = std::uint64_t{16} << 20U; // 16 TiB
constexpr int max_priority = 5;
constexpr std::size_t max_user_data = 64U << 10U;
constexpr std::size_t max_labels = 64;
constexpr std::size_t max_devices = 32;

bool in(const std::string& power, std::initializer_list<const char*> allowed) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const char* p) { return power == p; });
}

error invalid_state(const state& s, std::string_view command) {
  return refused("INVALID_POWER_STATE",
                 "vm " + s.id() + " cannot " + std::string{command} + " while " + s.power_state(),
                 {{"power_state", s.power_state()}, {"command", std::string{command}}});
}

VmPowerStateChanged move(const state& s, const char* to, std::string node,
                         std::string reason = {}) {
  VmPowerStateChanged ev;
  ev.set_id(s.id());
  ev.set_from(s.power_state());
  ev.set_to(to);
  ev.set_node_id(std::move(node));
  ev.set_reason(std::move(reason));
  return ev;
}

constexpr auto one = &one_event<event>;

const snapshots::v1::VmSnapshotInfo* find_snapshot(const state& s, std::string_view name) {
  for (const auto& snap : s.snapshots())
    if (snap.name() == name)
      return &snap;
  return nullptr;
}

status check_ids(std::string_view field,
                 const google::protobuf::RepeatedPtrField<std::string>& ids) {
  if (static_cast<std::size_t>(ids.size()) > max_devices)
    return invalid_field(std::string{field}, "at most " + std::to_string(max_devices) + " entries");
  for (const auto& id : ids)
    if (auto ok = check_name(field, id, 64); !ok)
      return ok;
  return {};
}

} // namespace

state initial(std::string_view id) {
  state s;
  s.set_id(std::string{id});
  return s;
}

status validate_spec(const VmSpec& spec) {
  if (auto ok = check_name("spec.name", spec.name()); !ok)
    return ok;
  if (spec.vcpus() < 1 || spec.vcpus() > max_vcpus)
    return invalid_field("spec.vcpus", "vcpus must be between 1 and " + std::to_string(max_vcpus));
  if (spec.memory_mib() < min_memory_mib || spec.memory_mib() > max_memory_mib)
    return invalid_field("spec.memory_mib", "memory must be between 16 MiB and 16 TiB");
  if (auto ok = check_ids("spec.volume_ids", spec.volume_ids()); !ok)
    return ok;
  if (auto ok = check_ids("spec.network_ids", spec.network_ids()); !ok)
    return ok;
  if (!spec.boot_image_id().empty())
    if (auto ok = check_name("spec.boot_image_id", spec.boot_image_id(), 64); !ok)
      return ok;
  if (spec.cloud_init_user_data().size() > max_user_data)
    return invalid_field("spec.cloud_init_user_data", "user data is larger than 64 KiB");
  if (spec.ha_restart_priority() < 0 || spec.ha_restart_priority() > max_priority)
    return invalid_field("spec.ha_restart_priority", "priority must be between 0 and 5");
  if (static_cast<std::size_t>(spec.labels_size()) > max_labels)
    return invalid_field("spec.labels", "at most 64 labels");
  for (const auto& [key, value] : spec.labels()) {
    if (auto ok = check_name("spec.labels", key, 63); !ok)
      return ok;
    if (auto ok = check_text("spec.labels", value, 255); !ok)
      return ok;
  }
  return {};
}

std::string_view name_of(const command& c) {
  static constexpr const char* names[] = {"create",
                                          "start",
                                          "confirm_running",
                                          "stop",
                                          "confirm_stopped",
                                          "force_stop",
                                          "pause",
                                          "resume",
                                          "reboot",
                                          "migrate",
                                          "complete_migration",
                                          "fail_migration",
                                          "mark_error",
                                          "create_snapshot",
                                          "revert_snapshot",
                                          "delete_snapshot",
                                          "remove"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[c.index()];
}

namespace {

/// What a command carries, checked before the VM's existence and state: a malformed
/// request is a 400 whatever the VM is doing (HTTP checks syntax before state).
status validate_fields(const command& c) {
  if (const auto* cmd = std::get_if<create>(&c))
    return validate_spec(cmd->spec);
  if (const auto* cmd = std::get_if<start>(&c))
    return check_name("node_id", cmd->node_id, 64);
  if (const auto* cmd = std::get_if<migrate>(&c))
    return check_name("target_node_id", cmd->target_node_id, 64);
  if (const auto* cmd = std::get_if<force_stop>(&c))
    return check_text("reason", cmd->reason, 1024);
  if (const auto* cmd = std::get_if<create_snapshot>(&c)) {
    if (auto ok = check_name("name", cmd->name, 64); !ok)
      return ok;
    return check_text("description", cmd->description, 1024);
  }
  return {};
}

} // namespace

decision<event> decide(const state& s, const command& c) {
  if (auto ok = validate_fields(c); !ok)
    return ok.error();
  const auto& p = s.power_state();
  if (!std::holds_alternative<create>(c)) {
    if (p.empty())
      return not_found(kind, s.id());
    if (p == power::deleted)
      return refused("DELETED", "vm " + s.id() + " is deleted");
  }
  return std::visit(
      overloaded{
          [&](const create& cmd) -> decision<event> {
            if (!p.empty())
              return already_exists(kind, s.id());
            if (auto ok = validate_spec(cmd.spec); !ok)
              return ok.error();
            VmCreated ev;
            ev.set_id(s.id());
            *ev.mutable_spec() = cmd.spec;
            return one(std::move(ev));
          },
          [&](const start& cmd) -> decision<event> {
            if (!in(p, {power::defined, power::stopped}))
              return invalid_state(s, "start");
            if (auto ok = check_name("node_id", cmd.node_id, 64); !ok)
              return ok.error();
            return one(move(s, power::starting, cmd.node_id));
          },
          [&](const confirm_running&) -> decision<event> {
            if (p == power::running)
              return std::vector<event>{}; // a repeated report changes nothing
            if (!in(p, {power::starting, power::paused}))
              return invalid_state(s, "confirm_running");
            return one(move(s, power::running, s.node_id()));
          },
          [&](const stop&) -> decision<event> {
            if (p != power::running)
              return invalid_state(s, "stop");
            return one(move(s, power::stopping, s.node_id()));
          },
          [&](const confirm_stopped&) -> decision<event> {
            if (p == power::stopped)
              return std::vector<event>{};
            if (p != power::stopping)
              return invalid_state(s, "confirm_stopped");
            return one(move(s, power::stopped, s.node_id()));
          },
          [&](const force_stop& cmd) -> decision<event> {
            if (!in(p, {power::starting, power::running, power::paused, power::stopping,
                        power::migrating, power::in_error}))
              return invalid_state(s, "force_stop");
            return one(move(s, power::stopped, s.node_id(), cmd.reason));
          },
          [&](const pause&) -> decision<event> {
            if (p != power::running)
              return invalid_state(s, "pause");
            return one(move(s, power::paused, s.node_id()));
          },
          [&](const resume&) -> decision<event> {
            if (p != power::paused)
              return invalid_state(s, "resume");
            return one(move(s, power::running, s.node_id()));
          },
          [&](const reboot&) -> decision<event> {
            if (p != power::running)
              return invalid_state(s, "reboot");
            VmRebooted ev;
            ev.set_id(s.id());
            return one(std::move(ev));
          },
          [&](const migrate& cmd) -> decision<event> {
            if (p != power::running)
              return invalid_state(s, "migrate");
            if (auto ok = check_name("target_node_id", cmd.target_node_id, 64); !ok)
              return ok.error();
            if (cmd.target_node_id == s.node_id())
              return refused("SAME_NODE", "vm " + s.id() + " already runs on " + s.node_id(),
                             {{"field", "target_node_id"}});
            VmMigrationStarted ev;
            ev.set_id(s.id());
            ev.set_source_node_id(s.node_id());
            ev.set_target_node_id(cmd.target_node_id);
            return one(std::move(ev));
          },
          [&](const complete_migration&) -> decision<event> {
            if (p != power::migrating)
              return invalid_state(s, "complete_migration");
            VmMigrated ev;
            ev.set_id(s.id());
            ev.set_source_node_id(s.node_id());
            ev.set_target_node_id(s.migration_target());
            return one(std::move(ev));
          },
          [&](const fail_migration& cmd) -> decision<event> {
            if (p != power::migrating)
              return invalid_state(s, "fail_migration");
            VmMigrationFailed ev;
            ev.set_id(s.id());
            ev.set_target_node_id(s.migration_target());
            ev.set_reason(cmd.reason);
            return one(std::move(ev));
          },
          [&](const mark_error& cmd) -> decision<event> {
            if (p == power::in_error)
              return std::vector<event>{};
            return one(move(s, power::in_error, s.node_id(), cmd.reason));
          },
          [&](const create_snapshot& cmd) -> decision<event> {
            if (auto ok = check_name("name", cmd.name, 64); !ok)
              return ok.error();
            if (auto ok = check_text("description", cmd.description, 1024); !ok)
              return ok.error();
            if (!in(p, {power::defined, power::running, power::paused, power::stopped}))
              return invalid_state(s, "create_snapshot");
            if (find_snapshot(s, cmd.name) != nullptr)
              return refused("SNAPSHOT_EXISTS", "vm " + s.id() + " has a snapshot " + cmd.name,
                             {{"field", "name"}});
            VmSnapshotCreated ev;
            ev.set_id(s.id());
            ev.set_name(cmd.name);
            ev.set_description(cmd.description);
            ev.set_power_state(p);
            return one(std::move(ev));
          },
          [&](const revert_snapshot& cmd) -> decision<event> {
            if (find_snapshot(s, cmd.name) == nullptr)
              return error{errc::not_found,
                           "vm " + s.id() + " has no snapshot " + cmd.name,
                           {{"field", "name"}}};
            if (!in(p, {power::defined, power::stopped}))
              return invalid_state(s, "revert_snapshot");
            VmSnapshotReverted ev;
            ev.set_id(s.id());
            ev.set_name(cmd.name);
            return one(std::move(ev));
          },
          [&](const delete_snapshot& cmd) -> decision<event> {
            if (find_snapshot(s, cmd.name) == nullptr)
              return error{errc::not_found,
                           "vm " + s.id() + " has no snapshot " + cmd.name,
                           {{"field", "name"}}};
            VmSnapshotDeleted ev;
            ev.set_id(s.id());
            ev.set_name(cmd.name);
            return one(std::move(ev));
          },
          [&](const remove&) -> decision<event> {
            if (!in(p, {power::defined, power::stopped, power::in_error}))
              return refused("VM_NOT_STOPPED", "vm " + s.id() + " must be stopped to be deleted",
                             {{"power_state", p}, {"command", "remove"}});
            VmDeleted ev;
            ev.set_id(s.id());
            return one(std::move(ev));
          },
      },
      c);
}

void evolve(state& s, const event& e) {
  std::visit(overloaded{
                 [&](const VmCreated& ev) {
                   s.set_power_state(power::defined);
                   *s.mutable_spec() = ev.spec();
                 },
                 [&](const VmPowerStateChanged& ev) {
                   s.set_power_state(ev.to());
                   s.set_last_reason(ev.reason());
                   // A VM that is off keeps no placement: its capacity is released.
                   s.set_node_id(ev.to() == power::stopped ? std::string{} : ev.node_id());
                   s.clear_migration_target();
                 },
                 [&](const VmRebooted&) {},
                 [&](const VmMigrationStarted& ev) {
                   s.set_power_state(power::migrating);
                   s.set_migration_target(ev.target_node_id());
                 },
                 [&](const VmMigrated& ev) {
                   s.set_power_state(power::running);
                   s.set_node_id(ev.target_node_id());
                   s.clear_migration_target();
                 },
                 [&](const VmMigrationFailed& ev) {
                   s.set_power_state(power::running);
                   s.set_last_reason(ev.reason());
                   s.clear_migration_target();
                 },
                 [&](const VmSnapshotCreated& ev) {
                   auto* snap = s.add_snapshots();
                   snap->set_name(ev.name());
                   snap->set_description(ev.description());
                   snap->set_power_state(ev.power_state());
                 },
                 [&](const VmSnapshotReverted&) {},
                 [&](const VmSnapshotDeleted& ev) {
                   auto* snaps = s.mutable_snapshots();
                   for (int i = 0; i < snaps->size(); ++i)
                     if (snaps->Get(i).name() == ev.name()) {
                       snaps->DeleteSubrange(i, 1);
                       break;
                     }
                 },
                 [&](const VmDeleted&) {
                   s.set_power_state(power::deleted);
                   s.clear_node_id();
                 },
             },
             e);
}

} // namespace qx::domain::vm
