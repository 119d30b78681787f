// The node agent's session frames, both ways (events/proto/qx/agent/v1/session.proto).
//
// Input: one direction byte (even: an AgentFrame the control plane receives; odd: a
// ControlFrame the agent receives), then the frame's bytes.
//
// Control plane: agent_registry.cpp's node proxy (a CAF actor) parses the frame and hands its
// parts to the pure functions of agent_logic.cpp; the harness does the same, without the
// actor: reconcile() of a Hello against VMs in every power state, follow() of a DomainEvent
// from every power state, command_after() of the bytes as a VM event, and the JSON the proxy
// publishes (strict dump).
//
// Agent: node/src/agent_session.cpp is compiled into this harness (#include below) so its
// real on_message() and run() take the frame, with a stand-in hypervisor that applies what
// the libvirt one applies before libvirt is called: the names' checks and the XML writers,
// whose output is read back by the XML readers.
//
// Properties: nothing throws or aborts (an exception on the agent's worker thread would end
// qx-node); the XML the agent would give libvirt reads back as the spec it was made from; the
// result frame the agent sends back parses on the control plane.

#include "fuzz_common.hpp"
#include "fuzz_schema.hpp"

// The agent's session, whole: its impl struct and helpers live in an anonymous namespace, and
// agent_session::impl is private. What agent_session.cpp includes comes first, with the usual
// access; then its own header, with its private part opened to this harness.
#include "qx/node/hypervisor.hpp"
#include "telemetry.hpp"

#include <qx/agent/v1/session.pb.h>
#include <qx/base/error.hpp>
#include <qx/net/ws_client.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#define private public // NOLINT: the harness drives the session's impl directly
#include "agent_session.hpp"
#undef private
#include "../../node/src/agent_session.cpp" // NOLINT(bugprone-suspicious-include)

#include <domain_xml.hpp>
#include <network_xml.hpp>
#include <qx/actors/domain/agent_logic.hpp>
#include <storage_xml.hpp>

#include <qx/node/validate.hpp>
#include <qx/snapshots/v1/state.pb.h>

#include <nlohmann/json.hpp>

// The agent's WebSocket client is never connected here.
namespace qx::net {
result<std::unique_ptr<ws_client>> ws_client::connect(const ws_options&, on_message, on_closed) {
  return error{errc::unavailable, "no network in the fuzzer"};
}
} // namespace qx::net

namespace {

using qx::fuzz::check;
namespace pb = qx::agent::v1;
namespace nd = qx::node;
namespace vm = qx::domain::vm;

// -- control plane ---------------------------------------------------------------------------

const char* const powers[] = {vm::power::defined,   vm::power::starting, vm::power::running,
                              vm::power::paused,    vm::power::stopping, vm::power::stopped,
                              vm::power::migrating, vm::power::in_error, vm::power::deleted};

std::optional<qx::snapshots::v1::VolumeState> volume_of(const std::string& id) {
  if (id != "disk-1" && id != "disk-2")
    return std::nullopt;
  qx::snapshots::v1::VolumeState v;
  v.set_id(id);
  v.set_pool_id("pool-1");
  v.set_size_bytes(std::uint64_t{1} << 30U);
  v.set_format("qcow2");
  return v;
}

std::vector<qx::domain::agent_logic::vm_on_node> vms_on_node() {
  std::vector<qx::domain::agent_logic::vm_on_node> out;
  int i = 0;
  for (const auto* p : powers) {
    qx::domain::agent_logic::vm_on_node v;
    v.state.set_id("vm-" + std::to_string(++i));
    v.state.set_power_state(p);
    v.state.set_node_id("node-1");
    v.state.mutable_spec()->set_name("web");
    v.state.mutable_spec()->set_vcpus(2);
    v.state.mutable_spec()->set_memory_mib(1024);
    v.state.mutable_spec()->add_volume_ids("disk-1");
    v.state.mutable_spec()->add_volume_ids("disk-9");
    v.state.mutable_spec()->add_network_ids("net-1");
    v.version = static_cast<std::uint64_t>(i);
    out.push_back(std::move(v));
  }
  return out;
}

void dump(const nlohmann::json& j) {
  try {
    static_cast<void>(j.dump());
  } catch (const std::exception& e) {
    check(false, "control plane: what the node proxy publishes renders (strict dump)", e.what());
  }
}

void control_plane(std::string_view bytes) {
  pb::AgentFrame f;
  const qx::domain::agent_logic::volume_lookup volumes = volume_of;
  if (f.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    switch (f.body_case()) {
    case pb::AgentFrame::kHello: {
      const auto& h = f.hello();
      dump({{"hostname", h.host().hostname()},
            {"libvirtUri", h.host().libvirt_uri()},
            {"libvirtVersion", h.host().libvirt_version()},
            {"agentVersion", h.host().agent_version()},
            {"domains", h.domains_size()}});
      for (const auto& step : qx::domain::agent_logic::reconcile(h, vms_on_node(), volumes)) {
        check(step.record || step.resend, "reconcile: a step records or resends");
        if (step.record)
          static_cast<void>(step.record->index());
      }
      break;
    }
    case pb::AgentFrame::kTelemetry: {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& v : f.telemetry().vms())
        list.push_back({{"id", v.id()}, {"cpuPercent", v.cpu_percent()}});
      dump({{"cpuPercent", f.telemetry().cpu_percent()}, {"vms", list}});
      break;
    }
    case pb::AgentFrame::kDomainEvent:
      for (const auto* p : powers)
        if (auto cmd = qx::domain::agent_logic::follow(f.domain_event(), p))
          static_cast<void>(cmd->index());
      break;
    case pb::AgentFrame::kLeaving:
      dump({{"reason", f.leaving().reason()}});
      break;
    default:
      break;
    }
  }
  // The same bytes as the payload of a VM event the proxy turns into a host command.
  qx::events::recorded_event e;
  e.type = "qx.events.v1.VmPowerStateChanged";
  e.payload = std::string{bytes};
  for (const auto& v : vms_on_node())
    static_cast<void>(qx::domain::agent_logic::command_after(e, v.state, volumes));
}

