// Writes the binary seeds of the envelope and agent_frames harnesses (real records and frames,
// made by the project's own encoders) into CORPUS_DIR/<harness>/. Run by hand after a schema
// change; the output is committed:
//   build-fuzz/make_seeds tests/fuzz/corpus

#include "fuzz_schema.hpp"

#include <record_codec.hpp>

#include <qx/agent/v1/session.pb.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace ev = qx::events;
namespace v1 = qx::events::v1;
namespace pb = qx::agent::v1;

fs::path root;

void write(const std::string& harness, const std::string& name, const std::string& bytes) {
  const auto dir = root / harness;
  fs::create_directories(dir);
  std::ofstream{dir / name, std::ios::binary} << bytes;
}

std::string with_mode(char mode, const std::string& bytes) {
  return std::string(1, mode) + bytes;
}

std::string vm_created(const std::string& name) {
  v1::VmCreated c;
  c.set_id("vm-1");
  auto* s = c.mutable_spec();
  s->set_name(name);
  s->set_vcpus(2);
  s->set_memory_mib(1024);
  s->add_volume_ids("disk-1");
  s->add_network_ids("net-1");
  (*s->mutable_labels())["tier"] = "web";
  return c.SerializeAsString();
}

std::string audit(const std::string& path, const std::string& request_id) {
  v1::AuditRecorded a;
  a.set_principal("anonymous");
  a.set_remote("127.0.0.1:40000");
  a.set_method("GET");
  a.set_path(path);
  a.set_object("datacenter");
  a.set_action("GET unmatched");
  a.set_status(404);
  a.set_code("NOT_FOUND");
  a.set_request_id(request_id);
  a.set_privilege("none");
  return a.SerializeAsString();
}

/// A whole stored record at `position`, as both stores write it.
std::string record(std::uint64_t position, const std::string& stream, const std::string& type,
                   const std::string& payload, const std::string& correlation_id) {
  ev::new_event e{type, payload};
  ev::event_metadata m{"user:admin", correlation_id, "", "idem:1"};
  ev::detail::record_fields f;
  f.position = position;
  f.stream = stream;
  f.version = 1;
  f.time_unix_ns = 1'795'000'000'000'000'000;
  f.event = &e;
  f.metadata = &m;
  return ev::detail::encode_record(f).bytes;
}

/// An envelope without its hash trailer (mode 1 appends it).
std::string bare(const std::string& rec) {
  return rec.substr(0, rec.size() - 34);
}

void envelope_seeds() {
  const auto created = vm_created("web");
  write("envelope", "record-vm-created",
        with_mode(0, record(1, "vm-1", "qx.events.v1.VmCreated", created, "req-1")));
  // The record: X-Request-Id "x\xff" copied into correlation_id (the released version
  // wrote it; it must read back escaped or as an error, never abort).
  write("envelope", "record-bad-correlation-id",
        with_mode(0, record(1, "cluster-c1", "qx.events.v1.ClusterCreated", "", "x\xff")));
  write("envelope", "bare-audit-bad-path",
        with_mode(1, bare(record(1, "audit", "qx.events.v1.AuditRecorded",
                                 audit("/api/v1/vms/\xff\xfe", "req-2"), "req-2"))));
  write("envelope", "bare-vm-created",
        with_mode(1, bare(record(1, "vm-1", "qx.events.v1.VmCreated", created, "req-3"))));
  write("envelope", "payload-vm-created", with_mode(2, "qx.events.v1.VmCreated\n" + created));
  write("envelope", "payload-vm-created-bad-name",
        with_mode(2, "qx.events.v1.VmCreated\n" + vm_created("we\xc3")));
  write("envelope", "payload-audit",
        with_mode(2, "qx.events.v1.AuditRecorded\n" + audit("/api/v1/vms", "req-4")));
  v1::NodeRegistered n;
  n.set_id("n1");
  n.set_hostname("h1");
  n.set_address("10.0.0.1");
  n.mutable_hardware()->set_cpu_threads(16);
  n.mutable_hardware()->set_memory_mib(65536);
  write("envelope", "payload-node-registered",
        with_mode(2, "qx.events.v1.NodeRegistered\n" + n.SerializeAsString()));

  // Mode 3 (an append, read by FuzzedDataProvider): strings end at "\\" + another byte; the
  // type index and the "own type name" flag are taken from the end.
  const auto& all = qx::fuzz::schema_messages();
  std::size_t vm_index = 0;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i]->full_name() == "qx.events.v1.VmCreated")
      vm_index = i;
  std::string append = "vm-1\\ user:admin\\ req-5\\ \\ idem:5\\ " + created;
  append.push_back(0);                           // ConsumeBool: false, the real type name
  append.push_back(static_cast<char>(vm_index)); // ConsumeIntegralInRange: the type
  write("envelope", "append-vm-created", with_mode(3, append));
  std::string bad = "vm-1\\ user:admin\\ x\xff\\ \\ \\ " + created;
  bad.push_back(0);
  bad.push_back(static_cast<char>(vm_index));
  write("envelope", "append-bad-correlation-id", with_mode(3, bad));
}

