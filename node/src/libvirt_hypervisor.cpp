#include "qx/node/libvirt_hypervisor.hpp"

#include "libvirt_error.hpp"
#include "libvirt_hypervisor_impl.hpp"
#include "libvirt_names.hpp"
#include "qx/node/validate.hpp"
#include "xml_reader.hpp"

#include <libvirt/virterror.h>
#include <libxml/xmlerror.h>

#include <algorithm>
#include <cstring>

namespace qx::node {

namespace detail {

namespace {

// Drops libxml2's diagnostics; variadic because libxml2's handler type is.
void quiet_xml(void* /*ctx*/, const char* /*msg*/, ...) {}

// While alive, libxml2 prints nothing on this thread: the test driver parses its host file
// with libxml2, whose warnings ("failed to load external entity") would reach stderr although
// libvirt reports the same failure as an error value. The previous handler comes back after.
class quiet_libxml2 {
 public:
  quiet_libxml2() : handler_(xmlGenericError), context_(xmlGenericErrorContext) {
    xmlSetGenericErrorFunc(nullptr, &quiet_xml);
  }
  ~quiet_libxml2() { xmlSetGenericErrorFunc(context_, handler_); }
  quiet_libxml2(const quiet_libxml2&) = delete;
  quiet_libxml2& operator=(const quiet_libxml2&) = delete;
  quiet_libxml2(quiet_libxml2&&) = delete;
  quiet_libxml2& operator=(quiet_libxml2&&) = delete;