// -- agent -----------------------------------------------------------------------------------

/// What libvirt_hypervisor checks and writes before it calls libvirt, and nothing after.
class stand_in final : public nd::hypervisor {
 public:
  qx::result<nd::host_info> host() override {
    nd::host_info h;
    h.hostname = "fuzz-host";
    h.cpus = 8;
    h.memory_mib = 16384;
    h.libvirt_version = "9.0.0";
    return h;
  }
  qx::status define_domain(const nd::domain_spec& spec) override {
    auto xml = nd::detail::domain_xml(spec, "kvm");
    if (!xml)
      return std::move(xml).error();
    auto back = nd::detail::parse_domain_xml(*xml);
    check(back.has_value(), "domain_xml: the XML parses", *xml);
    bool same = back->id == spec.id && back->title == spec.title && back->vcpus == spec.vcpus &&
                back->memory_mib == spec.memory_mib && back->disks.size() == spec.disks.size() &&
                back->nics.size() == spec.nics.size();
    for (std::size_t i = 0; same && i < spec.disks.size(); ++i)
      same = back->disks[i].path == spec.disks[i].path &&
             back->disks[i].format == spec.disks[i].format &&
             back->disks[i].target_dev == spec.disks[i].target_dev;
    for (std::size_t i = 0; same && i < spec.nics.size(); ++i)
      same = back->nics[i].network == spec.nics[i].network && back->nics[i].mac == spec.nics[i].mac;
    check(same, "domain_xml: libvirt is given the spec the agent was sent", *xml);
    return {};
  }
  qx::result<nd::domain_spec> describe_domain(const std::string& id) override {
    return not_found(id);
  }
  qx::status start_domain(const std::string& id) override { return name(id); }
  qx::status shutdown_domain(const std::string& id) override { return name(id); }
  qx::status destroy_domain(const std::string& id) override { return name(id); }
  qx::status reboot_domain(const std::string& id) override { return name(id); }
  qx::status suspend_domain(const std::string& id) override { return name(id); }
  qx::status resume_domain(const std::string& id) override { return name(id); }
  qx::status undefine_domain(const std::string& id, const nd::undefine_options&) override {
    return name(id);
  }
  qx::result<nd::domain_status> query_state(const std::string& id) override {
    if (auto ok = name(id); !ok)
      return std::move(ok).error();
    if (id.starts_with("running"))
      return nd::domain_status{nd::domain_state::running, "booted"};
    if (id.starts_with("off"))
      return nd::domain_status{nd::domain_state::shutoff, "shutdown"};
    return not_found(id);
  }
  qx::result<nd::domain_stats> query_stats(const std::string& id) override { return not_found(id); }
  qx::result<std::vector<nd::domain_summary>> list_domains() override {
    nd::domain_summary d;
    d.id = "running-1";
    d.status = {nd::domain_state::running, "booted"};
    return std::vector<nd::domain_summary>{d};
  }
  qx::status migrate_domain(const std::string& id, const std::string& uri,
                            const nd::migrate_options&) override {
    if (auto ok = name(id); !ok)
      return ok;
    return nd::validate_xml_text("destination_uri", uri, false);
  }
  qx::status create_snapshot(const std::string& id, const nd::snapshot_spec& spec) override {
    if (auto ok = name(id); !ok)
      return ok;
    auto xml = nd::detail::snapshot_xml(spec);
    return xml ? qx::status{} : qx::status{std::move(xml).error()};
  }
  qx::result<std::vector<nd::snapshot_info>> list_snapshots(const std::string&) override {
    return std::vector<nd::snapshot_info>{};
  }
  qx::status revert_snapshot(const std::string& id, const std::string&) override {
    return name(id);
  }
  qx::status delete_snapshot(const std::string& id, const std::string&) override {
    return name(id);
  }
  qx::status define_pool(const nd::pool_spec& spec) override {
    auto xml = nd::detail::pool_xml(spec);
    if (!xml)
      return std::move(xml).error();
    auto target = nd::detail::parse_pool_target(*xml);
    check(target && *target == spec.target_path, "pool_xml: libvirt is given the pool's folder",
          *xml);
    return {};
  }
  qx::result<std::vector<nd::pool_info>> list_pools() override {
    return std::vector<nd::pool_info>{};
  }
  qx::status destroy_pool(const std::string& n) override { return name(n); }
  qx::status undefine_pool(const std::string& n) override { return name(n); }
  qx::result<nd::volume_info> create_volume(const std::string& pool,
                                            const nd::volume_spec& spec) override {
    if (auto ok = nd::validate_name("pool", pool); !ok)
      return std::move(ok).error();
    auto xml = nd::detail::volume_xml(spec);
    if (!xml)
      return std::move(xml).error();
    auto format = nd::detail::parse_volume_format(*xml);
    check(format && *format == nd::to_string(spec.format),
          "volume_xml: libvirt is given the volume's format", *xml);
    return nd::volume_info{spec.name, "/var/lib/qx/pools/" + pool + "/" + spec.name,
                           std::string{nd::to_string(spec.format)}, spec.capacity_bytes, 0};
  }
  qx::status resize_volume(const std::string& pool, const std::string&, std::uint64_t) override {
    return name(pool);
  }
  qx::status delete_volume(const std::string& pool, const std::string& n) override {
    if (auto ok = nd::validate_name("pool", pool); !ok)
      return ok;
    return name(n);
  }
  qx::result<std::vector<nd::volume_info>> list_volumes(const std::string& pool) override {
    if (auto ok = nd::validate_name("pool", pool); !ok)
      return std::move(ok).error();
    const std::string dir = "/var/lib/qx/pools/" + pool + "/";
    return std::vector<nd::volume_info>{{"disk-1", dir + "disk-1", "qcow2", 1U << 30U, 0},
                                        {"disk-2", dir + "disk-2", "raw", 1U << 30U, 0}};
  }
  qx::status define_network(const nd::network_spec& spec) override {
    auto xml = nd::detail::network_xml(spec);
    if (!xml)
      return std::move(xml).error();
    auto back = nd::detail::parse_network_xml(*xml);
    check(back && back->name == spec.name && back->bridge == spec.bridge,
          "network_xml: libvirt is given the network's name and bridge", *xml);
    return {};
  }
  qx::status start_network(const std::string& n) override { return name(n); }
  qx::result<std::vector<nd::network_info>> list_networks() override {
    return std::vector<nd::network_info>{};
  }
  qx::status destroy_network(const std::string& n) override { return name(n); }
  qx::status undefine_network(const std::string& n) override { return name(n); }
  nd::subscription subscribe(std::function<void(const nd::domain_event&)>) override {
    return nd::subscription{};
  }