void agent_seeds() {
  const auto up = [](const pb::AgentFrame& f) {
    return with_mode(0, f.SerializeAsString());
  };
  const auto down = [](const pb::ControlFrame& f) {
    return with_mode(1, f.SerializeAsString());
  };

  pb::AgentFrame hello;
  auto* h = hello.mutable_hello();
  h->set_epoch(3);
  h->mutable_host()->set_hostname("host-1");
  h->mutable_host()->set_cpu_threads(16);
  h->mutable_host()->set_memory_mib(65536);
  h->mutable_host()->set_libvirt_uri("qemu:///system");
  h->mutable_host()->set_libvirt_version("9.0.0");
  h->mutable_host()->set_agent_version("0.1.0");
  const std::pair<const char*, const char*> domains[] = {
      {"vm-2", "running"}, {"vm-3", "running"}, {"vm-4", "paused"}, {"vm-5", "shutoff"}};
  for (const auto& [id, state] : domains) {
    auto* d = h->add_domains();
    d->set_id(id);
    d->set_state(state);
    d->set_reason("booted");
  }
  write("agent_frames", "up-hello", up(hello));

  pb::AgentFrame beat;
  beat.mutable_heartbeat()->set_sequence(7);
  beat.mutable_heartbeat()->set_sent_unix_ms(1'795'000'000'000);
  write("agent_frames", "up-heartbeat", up(beat));

  pb::AgentFrame tele;
  auto* t = tele.mutable_telemetry();
  t->set_sampled_unix_ms(1'795'000'000'000);
  t->set_cpu_percent(12.5);
  t->set_memory_used_mib(2048);
  t->set_memory_total_mib(16384);
  auto* tv = t->add_vms();
  tv->set_id("vm-3");
  tv->set_cpu_percent(50);
  tv->set_memory_used_mib(512);
  write("agent_frames", "up-telemetry", up(tele));

  const std::pair<const char*, const char*> events[] = {
      {"started", "booted"},   {"stopped", "shutdown"}, {"stopped", "migrated"},
      {"crashed", "panicked"}, {"suspended", "paused"}, {"resumed", "unpaused"}};
  for (const auto& [kind, detail] : events) {
    pb::AgentFrame e;
    auto* d = e.mutable_domain_event();
    d->set_id("vm-2");
    d->set_kind(kind);
    d->set_detail(detail);
    d->set_state("running");
    write("agent_frames", std::string{"up-event-"} + kind + "-" + detail, up(e));
  }

  pb::AgentFrame result;
  auto* r = result.mutable_result();
  r->set_command_id(4);
  r->set_epoch(3);
  r->set_ok(false);
  r->set_error_code("INVALID_POWER_STATE");
  r->set_message("domain vm-2 is running");
  write("agent_frames", "up-result", up(result));

  pb::AgentFrame leaving;
  leaving.mutable_leaving()->set_reason("operator asked");
  write("agent_frames", "up-leaving", up(leaving));

  // A VmPowerStateChanged payload, for command_after().
  v1::VmPowerStateChanged psc;
  psc.set_id("vm-2");
  psc.set_from("stopped");
  psc.set_to("starting");
  psc.set_node_id("node-1");
  write("agent_frames", "up-as-power-state-changed", with_mode(0, psc.SerializeAsString()));

  pb::ControlFrame welcome;
  welcome.mutable_welcome()->set_epoch(0);
  welcome.mutable_welcome()->set_node_id("node-1");
  welcome.mutable_welcome()->set_heartbeat_interval_ms(1000);
  write("agent_frames", "down-welcome", down(welcome));

  const auto command = [](std::uint64_t id) {
    pb::ControlFrame f;
    f.mutable_command()->set_id(id);
    f.mutable_command()->set_epoch(0); // a fresh session's epoch: the command runs
    return f;
  };
  auto start = command(1);
  auto* ds = start.mutable_command()->mutable_define_and_start();
  ds->set_vm_id("vm-1");
  ds->set_name("web server");
  ds->set_vcpus(2);
  ds->set_memory_mib(1024);
  auto* disk = ds->add_disks();
  disk->set_volume_id("disk-1");
  disk->set_pool_id("pool-1");
  disk->set_capacity_bytes(std::uint64_t{1} << 30U);
  auto* disk2 = ds->add_disks();
  disk2->set_volume_id("disk-2");
  disk2->set_pool_id("pool-1");
  ds->add_network_ids("net-1");
  write("agent_frames", "down-define-and-start", down(start));

  std::uint64_t id = 2;
  for (const char* action : {"shutdown", "destroy", "reboot", "suspend", "resume", "undefine"}) {
    auto a = command(id++);
    a.mutable_command()->mutable_domain_action()->set_vm_id("running-1");
    a.mutable_command()->mutable_domain_action()->set_action(action);
    write("agent_frames", std::string{"down-action-"} + action, down(a));
  }
  auto migrate = command(id++);
  migrate.mutable_command()->mutable_migrate()->set_vm_id("running-1");
  migrate.mutable_command()->mutable_migrate()->set_destination_uri("qemu+tls://node-2/system");
  write("agent_frames", "down-migrate", down(migrate));

  auto pool = command(id++);
  pool.mutable_command()->mutable_create_pool()->set_pool_id("pool-1");
  pool.mutable_command()->mutable_create_pool()->set_path("/srv/pools/pool-1");
  write("agent_frames", "down-create-pool", down(pool));
  auto pool_default = command(id++);
  pool_default.mutable_command()->mutable_create_pool()->set_pool_id("pool-2");
  write("agent_frames", "down-create-pool-default-path", down(pool_default));

  for (const char* format : {"qcow2", "raw", ""}) {
    auto v = command(id++);
    auto* cv = v.mutable_command()->mutable_create_volume();
    cv->set_pool_id("pool-1");
    cv->set_volume_id("disk-3");
    cv->set_capacity_bytes(std::uint64_t{10} << 30U);
    cv->set_format(format);
    write("agent_frames", std::string{"down-create-volume-"} + (*format ? format : "default"),
          down(v));
  }
  auto del = command(id++);
  del.mutable_command()->mutable_delete_volume()->set_pool_id("pool-1");
  del.mutable_command()->mutable_delete_volume()->set_volume_id("disk-3");
  write("agent_frames", "down-delete-volume", down(del));

  auto net = command(id++);
  auto* cn = net.mutable_command()->mutable_create_network();
  cn->set_network_id("net-1");
  cn->set_bridge("qxbr4242");
  cn->set_cidr("10.0.0.0/24");
  write("agent_frames", "down-create-network", down(net));
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds CORPUS_DIR\n";
    return 2;
  }
  qx::fuzz::quiet_protobuf();
  root = argv[1];
  envelope_seeds();
  agent_seeds();
  return 0;
}
