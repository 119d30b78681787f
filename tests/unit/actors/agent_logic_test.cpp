// The node proxy's decisions without threads or sockets: which command a VM event sends to its
// host, how a libvirt event moves the VM aggregate, and reconciliation after a reconnect.
#include <qx/actors/domain/agent_logic.hpp>

#include <qx/events/v1/vm.pb.h>

#include <gtest/gtest.h>

namespace qx::domain {
namespace {

namespace vm = domain::vm;
namespace pb = agent::v1;
using agent_logic::vm_on_node;

snapshots::v1::VmState vm_state(const std::string& id, const std::string& power) {
  snapshots::v1::VmState s;
  s.set_id(id);
  s.set_power_state(power);
  s.set_node_id("n1");
  s.mutable_spec()->set_name("web <&>");
  s.mutable_spec()->set_vcpus(2);
  s.mutable_spec()->set_memory_mib(1024);
  s.mutable_spec()->add_volume_ids("disk-1");
  s.mutable_spec()->add_volume_ids("disk-unknown");
  s.mutable_spec()->add_network_ids("net-1");
  return s;
}

events::recorded_event power_change(const std::string& from, const std::string& to) {
  events::v1::VmPowerStateChanged p;
  p.set_id("vm-1");
  p.set_from(from);
  p.set_to(to);
  events::recorded_event e;
  e.stream = "vm-vm-1";
  e.type = "qx.events.v1.VmPowerStateChanged";
  e.payload = p.SerializeAsString();
  return e;
}

std::optional<snapshots::v1::VolumeState> volumes(const std::string& id) {
  if (id != "disk-1")
    return std::nullopt;
  snapshots::v1::VolumeState v;
  v.set_id(id);
  v.set_pool_id("pool-1");
  v.set_size_bytes(1U << 30U);
  return v;
}

std::string action_of(const std::optional<pb::Command>& c) {
  return c && c->has_domain_action() ? c->domain_action().action() : "";
}

TEST(agent_logic, a_start_defines_and_starts_with_the_disks_the_inventory_knows) {
  const auto c = agent_logic::command_after(power_change("stopped", "starting"),
                                            vm_state("vm-1", "starting"), volumes);
  ASSERT_TRUE(c && c->has_define_and_start());
  const auto& d = c->define_and_start();
  EXPECT_EQ(d.vm_id(), "vm-1");
  EXPECT_EQ(d.name(), "web <&>");
  EXPECT_EQ(d.vcpus(), 2u);
  EXPECT_EQ(d.memory_mib(), 1024u);
  ASSERT_EQ(d.disks_size(), 1);
  EXPECT_EQ(d.disks(0).pool_id(), "pool-1");
  EXPECT_EQ(d.network_ids(0), "net-1");
}

TEST(agent_logic, each_power_change_maps_to_its_libvirt_action) {
  const auto s = vm_state("vm-1", "x");
  EXPECT_EQ(action_of(agent_logic::command_after(power_change("running", "stopping"), s, volumes)),
            "shutdown");
  EXPECT_EQ(action_of(agent_logic::command_after(power_change("running", "stopped"), s, volumes)),
            "destroy");
  // The end of a shutdown the host reported is not a second command.
  EXPECT_FALSE(agent_logic::command_after(power_change("stopping", "stopped"), s, volumes));
  EXPECT_EQ(action_of(agent_logic::command_after(power_change("running", "paused"), s, volumes)),
            "suspend");
  EXPECT_EQ(action_of(agent_logic::command_after(power_change("paused", "running"), s, volumes)),
            "resume");
  // Confirmations of what the host did ask nothing more of it.
  EXPECT_FALSE(agent_logic::command_after(power_change("starting", "running"), s, volumes));
  events::recorded_event deleted;
  deleted.type = "qx.events.v1.VmDeleted";
  EXPECT_EQ(action_of(agent_logic::command_after(deleted, s, volumes)), "undefine");
  events::recorded_event broken = power_change("a", "b");
  broken.payload = "\xff\xff not protobuf";
  EXPECT_FALSE(agent_logic::command_after(broken, s, volumes));
}

pb::DomainEvent domain_event(const std::string& kind, const std::string& detail = "booted") {
  pb::DomainEvent e;
  e.set_id("vm-1");
  e.set_kind(kind);
  e.set_detail(detail);
  return e;
}

template<class T>
bool is(const std::optional<vm::command>& c) {
  return c && std::holds_alternative<T>(*c);
}

TEST(agent_logic, libvirt_events_confirm_or_correct_the_recorded_state) {
  EXPECT_TRUE(is<vm::confirm_running>(agent_logic::follow(domain_event("started"), "starting")));
  EXPECT_FALSE(agent_logic::follow(domain_event("started"), "running"));
  EXPECT_TRUE(is<vm::confirm_stopped>(
      agent_logic::follow(domain_event("stopped", "shutdown"), "stopping")));
  const auto crashed = agent_logic::follow(domain_event("crashed", "panicked"), "running");
  ASSERT_TRUE(is<vm::force_stop>(crashed));
  EXPECT_EQ(std::get<vm::force_stop>(*crashed).reason.rfind("STOPPED_ON_HOST", 0), 0u);
  EXPECT_FALSE(agent_logic::follow(domain_event("stopped", "migrated"), "migrating"));
  EXPECT_TRUE(is<vm::pause>(agent_logic::follow(domain_event("suspended"), "running")));
  EXPECT_TRUE(is<vm::resume>(agent_logic::follow(domain_event("resumed"), "paused")));
  EXPECT_FALSE(agent_logic::follow(domain_event("defined"), "running"));
}

TEST(agent_logic, reconciliation_records_what_the_host_reports_and_resends_what_it_lacks) {
  pb::Hello hello;
  auto add = [&](const std::string& id, const std::string& state) {
    auto* d = hello.add_domains();
    d->set_id(id);
    d->set_state(state);
  };
  add("was-running-now-off", "shutoff");
  add("starting-and-up", "running");
  add("stopping-still-up", "running");
  add("paused-on-host", "paused");
  add("fine", "running");
  const std::vector<vm_on_node> vms{
      {vm_state("was-running-now-off", "running"), 7}, {vm_state("gone", "running"), 3},
      {vm_state("starting-and-up", "starting"), 2},    {vm_state("starting-lost", "starting"), 2},
      {vm_state("stopping-still-up", "stopping"), 4},  {vm_state("stopping-done", "stopping"), 4},
      {vm_state("paused-on-host", "running"), 5},      {vm_state("fine", "running"), 9}};
  const auto steps = agent_logic::reconcile(hello, vms, volumes);
  std::map<std::string, agent_logic::reconcile_step> by_vm;
  for (const auto& s : steps)
    by_vm.emplace(s.vm_id, s);
  EXPECT_EQ(by_vm.count("fine"), 0u);
  ASSERT_TRUE(is<vm::force_stop>(by_vm.at("was-running-now-off").record));
  EXPECT_EQ(std::get<vm::force_stop>(*by_vm.at("was-running-now-off").record)
                .reason.rfind("FOUND_STOPPED", 0),
            0u);
  EXPECT_EQ(by_vm.at("was-running-now-off").version, 7u);
  EXPECT_TRUE(is<vm::force_stop>(by_vm.at("gone").record));
  EXPECT_TRUE(is<vm::confirm_running>(by_vm.at("starting-and-up").record));
  ASSERT_TRUE(by_vm.at("starting-lost").resend);
  EXPECT_TRUE(by_vm.at("starting-lost").resend->has_define_and_start());
  EXPECT_EQ(action_of(by_vm.at("stopping-still-up").resend), "shutdown");
  EXPECT_TRUE(is<vm::confirm_stopped>(by_vm.at("stopping-done").record));
  EXPECT_TRUE(is<vm::pause>(by_vm.at("paused-on-host").record));
}

} // namespace
} // namespace qx::domain

