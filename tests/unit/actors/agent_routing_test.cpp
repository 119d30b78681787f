// Which agents an event of the log reaches, without threads: the VM's node (and the node a
// stopped VM last ran on), a pool's nodes, the node a pool was assigned to, every node for a
// network, a node's cluster change; and nothing for what it cannot read.
#include <qx/actors/domain/agent_routing.hpp>

#include <qx/events/v1/network.pb.h>
#include <qx/events/v1/storage.pb.h>
#include <qx/events/v1/vm.pb.h>

#include <gtest/gtest.h>

#include <map>

namespace qx::domain::agent_logic {
namespace {

events::recorded_event event(const std::string& stream, const std::string& type,
                             const google::protobuf::Message& payload) {
  events::recorded_event e;
  e.stream = stream;
  e.type = "qx.events.v1." + type;
  e.payload = payload.SerializeAsString();
  return e;
}

events::recorded_event power_change(const std::string& vm_id, const std::string& from,
                                    const std::string& to) {
  events::v1::VmPowerStateChanged p;
  p.set_id(vm_id);
  p.set_from(from);
  p.set_to(to);
  return event("vm-" + vm_id, "VmPowerStateChanged", p);
}

/// The read models as the router reads them.
struct read_models {
  std::map<std::string, snapshots::v1::VmState> vms;
  std::map<std::string, snapshots::v1::VolumeState> volumes;
  std::map<std::string, snapshots::v1::StoragePoolState> pools;
  std::map<std::string, std::string> clusters;
  std::vector<std::string> nodes;

  template<class Map>
  static std::optional<typename Map::mapped_type> find(const Map& m, const std::string& id) {
    const auto it = m.find(id);
    if (it == m.end())
      return std::nullopt;
    return it->second;
  }

  [[nodiscard]] routing_reads reads() const {
    routing_reads r;
    r.vm = [this](const std::string& id) {
      return find(vms, id);
    };
    r.volume = [this](const std::string& id) {
      return find(volumes, id);
    };
    r.pool = [this](const std::string& id) {
      return find(pools, id);
    };
    r.cluster_of = [this](const std::string& id) {
      return find(clusters, id).value_or("");
    };
    r.live_volumes = [this](const std::string& id) {
      return find(volumes, id);
    };
    r.libvirt_uris = [](const std::string& node) {
      return "qemu+tls://" + node + "/system";
    };
    r.nodes = [this] {
      return nodes;
    };
    return r;
  }