 private:
  static qx::status name(const std::string& id) { return nd::validate_name("id", id); }
  static qx::error not_found(const std::string& id) {
    return qx::error{qx::errc::not_found, "no domain " + id};
  }
};

void agent(std::string_view bytes) {
  static stand_in hv;
  nd::session_settings settings;
  settings.node_id = "node-1";
  settings.pools_root = "/var/lib/qx/pools";
  nd::agent_session::impl session{hv, settings};
  session.on_message(std::string{bytes});
  pb::ControlFrame f;
  if (f.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) && f.has_welcome())
    session.send_hello(f.welcome().epoch()); // without a link: built, then dropped
  // The worker's loop, synchronously: run each queued command and build its result frame.
  while (!session.queue.empty()) {
    const auto c = session.queue.front();
    session.queue.pop_front();
    pb::AgentFrame out;
    auto* r = out.mutable_result();
    r->set_command_id(c.id());
    r->set_epoch(c.epoch());
    const auto ok = session.run(c);
    r->set_ok(ok.has_value());
    if (!ok) {
      r->set_error_code(nd::reason_of(ok.error()));
      r->set_message(ok.error().message);
    }
    std::string wire;
    check(out.SerializeToString(&wire), "agent: the result frame serializes");
    pb::AgentFrame parsed;
    check(parsed.ParseFromString(wire),
          "agent: the result frame parses on the control plane (valid UTF-8)", r->message());
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  qx::fuzz::quiet_protobuf();
  std::cerr.rdbuf(nullptr); // the agent's log lines ("dropped a control frame ...")
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  const auto bytes = qx::fuzz::as_text(data + 1, size - 1);
  if (data[0] % 2U == 0)
    control_plane(bytes);
  else
    agent(bytes);
  return 0;
}
