// Domains, snapshots and migration over libvirt.
#include "domain_xml.hpp"
#include "libvirt_error.hpp"
#include "libvirt_hypervisor_impl.hpp"
#include "libvirt_names.hpp"
#include "qx/node/validate.hpp"

#include <libvirt/virterror.h>

#include <algorithm>
#include <array>

namespace qx::node::detail {

namespace {

/// The states in which shutdown, destroy and reboot are refused.
bool inactive(domain_state s) {
  return !is_active(s);
}

bool running_or_blocked(domain_state s) {
  return s == domain_state::running || s == domain_state::blocked;
}

} // namespace

status libvirt_hypervisor::define_domain(const domain_spec& spec) {
  return shielded("define_domain", [&]() -> status {
    const auto serial_log = options_.serial_log_dir.empty()
                                ? std::string{}
                                : options_.serial_log_dir + "/" + spec.id + ".serial.log";
    auto xml = domain_xml(spec, options_.domain_type, serial_log);
    if (!xml)
      return std::move(xml).error();
    const std::lock_guard lock{mutex_};
    // libvirt would treat a known name as an update of that domain: ids are created once.
    if (domain_ptr{virDomainLookupByName(conn_.get(), spec.id.c_str())} != nullptr)
      return exists_at("id", "domain '" + spec.id + "' already exists");
    clear_libvirt_error();
    domain_ptr dom{virDomainDefineXML(conn_.get(), xml->c_str())};
    if (dom == nullptr)
      return last_libvirt_error("virDomainDefineXML", "OPERATION_INVALID");
    return {};
  });
}

result<domain_spec> libvirt_hypervisor::describe_domain(const std::string& id) {
  return shielded("describe_domain", [&]() -> result<domain_spec> {
    const std::lock_guard lock{mutex_};
    auto dom = find_domain(id);
    if (!dom)
      return std::move(dom).error();
    const auto xml = take_string(virDomainGetXMLDesc(dom->get(), VIR_DOMAIN_XML_INACTIVE));
    if (xml.empty())
      return last_libvirt_error("virDomainGetXMLDesc", "OPERATION_INVALID");
    return parse_domain_xml(xml);
  });
}

status libvirt_hypervisor::start_domain(const std::string& id) {
  return shielded("start_domain",
                  [&] { return power_op("virDomainCreate", id, &virDomainCreate, &is_active); });
}

status libvirt_hypervisor::shutdown_domain(const std::string& id) {
  return shielded("shutdown_domain",
                  [&] { return power_op("virDomainShutdown", id, &virDomainShutdown, &inactive); });
}

status libvirt_hypervisor::destroy_domain(const std::string& id) {
  return shielded("destroy_domain",
                  [&] { return power_op("virDomainDestroy", id, &virDomainDestroy, &inactive); });
}

status libvirt_hypervisor::reboot_domain(const std::string& id) {
  return shielded("reboot_domain", [&] {
    return power_op(
        "virDomainReboot", id, [](virDomainPtr d) { return virDomainReboot(d, 0); }, &inactive);
  });
}

status libvirt_hypervisor::suspend_domain(const std::string& id) {
  return shielded("suspend_domain", [&] {
    return power_op("virDomainSuspend", id, &virDomainSuspend,
                    [](domain_state s) { return !running_or_blocked(s); });
  });
}

status libvirt_hypervisor::resume_domain(const std::string& id) {
  return shielded("resume_domain", [&] {
    return power_op("virDomainResume", id, &virDomainResume,
                    [](domain_state s) { return s != domain_state::paused; });
  });
}

status libvirt_hypervisor::undefine_domain(const std::string& id, const undefine_options& options) {
  return shielded("undefine_domain", [&]() -> status {
    const std::lock_guard lock{mutex_};
    auto dom = find_domain(id);
    if (!dom)
      return std::move(dom).error();
    unsigned int flags = 0;
    if (options.snapshots_metadata)
      flags |= VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
    if (options.managed_save)
      flags |= VIR_DOMAIN_UNDEFINE_MANAGED_SAVE;
    if (virDomainUndefineFlags(dom->get(), flags) == 0)
      return {};
    auto err = last_libvirt_error("virDomainUndefineFlags", "OPERATION_INVALID");
    if (err.code == errc::failed_precondition) {
      const int snapshots = virDomainSnapshotNum(dom->get(), 0);
      if (snapshots > 0)
        err.details["reason"] = "HAS_SNAPSHOTS";
      else if (snapshots < 0)
        clear_libvirt_error();
    }
    return err;
  });
}

result<domain_status> libvirt_hypervisor::query_state(const std::string& id) {
  return shielded("query_state", [&]() -> result<domain_status> {
    const std::lock_guard lock{mutex_};
    auto dom = find_domain(id);
    if (!dom)
      return std::move(dom).error();
    int state = 0;
    int reason = 0;
    if (virDomainGetState(dom->get(), &state, &reason, 0) < 0)
      return last_libvirt_error("virDomainGetState", "OPERATION_INVALID");
    return domain_status{state_from_libvirt(state), std::string{reason_name(state, reason)}};
  });
}

result<domain_stats> libvirt_hypervisor::query_stats(const std::string& id) {
  return shielded("query_stats", [&]() -> result<domain_stats> {
    const std::lock_guard lock{mutex_};
    auto dom = find_domain(id);
    if (!dom)
      return std::move(dom).error();
    virDomainInfo info{};
    if (virDomainGetInfo(dom->get(), &info) < 0)
      return last_libvirt_error("virDomainGetInfo", "OPERATION_INVALID");
    domain_stats out;
    out.state = state_from_libvirt(info.state);
    out.cpu_time_ns = info.cpuTime;
    out.memory_kib = info.memory;
    out.max_memory_kib = info.maxMem;
    out.vcpus = info.nrVirtCpu;
    return out;
  });
}

result<std::vector<domain_summary>> libvirt_hypervisor::list_domains() {
  return shielded("list_domains", [&]() -> result<std::vector<domain_summary>> {
    const std::lock_guard lock{mutex_};
    virDomainPtr* raw = nullptr;
    const int count = virConnectListAllDomains(conn_.get(), &raw, 0);
    if (count < 0)
      return last_libvirt_error("virConnectListAllDomains", "OPERATION_INVALID");
    const auto domains = take_array<domain_ptr>(raw, count);
    std::vector<domain_summary> out;
    out.reserve(domains.size());
    for (const auto& dom : domains) {
      domain_summary s;
      const char* name = virDomainGetName(dom.get());
      s.id = name != nullptr ? name : "";
      // A domain without a title answers "no metadata": an empty title, not an error.
      s.title = take_string(virDomainGetMetadata(dom.get(), VIR_DOMAIN_METADATA_TITLE, nullptr, 0));
      clear_libvirt_error();
      std::array<char, VIR_UUID_STRING_BUFLEN> uuid{};
      if (virDomainGetUUIDString(dom.get(), uuid.data()) == 0)
        s.uuid = uuid.data();
      int state = 0;
      int reason = 0;
      if (virDomainGetState(dom.get(), &state, &reason, 0) < 0) {
        // Undefined and stopped between the listing and now: it is gone, skip it.
        clear_libvirt_error();
        continue;
      }
      s.status = {state_from_libvirt(state), std::string{reason_name(state, reason)}};
      s.active = virDomainIsActive(dom.get()) == 1;
      s.persistent = virDomainIsPersistent(dom.get()) == 1;
      clear_libvirt_error();
      out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  });
}

status libvirt_hypervisor::migrate_domain(const std::string& id, const std::string& destination_uri,
                                          const migrate_options& options) {
  return shielded("migrate_domain", [&]() -> status {
    if (destination_uri.empty())
      return qx::error{errc::invalid_argument,
                       "destination_uri must not be empty",
                       {{"field", "destination_uri"}}};
    if (auto s = validate_xml_text("destination_uri", destination_uri, false); !s)
      return s;
    const std::lock_guard lock{mutex_};
    auto dom = find_domain(id);
    if (!dom)
      return std::move(dom).error();
    // Peer to peer: the source libvirt connects to the destination itself.
    unsigned int flags = VIR_MIGRATE_PEER2PEER;
    if (options.live)
      flags |= VIR_MIGRATE_LIVE;
    if (options.persist_destination)
      flags |= VIR_MIGRATE_PERSIST_DEST;
    if (options.undefine_source)
      flags |= VIR_MIGRATE_UNDEFINE_SOURCE;
    if (virDomainMigrateToURI3(dom->get(), destination_uri.c_str(), nullptr, 0, flags) == 0)
      return {};
    return last_libvirt_error("virDomainMigrateToURI3", "INVALID_POWER_STATE");
  });
}

status libvirt_hypervisor::create_snapshot(const std::string& domain_id,
                                           const snapshot_spec& spec) {
  return shielded("create_snapshot", [&]() -> status {
    auto xml = snapshot_xml(spec);
    if (!xml)
      return std::move(xml).error();
    const std::lock_guard lock{mutex_};
    auto dom = find_domain(domain_id);
    if (!dom)
      return std::move(dom).error();
    if (snapshot_ptr{virDomainSnapshotLookupByName(dom->get(), spec.name.c_str(), 0)} != nullptr)
      return exists_at("name", "snapshot '" + spec.name + "' already exists");
    clear_libvirt_error();
    snapshot_ptr snap{virDomainSnapshotCreateXML(dom->get(), xml->c_str(), 0)};
    if (snap == nullptr)
      return last_libvirt_error("virDomainSnapshotCreateXML", "INVALID_POWER_STATE");
    return {};
  });
}

result<std::vector<snapshot_info>>
libvirt_hypervisor::list_snapshots(const std::string& domain_id) {
  return shielded("list_snapshots", [&]() -> result<std::vector<snapshot_info>> {
    const std::lock_guard lock{mutex_};
    auto dom = find_domain(domain_id);
    if (!dom)
      return std::move(dom).error();
    virDomainSnapshotPtr* raw = nullptr;
    const int count = virDomainListAllSnapshots(dom->get(), &raw, 0);
    if (count < 0)
      return last_libvirt_error("virDomainListAllSnapshots", "OPERATION_INVALID");
    const auto snapshots = take_array<snapshot_ptr>(raw, count);
    std::vector<snapshot_info> out;
    out.reserve(snapshots.size());
    for (const auto& snap : snapshots) {
      const auto xml = take_string(virDomainSnapshotGetXMLDesc(snap.get(), 0));
      if (xml.empty())
        return last_libvirt_error("virDomainSnapshotGetXMLDesc", "OPERATION_INVALID");
      auto info = parse_snapshot_xml(xml);
      if (!info)
        return std::move(info).error();
      info->current = virDomainSnapshotIsCurrent(snap.get(), 0) == 1;
      clear_libvirt_error();
      out.push_back(std::move(*info));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  });
}

status libvirt_hypervisor::revert_snapshot(const std::string& domain_id, const std::string& name) {
  return shielded("revert_snapshot", [&]() -> status {
    const std::lock_guard lock{mutex_};
    auto dom = find_domain(domain_id);
    if (!dom)
      return std::move(dom).error();
    auto snap = find_snapshot(dom->get(), name);
    if (!snap)
      return std::move(snap).error();
    if (virDomainRevertToSnapshot(snap->get(), 0) < 0)
      return last_libvirt_error("virDomainRevertToSnapshot", "OPERATION_INVALID");
    return {};
  });
}

status libvirt_hypervisor::delete_snapshot(const std::string& domain_id, const std::string& name) {
  return shielded("delete_snapshot", [&]() -> status {
    const std::lock_guard lock{mutex_};
    auto dom = find_domain(domain_id);
    if (!dom)
      return std::move(dom).error();
    auto snap = find_snapshot(dom->get(), name);
    if (!snap)
      return std::move(snap).error();
    if (virDomainSnapshotDelete(snap->get(), 0) < 0)
      return last_libvirt_error("virDomainSnapshotDelete", "OPERATION_INVALID");
    return {};
  });
}

} // namespace qx::node::detail
