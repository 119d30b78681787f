// Storage pools and volumes over libvirt.
#include "libvirt_error.hpp"
#include "libvirt_hypervisor_impl.hpp"
#include "libvirt_names.hpp"
#include "storage_xml.hpp"

#include <libvirt/virterror.h>

#include <algorithm>

namespace qx::node::detail {

namespace {

// A refused pool call becomes a precondition when the pool's activity says so: the test
// driver answers some of them with an internal error.
qx::error pool_refusal(qx::error err, virStoragePoolPtr pool, bool refused_when_active) {
  const int code = libvirt_code(err);
  if (code != VIR_ERR_OPERATION_INVALID && code != VIR_ERR_INTERNAL_ERROR)
    return err;
  const int active = virStoragePoolIsActive(pool);
  if (active < 0) {
    clear_libvirt_error();
    return err;
  }
  if (err.code == errc::failed_precondition || (active == 1) == refused_when_active) {
    err.code = errc::failed_precondition;
    err.details["reason"] = "INVALID_POOL_STATE";
    err.details["active"] = active == 1 ? "true" : "false";
  }
  return err;
}

result<volume_info> volume_of(virStorageVolPtr vol) {
  volume_info out;
  const char* name = virStorageVolGetName(vol);
  out.name = name != nullptr ? name : "";
  out.path = take_string(virStorageVolGetPath(vol));
  if (out.path.empty())
    return last_libvirt_error("virStorageVolGetPath", "OPERATION_INVALID");
  virStorageVolInfo info{};
  if (virStorageVolGetInfo(vol, &info) < 0)
    return last_libvirt_error("virStorageVolGetInfo", "OPERATION_INVALID");
  out.capacity_bytes = info.capacity;
  out.allocation_bytes = info.allocation;
  const auto xml = take_string(virStorageVolGetXMLDesc(vol, 0));
  if (xml.empty())
    return last_libvirt_error("virStorageVolGetXMLDesc", "OPERATION_INVALID");
  auto format = parse_volume_format(xml);
  if (!format)
    return std::move(format).error();
  out.format = std::move(*format);
  return out;
}

} // namespace

status libvirt_hypervisor::define_pool(const pool_spec& spec) {
  return shielded("define_pool", [&]() -> status {
    auto xml = pool_xml(spec);
    if (!xml)
      return std::move(xml).error();
    const std::lock_guard lock{mutex_};
    if (pool_ptr{virStoragePoolLookupByName(conn_.get(), spec.name.c_str())} != nullptr)
      return exists_at("name", "storage pool '" + spec.name + "' already exists");
    clear_libvirt_error();
    pool_ptr pool{virStoragePoolDefineXML(conn_.get(), xml->c_str(), 0)};
    if (pool == nullptr)
      return last_libvirt_error("virStoragePoolDefineXML", "OPERATION_INVALID");
    // Build creates the folder, create starts the pool. A half-made pool is undefined again,
    // so a retry starts from nothing.
    auto step_failed = [&](std::string_view operation) {
      auto err = last_libvirt_error(operation, "INVALID_POOL_STATE");
      if (virStoragePoolUndefine(pool.get()) < 0)
        clear_libvirt_error();
      return err;
    };
    if (virStoragePoolBuild(pool.get(), 0) < 0)
      return step_failed("virStoragePoolBuild");
    if (virStoragePoolCreate(pool.get(), 0) < 0)
      return step_failed("virStoragePoolCreate");
    return {};
  });
}

result<std::vector<pool_info>> libvirt_hypervisor::list_pools() {
  return shielded("list_pools", [&]() -> result<std::vector<pool_info>> {
    const std::lock_guard lock{mutex_};
    virStoragePoolPtr* raw = nullptr;
    const int count = virConnectListAllStoragePools(conn_.get(), &raw, 0);
    if (count < 0)
      return last_libvirt_error("virConnectListAllStoragePools", "OPERATION_INVALID");
    const auto pools = take_array<pool_ptr>(raw, count);
    std::vector<pool_info> out;
    out.reserve(pools.size());
    for (const auto& pool : pools) {
      pool_info p;
      const char* name = virStoragePoolGetName(pool.get());
      p.name = name != nullptr ? name : "";
      virStoragePoolInfo info{};
      if (virStoragePoolGetInfo(pool.get(), &info) < 0)
        return last_libvirt_error("virStoragePoolGetInfo", "OPERATION_INVALID");
      p.state = std::string{pool_state_name(info.state)};
      p.capacity_bytes = info.capacity;
      p.allocation_bytes = info.allocation;
      p.available_bytes = info.available;
      p.active = virStoragePoolIsActive(pool.get()) == 1;
      p.persistent = virStoragePoolIsPersistent(pool.get()) == 1;
      clear_libvirt_error();
      const auto xml = take_string(virStoragePoolGetXMLDesc(pool.get(), 0));
      if (xml.empty())
        return last_libvirt_error("virStoragePoolGetXMLDesc", "OPERATION_INVALID");
      auto target = parse_pool_target(xml);
      if (!target)
        return std::move(target).error();
      p.target_path = std::move(*target);
      out.push_back(std::move(p));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  });
}

status libvirt_hypervisor::destroy_pool(const std::string& name) {
  return shielded("destroy_pool", [&]() -> status {
    const std::lock_guard lock{mutex_};
    auto pool = find_pool(name);
    if (!pool)
      return std::move(pool).error();
    if (virStoragePoolDestroy(pool->get()) == 0)
      return {};
    return pool_refusal(last_libvirt_error("virStoragePoolDestroy", "INVALID_POOL_STATE"),
                        pool->get(), false);
  });
}

status libvirt_hypervisor::undefine_pool(const std::string& name) {
  return shielded("undefine_pool", [&]() -> status {
    const std::lock_guard lock{mutex_};
    auto pool = find_pool(name);
    if (!pool)
      return std::move(pool).error();
    if (virStoragePoolUndefine(pool->get()) == 0)
      return {};
    return pool_refusal(last_libvirt_error("virStoragePoolUndefine", "INVALID_POOL_STATE"),
                        pool->get(), true);
  });
}

result<volume_info> libvirt_hypervisor::create_volume(const std::string& pool,
                                                      const volume_spec& spec) {
  return shielded("create_volume", [&]() -> result<volume_info> {
    auto xml = volume_xml(spec);
    if (!xml)
      return std::move(xml).error();
    const std::lock_guard lock{mutex_};
    auto p = find_pool(pool);
    if (!p)
      return std::move(p).error();
    if (volume_ptr{virStorageVolLookupByName(p->get(), spec.name.c_str())} != nullptr)
      return exists_at("name", "volume '" + spec.name + "' already exists");
    clear_libvirt_error();
    volume_ptr vol{virStorageVolCreateXML(p->get(), xml->c_str(), 0)};
    if (vol == nullptr)
      return pool_refusal(last_libvirt_error("virStorageVolCreateXML", "INVALID_POOL_STATE"),
                          p->get(), false);
    return volume_of(vol.get());
  });
}

status libvirt_hypervisor::resize_volume(const std::string& pool, const std::string& name,
                                         std::uint64_t capacity_bytes) {
  return shielded("resize_volume", [&]() -> status {
    const std::lock_guard lock{mutex_};
    auto p = find_pool(pool);
    if (!p)
      return std::move(p).error();
    auto vol = find_volume(p->get(), name);
    if (!vol)
      return std::move(vol).error();
    virStorageVolInfo info{};
    if (virStorageVolGetInfo(vol->get(), &info) < 0)
      return last_libvirt_error("virStorageVolGetInfo", "OPERATION_INVALID");
    if (capacity_bytes < info.capacity)
      return qx::error{
          errc::failed_precondition,
          "shrinking volume '" + name + "' would destroy guest data",
          {{"reason", "VOLUME_SHRINK_REFUSED"}, {"capacity_bytes", std::to_string(info.capacity)}}};
    if (capacity_bytes == info.capacity)
      return {};
    if (virStorageVolResize(vol->get(), capacity_bytes, 0) < 0)
      return last_libvirt_error("virStorageVolResize", "OPERATION_INVALID");
    return {};
  });
}

status libvirt_hypervisor::delete_volume(const std::string& pool, const std::string& name) {
  return shielded("delete_volume", [&]() -> status {
    const std::lock_guard lock{mutex_};
    auto p = find_pool(pool);
    if (!p)
      return std::move(p).error();
    auto vol = find_volume(p->get(), name);
    if (!vol)
      return std::move(vol).error();
    if (virStorageVolDelete(vol->get(), 0) < 0)
      return last_libvirt_error("virStorageVolDelete", "OPERATION_INVALID");
    return {};
  });
}

result<std::vector<volume_info>> libvirt_hypervisor::list_volumes(const std::string& pool) {
  return shielded("list_volumes", [&]() -> result<std::vector<volume_info>> {
    const std::lock_guard lock{mutex_};
    auto p = find_pool(pool);
    if (!p)
      return std::move(p).error();
    virStorageVolPtr* raw = nullptr;
    const int count = virStoragePoolListAllVolumes(p->get(), &raw, 0);
    if (count < 0)
      return pool_refusal(last_libvirt_error("virStoragePoolListAllVolumes", "INVALID_POOL_STATE"),
                          p->get(), false);
    const auto volumes = take_array<volume_ptr>(raw, count);
    std::vector<volume_info> out;
    out.reserve(volumes.size());
    for (const auto& vol : volumes) {
      auto info = volume_of(vol.get());
      if (!info)
        return std::move(info).error();
      out.push_back(std::move(*info));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  });
}

} // namespace qx::node::detail
