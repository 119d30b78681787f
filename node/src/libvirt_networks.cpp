// Virtual networks over libvirt.
#include "libvirt_error.hpp"
#include "libvirt_hypervisor_impl.hpp"
#include "network_xml.hpp"

#include <libvirt/virterror.h>

#include <algorithm>

namespace qx::node::detail {

namespace {

// As for pools: a refusal in the wrong state is a precondition, whatever code the driver used.
qx::error network_refusal(qx::error err, virNetworkPtr net, bool refused_when_active) {
  const int code = libvirt_code(err);
  if (code != VIR_ERR_OPERATION_INVALID && code != VIR_ERR_INTERNAL_ERROR)
    return err;
  const int active = virNetworkIsActive(net);
  if (active < 0) {
    clear_libvirt_error();
    return err;
  }
  if (err.code == errc::failed_precondition || (active == 1) == refused_when_active) {
    err.code = errc::failed_precondition;
    err.details["reason"] = "INVALID_NETWORK_STATE";
    err.details["active"] = active == 1 ? "true" : "false";
  }
  return err;
}

} // namespace

status libvirt_hypervisor::define_network(const network_spec& spec) {
  return shielded("define_network", [&]() -> status {
    auto xml = network_xml(spec);
    if (!xml)
      return std::move(xml).error();
    const std::lock_guard lock{mutex_};
    if (network_ptr{virNetworkLookupByName(conn_.get(), spec.name.c_str())} != nullptr)
      return qx::error{
          errc::already_exists, "network '" + spec.name + "' already exists", {{"field", "name"}}};
    clear_libvirt_error();
    network_ptr net{virNetworkDefineXML(conn_.get(), xml->c_str())};
    if (net == nullptr)
      return last_libvirt_error("virNetworkDefineXML", "INVALID_NETWORK_STATE");
    return {};
  });
}

status libvirt_hypervisor::start_network(const std::string& name) {
  return shielded("start_network", [&]() -> status {
    const std::lock_guard lock{mutex_};
    auto net = find_network(name);
    if (!net)
      return std::move(net).error();
    if (virNetworkCreate(net->get()) == 0)
      return {};
    return network_refusal(last_libvirt_error("virNetworkCreate", "INVALID_NETWORK_STATE"),
                           net->get(), true);
  });
}

result<std::vector<network_info>> libvirt_hypervisor::list_networks() {
  return shielded("list_networks", [&]() -> result<std::vector<network_info>> {
    const std::lock_guard lock{mutex_};
    virNetworkPtr* raw = nullptr;
    const int count = virConnectListAllNetworks(conn_.get(), &raw, 0);
    if (count < 0)
      return last_libvirt_error("virConnectListAllNetworks", "OPERATION_INVALID");
    const auto networks = take_array<network_ptr>(raw, count);
    std::vector<network_info> out;
    out.reserve(networks.size());
    for (const auto& net : networks) {
      const auto xml = take_string(virNetworkGetXMLDesc(net.get(), 0));
      if (xml.empty())
        return last_libvirt_error("virNetworkGetXMLDesc", "OPERATION_INVALID");
      auto info = parse_network_xml(xml);
      if (!info)
        return std::move(info).error();
      info->active = virNetworkIsActive(net.get()) == 1;
      info->persistent = virNetworkIsPersistent(net.get()) == 1;
      clear_libvirt_error();
      out.push_back(std::move(*info));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  });
}

status libvirt_hypervisor::destroy_network(const std::string& name) {
  return shielded("destroy_network", [&]() -> status {
    const std::lock_guard lock{mutex_};
    auto net = find_network(name);
    if (!net)
      return std::move(net).error();
    if (virNetworkDestroy(net->get()) == 0)
      return {};
    return network_refusal(last_libvirt_error("virNetworkDestroy", "INVALID_NETWORK_STATE"),
                           net->get(), false);
  });
}

status libvirt_hypervisor::undefine_network(const std::string& name) {
  return shielded("undefine_network", [&]() -> status {
    const std::lock_guard lock{mutex_};
    auto net = find_network(name);
    if (!net)
      return std::move(net).error();
    if (virNetworkUndefine(net->get()) == 0)
      return {};
    return last_libvirt_error("virNetworkUndefine", "INVALID_NETWORK_STATE");
  });
}

} // namespace qx::node::detail