namespace qx::domain {
namespace {

TEST(agent_logic, infrastructure_commands_carry_what_the_host_needs) {
  snapshots::v1::StoragePoolState pool;
  pool.set_id("pool-1");
  EXPECT_EQ(agent_logic::create_pool(pool).create_pool().path(), "");
  (*pool.mutable_settings())["path"] = "/srv/pools/p1";
  const auto p = agent_logic::create_pool(pool);
  EXPECT_EQ(p.create_pool().pool_id(), "pool-1");
  EXPECT_EQ(p.create_pool().path(), "/srv/pools/p1");
  snapshots::v1::VolumeState v;
  v.set_id("disk-1");
  v.set_pool_id("pool-1");
  v.set_size_bytes(4096);
  v.set_format("raw");
  const auto c = agent_logic::create_volume(v).create_volume();
  EXPECT_EQ(c.format(), "raw") << "the host creates the format the user asked for";
  EXPECT_EQ(c.pool_id(), "pool-1");
  EXPECT_EQ(c.volume_id(), "disk-1");
  EXPECT_EQ(c.capacity_bytes(), 4096u);
  const auto n = agent_logic::create_network(std::string(64, 'n'), "10.0.0.0/24").create_network();
  EXPECT_EQ(n.cidr(), "10.0.0.0/24");
  EXPECT_LE(n.bridge().size(), 15u) << "Linux interface names are at most 15 characters";
  EXPECT_EQ(n.bridge(),
            agent_logic::create_network(std::string(64, 'n'), "").create_network().bridge())
      << "the same network gets the same bridge on every host";
}

} // namespace
} // namespace qx::domain

