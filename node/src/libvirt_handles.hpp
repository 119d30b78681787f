#pragma once

#include <libvirt/libvirt.h>

#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

/// Owning handles for libvirt's objects: every pointer libvirt hands out is released by the
/// matching free function, on every path.
namespace qx::node::detail {

/// Calls `Free` on the pointer; the result of `Free` (a reference count or status) is of no use
/// when letting go.
template<auto Free>
struct free_with {
  template<class T>
  void operator()(T* p) const noexcept {
    if (p != nullptr)
      static_cast<void>(Free(p));
  }
};

using conn_ptr = std::unique_ptr<virConnect, free_with<&virConnectClose>>;
using domain_ptr = std::unique_ptr<virDomain, free_with<&virDomainFree>>;
using snapshot_ptr = std::unique_ptr<virDomainSnapshot, free_with<&virDomainSnapshotFree>>;
using pool_ptr = std::unique_ptr<virStoragePool, free_with<&virStoragePoolFree>>;
using volume_ptr = std::unique_ptr<virStorageVol, free_with<&virStorageVolFree>>;
using network_ptr = std::unique_ptr<virNetwork, free_with<&virNetworkFree>>;
using c_string_ptr = std::unique_ptr<char, free_with<&std::free>>;

/// Takes ownership of a string libvirt allocated; empty for null.
inline std::string take_string(char* raw) {
  c_string_ptr owned{raw};
  return owned ? std::string{owned.get()} : std::string{};
}

/// Takes ownership of an array of `count` handles libvirt allocated (virConnectListAll* and
/// friends): the array is freed here, each element lands in its owning handle.
template<class Handle, class Raw>
std::vector<Handle> take_array(Raw** raw, int count) {
  std::unique_ptr<Raw*, free_with<&std::free>> array{raw};
  std::vector<Handle> out;
  if (array == nullptr || count <= 0)
    return out;
  out.reserve(static_cast<std::size_t>(count));
  for (Raw* item : std::span<Raw*>(array.get(), static_cast<std::size_t>(count)))
    out.emplace_back(item);
  return out;
}

} // namespace qx::node::detail