 private:
  xmlGenericErrorFunc handler_;
  void* context_;
};

// libvirt's lifecycle callback, on the event-loop thread. `opaque` is the connection's hub,
// which the hypervisor keeps alive until the loop has finished any callback in flight.
int on_lifecycle(virConnectPtr /*conn*/, virDomainPtr dom, int event, int detail, void* opaque) {
  try {
    const char* name = virDomainGetName(dom);
    domain_event e;
    e.domain_id = name != nullptr ? name : "";
    e.type = event_type_from_libvirt(event);
    e.detail = std::string{event_detail_name(event, detail)};
    static_cast<event_hub*>(opaque)->dispatch(e);
  } catch (...) {
    // Out of memory while copying a name: the event is lost rather than unwinding into C.
  }
  return 0;
}

// libvirt's "major * 1,000,000 + minor * 1,000 + release" as "major.minor.release".
std::string version_string(unsigned long v) {
  constexpr unsigned long step = 1000;
  return std::to_string(v / (step * step)) + "." + std::to_string((v / step) % step) + "." +
         std::to_string(v % step);
}

// The domain type to define: kvm when the host offers it, else qemu, else the first offered.
result<std::string> pick_domain_type(virConnectPtr conn) {
  const auto caps = take_string(virConnectGetCapabilities(conn));
  if (caps.empty())
    return last_libvirt_error("virConnectGetCapabilities", "OPERATION_INVALID");
  auto doc = xml_document::parse(caps, "capabilities XML");
  if (!doc)
    return std::move(doc).error();
  std::vector<std::string> offered;
  for (const auto* guest : children(doc->root(), "guest"))
    for (const auto* arch : children(guest, "arch"))
      for (const auto* domain : children(arch, "domain"))
        offered.push_back(attribute_or_empty(domain, "type"));
  for (const char* preferred : {"kvm", "qemu"})
    if (std::find(offered.begin(), offered.end(), preferred) != offered.end())
      return std::string{preferred};
  if (offered.empty() || offered.front().empty())
    return qx::error{
        errc::unavailable, "the hypervisor offers no domain type", {{"reason", "NOT_SUPPORTED"}}};
  return offered.front();
}

} // namespace

bool is_active(domain_state s) noexcept {
  return s != domain_state::shutoff && s != domain_state::crashed && s != domain_state::no_state;
}

libvirt_hypervisor::libvirt_hypervisor(std::shared_ptr<event_loop> loop, conn_ptr conn,
                                       libvirt_options options)
    : loop_(std::move(loop)), conn_(std::move(conn)), options_(std::move(options)) {}

libvirt_hypervisor::~libvirt_hypervisor() {
  {
    const std::lock_guard lock{mutex_};
    if (callback_id_ >= 0)
      static_cast<void>(virConnectDomainEventDeregisterAny(conn_.get(), callback_id_));
  }
  // The hub may be in use by a callback that started before the deregistration.
  loop_->barrier();
  hub_->close();
  const std::lock_guard lock{mutex_};
  conn_.reset();
}

status libvirt_hypervisor::register_events() {
  const std::lock_guard lock{mutex_};
  // The C signature of the lifecycle callback differs from the generic one libvirt's API
  // takes; libvirt calls it with the lifecycle signature. The detour through void(*)() is the
  // sanctioned way to say so to the compiler.
  const auto generic = reinterpret_cast<virConnectDomainEventGenericCallback>(
      reinterpret_cast<void (*)()>(&on_lifecycle));
  callback_id_ = virConnectDomainEventRegisterAny(
      conn_.get(), nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE, generic, hub_.get(), nullptr);
  if (callback_id_ < 0)
    return last_libvirt_error("virConnectDomainEventRegisterAny", "OPERATION_INVALID");
  return {};
}

result<host_info> libvirt_hypervisor::host() {
  const std::lock_guard lock{mutex_};
  host_info out;
  out.hostname = take_string(virConnectGetHostname(conn_.get()));
  if (out.hostname.empty())
    return last_libvirt_error("virConnectGetHostname", "OPERATION_INVALID");
  virNodeInfo node{};
  if (virNodeGetInfo(conn_.get(), &node) < 0)
    return last_libvirt_error("virNodeGetInfo", "OPERATION_INVALID");
  out.cpu_model = std::string{static_cast<const char*>(node.model),
                              strnlen(static_cast<const char*>(node.model), sizeof(node.model))};
  out.cpus = node.cpus;
  out.mhz = node.mhz;
  out.numa_nodes = node.nodes;
  out.sockets = node.sockets;
  out.cores = node.cores;
  out.threads = node.threads;
  constexpr unsigned long kib_per_mib = 1024;
  out.memory_mib = node.memory / kib_per_mib;
  unsigned long version = 0;
  if (virConnectGetLibVersion(conn_.get(), &version) < 0)
    return last_libvirt_error("virConnectGetLibVersion", "OPERATION_INVALID");
  out.libvirt_version = version_string(version);
  const char* type = virConnectGetType(conn_.get());
  if (type == nullptr)
    return last_libvirt_error("virConnectGetType", "OPERATION_INVALID");
  out.hypervisor_type = type;
  if (virConnectGetVersion(conn_.get(), &version) < 0)
    return last_libvirt_error("virConnectGetVersion", "OPERATION_INVALID");
  out.hypervisor_version = version_string(version);
  return out;
}

subscription libvirt_hypervisor::subscribe(std::function<void(const domain_event&)> on_event) {
  try {
    const auto key = hub_->add(std::move(on_event));
    // The handle may outlive the hypervisor: it holds the hub weakly.
    return subscription{[hub = std::weak_ptr<event_hub>(hub_), key] {
      if (const auto h = hub.lock())
        h->remove(key);
    }};
  } catch (const std::exception&) {
    return subscription{}; // out of memory: an inactive handle says so
  }
}

result<domain_ptr> libvirt_hypervisor::find_domain(const std::string& id) {
  if (auto s = validate_name("id", id); !s)
    return std::move(s).error();
  domain_ptr dom{virDomainLookupByName(conn_.get(), id.c_str())};
  if (dom == nullptr)
    return last_libvirt_error("virDomainLookupByName", "OPERATION_INVALID");
  return dom;
}

result<snapshot_ptr> libvirt_hypervisor::find_snapshot(virDomainPtr dom, const std::string& name) {
  if (auto s = validate_name("name", name); !s)
    return std::move(s).error();
  snapshot_ptr snap{virDomainSnapshotLookupByName(dom, name.c_str(), 0)};
  if (snap == nullptr)
    return last_libvirt_error("virDomainSnapshotLookupByName", "OPERATION_INVALID");
  return snap;
}

result<pool_ptr> libvirt_hypervisor::find_pool(const std::string& name) {
  if (auto s = validate_name("pool", name); !s)
    return std::move(s).error();
  pool_ptr pool{virStoragePoolLookupByName(conn_.get(), name.c_str())};
  if (pool == nullptr)
    return last_libvirt_error("virStoragePoolLookupByName", "OPERATION_INVALID");
  return pool;
}

result<volume_ptr> libvirt_hypervisor::find_volume(virStoragePoolPtr pool,
                                                   const std::string& name) {
  if (auto s = validate_name("name", name); !s)
    return std::move(s).error();
  volume_ptr vol{virStorageVolLookupByName(pool, name.c_str())};
  if (vol == nullptr)
    return last_libvirt_error("virStorageVolLookupByName", "OPERATION_INVALID");
  return vol;
}

result<network_ptr> libvirt_hypervisor::find_network(const std::string& name) {
  if (auto s = validate_name("name", name); !s)
    return std::move(s).error();
  network_ptr net{virNetworkLookupByName(conn_.get(), name.c_str())};
  if (net == nullptr)
    return last_libvirt_error("virNetworkLookupByName", "OPERATION_INVALID");
  return net;
}

status libvirt_hypervisor::power_op(std::string_view operation, const std::string& id,
                                    const std::function<int(virDomainPtr)>& call,
                                    const std::function<bool(domain_state)>& refused_in) {
  const std::lock_guard lock{mutex_};
  auto dom = find_domain(id);
  if (!dom)
    return std::move(dom).error();
  if (call(dom->get()) == 0)
    return {};
  auto err = last_libvirt_error(operation, "INVALID_POWER_STATE");
  // Some drivers (the test driver among them) answer a call in the wrong state with an
  // internal error: the state decides whether it is a precondition.
  const int code = libvirt_code(err);
  if (code != VIR_ERR_OPERATION_INVALID && code != VIR_ERR_INTERNAL_ERROR)
    return err;
  int state = 0;
  int reason = 0;
  if (virDomainGetState(dom->get(), &state, &reason, 0) < 0) {
    clear_libvirt_error();
    return err;
  }
  const auto current = state_from_libvirt(state);
  if (err.code == errc::failed_precondition || refused_in(current)) {
    err.code = errc::failed_precondition;
    err.details["reason"] = "INVALID_POWER_STATE";
    err.details["state"] = std::string{to_string(current)};
  }
  return err;
}

} // namespace detail

result<std::unique_ptr<hypervisor>> open_libvirt(const std::string& uri,
                                                 const libvirt_options& options) {
  if (auto s = validate_xml_text("uri", uri, false); !s || uri.empty())
    return qx::error{
        errc::invalid_argument, "uri must be a non-empty libvirt URI", {{"field", "uri"}}};
  if (!options.domain_type.empty())
    if (auto s = validate_name("domain_type", options.domain_type); !s)
      return std::move(s).error();
  if (!options.serial_log_dir.empty() &&
      (options.serial_log_dir.front() != '/' ||
       !validate_xml_text("serial_log_dir", options.serial_log_dir, false)))
    return qx::error{errc::invalid_argument,
                     "serial_log_dir must be an absolute path without control characters",
                     {{"field", "serial_log_dir"}}};
  try {
    // The event implementation must exist before the connection opens, or the connection
    // never delivers events.
    auto loop = detail::event_loop::acquire();
    detail::conn_ptr conn;
    {
      const detail::quiet_libxml2 quiet;
      conn.reset(virConnectOpen(uri.c_str()));
    }
    if (conn == nullptr)
      return detail::last_libvirt_error("virConnectOpen", "OPERATION_INVALID");
    virConnSetErrorFunc(conn.get(), nullptr, &detail::ignore_libvirt_error);
    libvirt_options chosen = options;
    if (chosen.domain_type.empty()) {
      auto picked = detail::pick_domain_type(conn.get());
      if (!picked)
        return std::move(picked).error();
      chosen.domain_type = std::move(*picked);
    }
    auto hv = std::make_unique<detail::libvirt_hypervisor>(std::move(loop), std::move(conn),
                                                           std::move(chosen));
    if (auto s = hv->register_events(); !s)
      return std::move(s).error();
    return std::unique_ptr<hypervisor>{std::move(hv)};
  } catch (const std::exception& e) {
    // Starting the event thread or allocating can throw; no exception leaves the library.
    return qx::error{errc::io_error, std::string{"opening libvirt failed: "} + e.what()};
  }
}

result<std::unique_ptr<hypervisor>> open_libvirt(const std::string& uri) {
  return open_libvirt(uri, libvirt_options{});
}

} // namespace qx::node