namespace qx::domain {
namespace {

TEST(agent_logic, a_node_gets_its_pools_their_volumes_and_every_network) {
  agent_logic::infrastructure known;
  snapshots::v1::StoragePoolState mine;
  mine.set_id("p1");
  mine.add_node_ids("n0");
  mine.add_node_ids("n1");
  snapshots::v1::StoragePoolState other;
  other.set_id("p2");
  other.add_node_ids("n2");
  known.pools = {other, mine};
  snapshots::v1::VolumeState in_mine;
  in_mine.set_id("d1");
  in_mine.set_pool_id("p1");
  snapshots::v1::VolumeState in_other;
  in_other.set_id("d2");
  in_other.set_pool_id("p2");
  known.volumes = {in_other, in_mine};
  snapshots::v1::NetworkState net;
  net.set_id("net-1");
  net.set_cidr("10.1.0.0/24");
  known.networks = {net};
  const auto out = agent_logic::infrastructure_for("n1", known);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].command.create_pool().pool_id(), "p1");
  EXPECT_EQ(out[1].command.create_volume().volume_id(), "d1");
  EXPECT_EQ(out[2].command.create_network().cidr(), "10.1.0.0/24");
  for (const auto& c : out) {
    EXPECT_EQ(c.kind, "infrastructure");
    EXPECT_EQ(c.vm_id, "");
  }
  EXPECT_EQ(agent_logic::infrastructure_for("n9", known).size(), 1u) << "networks only";
}

TEST(agent_logic, a_vm_event_names_its_command_kind_and_a_migration_its_destination) {
  auto s = vm_state("vm-1", "starting");
  const auto start =
      agent_logic::for_vm_event(power_change("stopped", "starting"), s, volumes, nullptr);
  ASSERT_TRUE(start);
  EXPECT_EQ(start->kind, "start");
  EXPECT_EQ(start->vm_id, "vm-1");
  const auto stop =
      agent_logic::for_vm_event(power_change("running", "stopping"), s, volumes, nullptr);
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->kind, "shutdown");
  s.set_migration_target("n2");
  events::recorded_event migration;
  migration.type = "qx.events.v1.VmMigrationStarted";
  const auto m = agent_logic::for_vm_event(migration, s, volumes, [](const std::string& node) {
    return node == "n2" ? std::string{"qemu+tls://h2/system"} : std::string{};
  });
  ASSERT_TRUE(m && m->command.has_migrate());
  EXPECT_EQ(m->kind, "migrate");
  EXPECT_EQ(m->command.migrate().vm_id(), "vm-1");
  EXPECT_EQ(m->command.migrate().destination_uri(), "qemu+tls://h2/system");
  EXPECT_FALSE(agent_logic::for_vm_event(power_change("starting", "running"), s, volumes, nullptr));
  EXPECT_EQ(agent_logic::kind_of(agent_logic::delete_volume("p1", "d1")), "infrastructure");
  EXPECT_EQ(agent_logic::delete_volume("p1", "d1").delete_volume().volume_id(), "d1");
}

