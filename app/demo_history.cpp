#include "demo_history.hpp"

#include <qx/events/v1/cluster.pb.h>
#include <qx/events/v1/node.pb.h>
#include <qx/events/v1/storage.pb.h>
#include <qx/events/v1/vm.pb.h>

#include <string>

namespace qx::app {

namespace {

template<class Message>
events::new_event make_event(const Message& msg) {
  return {std::string{Message::descriptor()->full_name()}, msg.SerializeAsString()};
}

status append(events::event_store& store, const std::string& stream, events::new_event ev,
              const std::string& command_id) {
  events::append_request req;
  req.stream = stream;
  req.expected = events::expected_version::any();
  req.events.push_back(std::move(ev));
  req.metadata = {"user:admin", "demo", "", "demo-" + command_id};
  auto res = store.append(std::move(req));
  if (!res)
    return std::move(res).error();
  return {};
}

} // namespace

status append_demo_history(events::event_store& store) {
  using namespace events::v1;
  ClusterCreated cluster;
  cluster.set_id("cluster-prod");
  cluster.set_name("prod");
  cluster.set_description("demo cluster");
  if (auto ok = append(store, "cluster-prod", make_event(cluster), "cluster"); !ok)
    return ok;
  const std::pair<const char*, unsigned> hosts[] = {{"node-1", 16}, {"node-2", 32}, {"node-3", 64}};
  for (const auto& [id, cores] : hosts) {
    NodeRegistered node;
    node.set_id(id);
    node.set_hostname(std::string{id} + ".lab");
    node.mutable_hardware()->set_cpu_cores(cores);
    node.mutable_hardware()->set_cpu_threads(cores * 2);
    node.mutable_hardware()->set_memory_mib(std::uint64_t{cores} * 8 * 1024);
    if (auto ok = append(store, id, make_event(node), std::string{id} + "-registered"); !ok)
      return ok;
    ClusterNodeAdded added;
    added.set_cluster_id("cluster-prod");
    added.set_node_id(id);
    if (auto ok = append(store, "cluster-prod", make_event(added), std::string{id} + "-added"); !ok)
      return ok;
  }
  StoragePoolCreated pool;
  pool.set_id("pool-local");
  pool.set_name("local");
  pool.set_type("dir");
  pool.set_capacity_bytes(std::uint64_t{2} << 40U);
  if (auto ok = append(store, "pool-local", make_event(pool), "pool"); !ok)
    return ok;
  for (int i = 1; i <= 4; ++i) {
    const auto id = "vm-" + std::to_string(i);
    VmCreated vm;
    vm.set_id(id);
    vm.mutable_spec()->set_name("web-" + std::to_string(i));
    vm.mutable_spec()->set_vcpus(2);
    vm.mutable_spec()->set_memory_mib(4096);
    if (auto ok = append(store, id, make_event(vm), id + "-created"); !ok)
      return ok;
    VmPowerStateChanged on;
    on.set_id(id);
    on.set_from("stopped");
    on.set_to("running");
    on.set_node_id(hosts[i % 3].first);
    if (auto ok = append(store, id, make_event(on), id + "-started"); !ok)
      return ok;
  }
  return {};
}

} // namespace qx::app