  void vm(const std::string& id, const std::string& power, const std::string& node) {
    auto& s = vms[id];
    s.set_id(id);
    s.set_power_state(power);
    s.set_node_id(node);
    s.mutable_spec()->set_name(id);
    s.mutable_spec()->set_vcpus(1);
    s.mutable_spec()->set_memory_mib(512);
  }
};

std::vector<std::string> nodes_of(const routed& r) {
  std::vector<std::string> out;
  for (const auto& c : r.commands)
    out.push_back(c.node_id);
  return out;
}

TEST(agent_routing, a_vm_event_goes_to_the_vm_node_and_a_stopped_vm_is_removed_where_it_ran) {
  read_models m;
  event_router router;
  m.vm("vm-1", "starting", "n2");
  auto r = router.route(power_change("vm-1", "stopped", "starting"), m.reads());
  ASSERT_EQ(nodes_of(r), std::vector<std::string>{"n2"});
  EXPECT_TRUE(r.commands[0].command.command.has_define_and_start());

  // Stopped: the log no longer names a node, but libvirt on n2 still defines the domain.
  m.vm("vm-1", "stopped", "");
  r = router.route(power_change("vm-1", "running", "stopped"), m.reads());
  ASSERT_EQ(nodes_of(r), std::vector<std::string>{"n2"});
  events::v1::VmDeleted deleted;
  deleted.set_id("vm-1");
  r = router.route(event("vm-vm-1", "VmDeleted", deleted), m.reads());
  ASSERT_EQ(nodes_of(r), std::vector<std::string>{"n2"});
  EXPECT_EQ(r.commands[0].command.command.domain_action().action(), "undefine");
  // Forgotten once deleted.
  EXPECT_TRUE(router.route(event("vm-vm-1", "VmDeleted", deleted), m.reads()).commands.empty());
}

TEST(agent_routing, a_migration_names_the_target_host_uri) {
  read_models m;
  event_router router;
  m.vm("vm-1", "migrating", "n1");
  m.vms["vm-1"].set_migration_target("n3");
  events::v1::VmMigrationStarted started;
  started.set_id("vm-1");
  const auto r = router.route(event("vm-vm-1", "VmMigrationStarted", started), m.reads());
  ASSERT_EQ(nodes_of(r), std::vector<std::string>{"n1"});
  EXPECT_EQ(r.commands[0].command.command.migrate().destination_uri(), "qemu+tls://n3/system");
}

TEST(agent_routing, a_volume_goes_to_every_node_of_its_pool) {
  read_models m;
  event_router router;
  auto& pool = m.pools["p1"];
  pool.set_id("p1");
  pool.add_node_ids("n1");
  pool.add_node_ids("n3");
  auto& v = m.volumes["d1"];
  v.set_id("d1");
  v.set_pool_id("p1");
  events::v1::VolumeCreated created;
  created.set_id("d1");
  auto r = router.route(event("volume-d1", "VolumeCreated", created), m.reads());
  EXPECT_EQ(nodes_of(r), (std::vector<std::string>{"n1", "n3"}));
  EXPECT_TRUE(r.commands[0].command.command.has_create_volume());
  events::v1::VolumeDeleted deleted;
  deleted.set_id("d1");
  r = router.route(event("volume-d1", "VolumeDeleted", deleted), m.reads());
  EXPECT_EQ(nodes_of(r), (std::vector<std::string>{"n1", "n3"}));
  EXPECT_EQ(r.commands[1].command.command.delete_volume().volume_id(), "d1");
  // A volume of a pool the read models do not know reaches nobody.
  m.volumes["d1"].set_pool_id("gone");
  EXPECT_TRUE(
      router.route(event("volume-d1", "VolumeCreated", created), m.reads()).commands.empty());
}

TEST(agent_routing, a_pool_goes_to_the_node_it_was_assigned_to_with_its_path) {
  read_models m;
  event_router router;
  auto& pool = m.pools["p1"];
  pool.set_id("p1");
  (*pool.mutable_settings())["path"] = "/srv/p1";
  events::v1::StoragePoolAssigned assigned;
  assigned.set_pool_id("p1");
  assigned.set_node_id("n2");
  const auto r = router.route(event("pool-p1", "StoragePoolAssigned", assigned), m.reads());
  ASSERT_EQ(nodes_of(r), std::vector<std::string>{"n2"});
  EXPECT_EQ(r.commands[0].command.command.create_pool().path(), "/srv/p1");
}

TEST(agent_routing, a_network_goes_to_every_node_with_a_proxy) {
  read_models m;
  event_router router;
  m.nodes = {"n1", "n2"};
  events::v1::NetworkCreated created;
  created.set_id("net-1");
  created.set_cidr("10.1.0.0/24");
  const auto r = router.route(event("net-net-1", "NetworkCreated", created), m.reads());
  EXPECT_EQ(nodes_of(r), (std::vector<std::string>{"n1", "n2"}));
  EXPECT_TRUE(r.commands[1].command.command.has_create_network());
}

TEST(agent_routing, a_node_is_told_its_new_cluster) {
  read_models m;
  event_router router;
  m.clusters["n1"] = "c1";
  events::v1::VmDeleted any; // the membership events' payloads are not read
  const auto r = router.route(event("node-n1", "NodeJoinedCluster", any), m.reads());
  ASSERT_TRUE(r.membership.has_value());
  EXPECT_EQ(r.membership->node_id, "n1");
  EXPECT_EQ(r.membership->cluster_id, "c1");
}

TEST(agent_routing, a_payload_that_does_not_parse_reaches_nobody) {
  read_models m;
  event_router router;
  m.nodes = {"n1"};
  for (const auto* type : {"NetworkCreated", "StoragePoolAssigned"}) {
    events::recorded_event e;
    e.stream = "x";
    e.type = std::string{"qx.events.v1."} + type;
    e.payload = std::string("\xff\xff\xff", 3);
    EXPECT_TRUE(router.route(e, m.reads()).commands.empty()) << type;
  }
}

} // namespace
} // namespace qx::domain::agent_logic