pb::CommandResult failed(const std::string& code, const std::string& message) {
  pb::CommandResult r;
  r.set_ok(false);
  r.set_error_code(code);
  r.set_message(message);
  return r;
}

TEST(agent_logic, a_command_result_records_what_its_kind_and_the_vms_state_say) {
  pb::CommandResult ok;
  ok.set_ok(true);
  const auto done = agent_logic::after_result("vm-1", "migrate", ok, std::nullopt);
  ASSERT_TRUE(done && std::holds_alternative<vm::complete_migration>(done->command));
  EXPECT_FALSE(done->version) << "a finished migration is recorded whatever the version";
  EXPECT_EQ(done->cause, "agent-result");
  EXPECT_FALSE(agent_logic::after_result("vm-1", "start", ok, std::nullopt));

  const vm_on_node starting{vm_state("vm-1", "starting"), 4};
  const auto start_failed =
      agent_logic::after_result("vm-1", "start", failed("NO_MEMORY", "line1\nline2"), starting);
  ASSERT_TRUE(start_failed);
  EXPECT_EQ(std::get<vm::force_stop>(start_failed->command).reason,
            "START_FAILED: NO_MEMORY: line1 line2");
  EXPECT_EQ(start_failed->version, std::optional<std::uint64_t>{4});
  EXPECT_TRUE(agent_logic::after_result("vm-1", "resend", failed("X", "y"), starting));
  // A start that failed after the VM moved on (stopped meanwhile) records nothing.
  EXPECT_FALSE(agent_logic::after_result("vm-1", "start", failed("X", "y"),
                                         vm_on_node{vm_state("vm-1", "stopped"), 5}));
  EXPECT_FALSE(agent_logic::after_result("vm-1", "start", failed("X", "y"), std::nullopt));
  EXPECT_FALSE(agent_logic::after_result("", "infrastructure", failed("X", "y"), starting));

  const vm_on_node migrating{vm_state("vm-1", "migrating"), 9};
  const auto migration_failed =
      agent_logic::after_result("vm-1", "migrate", failed("MIGRATION", "refused"), migrating);
  ASSERT_TRUE(migration_failed &&
              std::holds_alternative<vm::fail_migration>(migration_failed->command));
  EXPECT_EQ(migration_failed->version, std::optional<std::uint64_t>{9});
  EXPECT_FALSE(agent_logic::after_result("vm-1", "shutdown", failed("X", "y"), migrating));
}

TEST(agent_logic, a_libvirt_event_is_recorded_only_for_a_vm_the_log_has_on_that_node) {
  const vm_on_node here{vm_state("vm-1", "starting"), 6}; // vm_state places it on n1
  const auto r = agent_logic::after_domain_event("n1", domain_event("started", "booted"), here);
  ASSERT_TRUE(r && std::holds_alternative<vm::confirm_running>(r->command));
  EXPECT_EQ(r->vm_id, "vm-1");
  EXPECT_EQ(r->version, std::optional<std::uint64_t>{6});
  EXPECT_EQ(r->cause, "libvirt:started:booted");
  EXPECT_FALSE(agent_logic::after_domain_event("n2", domain_event("started"), here));
  EXPECT_FALSE(agent_logic::after_domain_event("n1", domain_event("started"), std::nullopt));
  EXPECT_FALSE(agent_logic::after_domain_event("n1", domain_event("defined"), here));
}

TEST(agent_logic, leaving_and_a_closed_session_record_the_node_disconnected_with_why) {
  pb::Leaving l;
  l.set_reason("shutting\tdown");
  const auto left = agent_logic::after_leaving(l);
  EXPECT_EQ(std::get<node::disconnect>(left).reason, "LEFT: shutting down");
  const auto closed = agent_logic::after_session_closed("End of file");
  EXPECT_EQ(std::get<node::disconnect>(closed).reason, "AGENT_SESSION_CLOSED: End of file");
}

} // namespace
} // namespace qx::domain
