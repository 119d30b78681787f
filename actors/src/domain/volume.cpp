#include "qx/actors/domain/volume.hpp"

#include "overloaded.hpp"

#include <algorithm>

namespace qx::domain::volume {

namespace {

using namespace events::v1;
using detail::overloaded;

constexpr auto one = &one_event<event>;

bool attached_to(const state& s, const std::string& vm_id) {
  return std::find(s.attached_vm_ids().begin(), s.attached_vm_ids().end(), vm_id) !=
         s.attached_vm_ids().end();
}

} // namespace

state initial(std::string_view id) {
  return initial_state<state>(id);
}

std::string_view name_of(const command& c) {
  static constexpr const char* names[] = {"create", "resize", "attach", "detach", "remove"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[c.index()];
}

decision<event> decide(const state& s, const command& c) {
  if (auto refusal = lifecycle_refusal(kind, s, std::holds_alternative<create>(c)))
    return *refusal;
  return std::visit(
      overloaded{
          [&](const create& cmd) -> decision<event> {
            if (auto ok = check_name("name", cmd.name, 80); !ok)
              return ok.error();
            if (auto ok = check_name("pool_id", cmd.pool_id, 64); !ok)
              return ok.error();
            if (cmd.size_bytes < min_size || cmd.size_bytes > max_size)
              return invalid_field("size_bytes", "size must be between 1 MiB and 64 TiB");
            if (cmd.format != "raw" && cmd.format != "qcow2")
              return invalid_field("format", "format must be raw or qcow2");
            VolumeCreated ev;
            ev.set_id(s.id());
            ev.set_name(cmd.name);
            ev.set_pool_id(cmd.pool_id);
            ev.set_size_bytes(cmd.size_bytes);
            ev.set_format(cmd.format);
            ev.set_shareable(cmd.shareable);
            return one(std::move(ev));
          },
          [&](const resize& cmd) -> decision<event> {
            if (cmd.size_bytes == s.size_bytes())
              return std::vector<event>{};
            if (cmd.size_bytes < s.size_bytes())
              return refused("VOLUME_SHRINK_REFUSED",
                             "volume " + s.id() + " can only grow (is " +
                                 std::to_string(s.size_bytes()) + " bytes)",
                             {{"field", "size_bytes"}});
            if (cmd.size_bytes > max_size)
              return invalid_field("size_bytes", "size must be at most 64 TiB");
            VolumeResized ev;
            ev.set_id(s.id());
            ev.set_from_bytes(s.size_bytes());
            ev.set_to_bytes(cmd.size_bytes);
            return one(std::move(ev));
          },
          [&](const attach& cmd) -> decision<event> {
            if (auto ok = check_name("vm_id", cmd.vm_id, 64); !ok)
              return ok.error();
            if (attached_to(s, cmd.vm_id))
              return std::vector<event>{};
            if (!s.shareable() && s.attached_vm_ids_size() > 0)
              return refused("VOLUME_IN_USE",
                             "volume " + s.id() + " is attached to " + s.attached_vm_ids(0),
                             {{"vm_id", s.attached_vm_ids(0)}});
            VolumeAttached ev;
            ev.set_id(s.id());
            ev.set_vm_id(cmd.vm_id);
            return one(std::move(ev));
          },
          [&](const detach& cmd) -> decision<event> {
            if (auto ok = check_name("vm_id", cmd.vm_id, 64); !ok)
              return ok.error();
            if (!attached_to(s, cmd.vm_id))
              return refused("VOLUME_NOT_ATTACHED",
                             "volume " + s.id() + " is not attached to " + cmd.vm_id,
                             {{"field", "vm_id"}});
            VolumeDetached ev;
            ev.set_id(s.id());
            ev.set_vm_id(cmd.vm_id);
            return one(std::move(ev));
          },
          [&](const remove&) -> decision<event> {
            if (s.attached_vm_ids_size() > 0)
              return refused("VOLUME_ATTACHED", "volume " + s.id() + " is still attached",
                             {{"vm_id", s.attached_vm_ids(0)}});
            VolumeDeleted ev;
            ev.set_id(s.id());
            return one(std::move(ev));
          },
      },
      c);
}

void evolve(state& s, const event& e) {
  std::visit(overloaded{
                 [&](const VolumeCreated& ev) {
                   s.set_created(true);
                   s.set_name(ev.name());
                   s.set_pool_id(ev.pool_id());
                   s.set_size_bytes(ev.size_bytes());
                   s.set_format(ev.format());
                   s.set_shareable(ev.shareable());
                 },
                 [&](const VolumeResized& ev) { s.set_size_bytes(ev.to_bytes()); },
                 [&](const VolumeAttached& ev) { s.add_attached_vm_ids(ev.vm_id()); },
                 [&](const VolumeDetached& ev) {
                   auto* ids = s.mutable_attached_vm_ids();
                   ids->erase(std::remove(ids->begin(), ids->end(), ev.vm_id()), ids->end());
                 },
                 [&](const VolumeDeleted&) { s.set_deleted(true); },
             },
             e);
}

} // namespace qx::domain::volume
