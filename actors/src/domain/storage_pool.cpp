#include "qx/actors/domain/storage_pool.hpp"

#include "overloaded.hpp"

#include <algorithm>
#include <set>

namespace qx::domain::storage_pool {

namespace {

using namespace events::v1;
using detail::overloaded;

constexpr auto one = &one_event<event>;

/// The settings each pool type requires (and allows).
const std::map<std::string, std::set<std::string>>& required_settings() {
  static const std::map<std::string, std::set<std::string>> table = {
      {"dir", {"path"}},
      {"nfs", {"server", "export"}},
      {"ceph-rbd", {"monitors", "pool"}},
      {"iscsi", {"portal", "target"}},
  };
  return table;
}

status check_settings(const create& cmd) {
  auto it = required_settings().find(cmd.type);
  if (it == required_settings().end())
    return invalid_field("type", "type must be dir, nfs, ceph-rbd or iscsi");
  for (const auto& key : it->second)
    if (cmd.settings.count(key) == 0)
      return invalid_field("settings." + key, cmd.type + " pools need settings." + key);
  for (const auto& [key, value] : cmd.settings) {
    if (it->second.count(key) == 0)
      return invalid_field("settings." + key, "unknown setting for a " + cmd.type + " pool");
    if (value.empty())
      return invalid_field("settings." + key, "settings." + key + " is empty");
    if (auto ok = check_text("settings." + key, value, 1024); !ok)
      return ok;
  }
  if (cmd.type == "dir" || cmd.type == "nfs") {
    const auto& path = cmd.settings.at(cmd.type == "dir" ? "path" : "export");
    const auto field = std::string{"settings."} + (cmd.type == "dir" ? "path" : "export");
    if (path.front() != '/')
      return invalid_field(field, "the path must be absolute");
    if (path.find("/../") != std::string::npos || path.ends_with("/..") ||
        path.find("/./") != std::string::npos || path.ends_with("/."))
      return invalid_field(field, "the path must not hold . or .. components");
  }
  return {};
}

bool assigned(const state& s, const std::string& node_id) {
  return std::find(s.node_ids().begin(), s.node_ids().end(), node_id) != s.node_ids().end();
}

error pool_full(const state& s, std::uint64_t wanted) {
  return error{errc::resource_exhausted,
               "pool " + s.id() + " has " +
                   std::to_string(s.capacity_bytes() - allocated_bytes(s)) + " bytes free, " +
                   std::to_string(wanted) + " wanted",
               {{"reason", "POOL_FULL"},
                {"free_bytes", std::to_string(s.capacity_bytes() - allocated_bytes(s))}}};
}

} // namespace

state initial(std::string_view id) {
  return initial_state<state>(id);
}

std::uint64_t allocated_bytes(const state& s) {
  std::uint64_t n = 0;
  for (const auto& [id, size] : s.volumes())
    n += size;
  return n;
}

std::string_view name_of(const command& c) {
  static constexpr const char* names[] = {
      "create", "assign", "unassign", "add_volume", "resize_volume", "remove_volume", "remove"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[c.index()];
}

decision<event> decide(const state& s, const command& c) {
  if (auto refusal = lifecycle_refusal(kind, s, std::holds_alternative<create>(c)))
    return *refusal;
  return std::visit(overloaded{
                        [&](const create& cmd) -> decision<event> {
                          if (auto ok = check_name("name", cmd.name, 80); !ok)
                            return ok.error();
                          if (auto ok = check_settings(cmd); !ok)
                            return ok.error();
                          if (cmd.capacity_bytes == 0)
                            return invalid_field("capacity_bytes", "capacity must be more than 0");
                          StoragePoolCreated ev;
                          ev.set_id(s.id());
                          ev.set_name(cmd.name);
                          ev.set_type(cmd.type);
                          ev.mutable_settings()->insert(cmd.settings.begin(), cmd.settings.end());
                          ev.set_capacity_bytes(cmd.capacity_bytes);
                          return one(std::move(ev));
                        },
                        [&](const assign& cmd) -> decision<event> {
                          if (auto ok = check_name("node_id", cmd.node_id, 64); !ok)
                            return ok.error();
                          if (assigned(s, cmd.node_id))
                            return std::vector<event>{};
                          StoragePoolAssigned ev;
                          ev.set_pool_id(s.id());
                          ev.set_node_id(cmd.node_id);
                          return one(std::move(ev));
                        },
                        [&](const unassign& cmd) -> decision<event> {
                          if (auto ok = check_name("node_id", cmd.node_id, 64); !ok)
                            return ok.error();
                          if (!assigned(s, cmd.node_id))
                            return refused("NODE_NOT_ASSIGNED",
                                           "pool " + s.id() + " is not assigned to node " +
                                               cmd.node_id,
                                           {{"field", "node_id"}});
                          StoragePoolUnassigned ev;
                          ev.set_pool_id(s.id());
                          ev.set_node_id(cmd.node_id);
                          return one(std::move(ev));
                        },
                        [&](const add_volume& cmd) -> decision<event> {
                          if (auto ok = check_name("volume_id", cmd.volume_id, 64); !ok)
                            return ok.error();
                          if (cmd.size_bytes == 0)
                            return invalid_field("size_bytes", "size must be more than 0");
                          if (s.volumes().count(cmd.volume_id) != 0)
                            return already_exists("volume", cmd.volume_id);
                          if (cmd.size_bytes > s.capacity_bytes() - allocated_bytes(s))
                            return pool_full(s, cmd.size_bytes);
                          StoragePoolVolumeAdded ev;
                          ev.set_pool_id(s.id());
                          ev.set_volume_id(cmd.volume_id);
                          ev.set_size_bytes(cmd.size_bytes);
                          return one(std::move(ev));
                        },
                        [&](const resize_volume& cmd) -> decision<event> {
                          if (auto ok = check_name("volume_id", cmd.volume_id, 64); !ok)
                            return ok.error();
                          auto it = s.volumes().find(cmd.volume_id);
                          if (it == s.volumes().end())
                            return error{errc::not_found,
                                         "pool " + s.id() + " holds no volume " + cmd.volume_id,
                                         {{"field", "volume_id"}}};
                          if (cmd.size_bytes < it->second)
                            return refused("VOLUME_SHRINK_REFUSED", "volumes only grow",
                                           {{"field", "size_bytes"}});
                          if (cmd.size_bytes == it->second)
                            return std::vector<event>{};
                          if (cmd.size_bytes - it->second > s.capacity_bytes() - allocated_bytes(s))
                            return pool_full(s, cmd.size_bytes - it->second);
                          StoragePoolVolumeResized ev;
                          ev.set_pool_id(s.id());
                          ev.set_volume_id(cmd.volume_id);
                          ev.set_size_bytes(cmd.size_bytes);
                          return one(std::move(ev));
                        },
                        [&](const remove_volume& cmd) -> decision<event> {
                          if (auto ok = check_name("volume_id", cmd.volume_id, 64); !ok)
                            return ok.error();
                          if (s.volumes().count(cmd.volume_id) == 0)
                            return std::vector<event>{};
                          StoragePoolVolumeRemoved ev;
                          ev.set_pool_id(s.id());
                          ev.set_volume_id(cmd.volume_id);
                          return one(std::move(ev));
                        },
                        [&](const remove&) -> decision<event> {
                          if (!s.volumes().empty())
                            return refused("POOL_NOT_EMPTY",
                                           "pool " + s.id() + " holds " +
                                               std::to_string(s.volumes_size()) + " volumes",
                                           {{"volumes", std::to_string(s.volumes_size())}});
                          StoragePoolDeleted ev;
                          ev.set_id(s.id());
                          return one(std::move(ev));
                        },
                    },
                    c);
}

void evolve(state& s, const event& e) {
  std::visit(
      overloaded{
          [&](const StoragePoolCreated& ev) {
            s.set_created(true);
            s.set_name(ev.name());
            s.set_type(ev.type());
            *s.mutable_settings() = ev.settings();
            s.set_capacity_bytes(ev.capacity_bytes());
          },
          [&](const StoragePoolAssigned& ev) { s.add_node_ids(ev.node_id()); },
          [&](const StoragePoolUnassigned& ev) {
            auto* ids = s.mutable_node_ids();
            ids->erase(std::remove(ids->begin(), ids->end(), ev.node_id()), ids->end());
          },
          [&](const StoragePoolVolumeAdded& ev) {
            (*s.mutable_volumes())[ev.volume_id()] = ev.size_bytes();
          },
          [&](const StoragePoolVolumeResized& ev) {
            (*s.mutable_volumes())[ev.volume_id()] = ev.size_bytes();
          },
          [&](const StoragePoolVolumeRemoved& ev) { s.mutable_volumes()->erase(ev.volume_id()); },
          [&](const StoragePoolDeleted&) { s.set_deleted(true); },
      },
      e);
}

} // namespace qx::domain::storage_pool
