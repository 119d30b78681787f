#include "qx/actors/domain/agent_routing.hpp"

#include "qx/actors/domain/storage_pool.hpp"
#include "qx/actors/domain/volume.hpp"

#include <qx/events/text_fields.hpp>
#include <qx/events/v1/network.pb.h>
#include <qx/events/v1/storage.pb.h>

#include <string_view>

namespace qx::domain::agent_logic {

namespace {

/// The id of the aggregate a stream belongs to, when it has that prefix.
std::optional<std::string> id_in(const std::string& stream, std::string_view prefix) {
  if (!stream.starts_with(prefix))
    return std::nullopt;
  return stream.substr(prefix.size());
}

routed pool_assigned(const events::recorded_event& e, const routing_reads& reads) {
  events::v1::StoragePoolAssigned ev;
  if (!qx::events::parse_message(ev, e.payload))
    return {};
  auto pool = reads.pool(ev.pool_id());
  if (!pool) {
    pool.emplace();
    pool->set_id(ev.pool_id());
  }
  routed out;
  out.commands.push_back({ev.node_id(), {create_pool(*pool), "", "infrastructure"}});
  return out;
}

routed volume_changed(const events::recorded_event& e, const std::string& volume_id,
                      const routing_reads& reads) {
  const bool created = e.type == "qx.events.v1.VolumeCreated";
  if (!created && e.type != "qx.events.v1.VolumeDeleted")
    return {};
  const auto volume = reads.volume(volume_id);
  if (!volume)
    return {};
  const auto pool = reads.pool(volume->pool_id());
  if (!pool)
    return {};
  const auto c = created ? create_volume(*volume) : delete_volume(volume->pool_id(), volume_id);
  routed out;
  for (const auto& node : pool->node_ids())
    out.commands.push_back({node, {c, "", "infrastructure"}});
  return out;
}

routed network_created(const events::recorded_event& e, const routing_reads& reads) {
  events::v1::NetworkCreated ev;
  if (!qx::events::parse_message(ev, e.payload))
    return {};
  const auto c = create_network(ev.id(), ev.cidr());
  routed out;
  for (const auto& node : reads.nodes())
    out.commands.push_back({node, {c, "", "infrastructure"}});
  return out;
}

} // namespace

routed event_router::route(const events::recorded_event& e, const routing_reads& reads) {
  if (auto vm_id = id_in(e.stream, vm::stream_prefix))
    return route_vm(e, *vm_id, reads);
  if (e.type == "qx.events.v1.StoragePoolAssigned")
    return pool_assigned(e, reads);
  if (auto volume_id = id_in(e.stream, volume::stream_prefix))
    return volume_changed(e, *volume_id, reads);
  if (e.type == "qx.events.v1.NetworkCreated")
    return network_created(e, reads);
  if (e.type == "qx.events.v1.NodeJoinedCluster" || e.type == "qx.events.v1.NodeLeftCluster") {
    const auto node_id = id_in(e.stream, node::stream_prefix);
    if (!node_id)
      return {};
    return routed{{}, membership_change{*node_id, reads.cluster_of(*node_id)}};
  }
  return {};
}

routed event_router::route_vm(const events::recorded_event& e, const std::string& vm_id,
                              const routing_reads& reads) {
  const auto vm = reads.vm(vm_id);
  if (!vm)
    return {};
  // A stopped VM leaves its node in the log but stays defined on the host: removing it must
  // reach that host.
  std::string node_id = vm->node_id();
  if (node_id.empty()) {
    const auto it = last_node_.find(vm_id);
    if (it != last_node_.end())
      node_id = it->second;
  } else {
    last_node_[vm_id] = node_id;
  }
  if (e.type == "qx.events.v1.VmDeleted")
    last_node_.erase(vm_id);
  if (node_id.empty())
    return {};
  auto c = for_vm_event(e, *vm, reads.live_volumes, reads.libvirt_uris);
  if (!c)
    return {};
  routed out;
  out.commands.push_back({std::move(node_id), std::move(*c)});
  return out;
}

} // namespace qx::domain::agent_logic
