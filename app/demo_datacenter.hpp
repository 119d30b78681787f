#pragma once

// `qvdc serve --demo`: beside the control plane, a few qx-node agents as child processes, each
// on a libvirt test-driver host of its own size, registered through the real token flow (the
// host issues a token on loopback, the control plane discovers and registers it), then one
// cluster, one pool on every node and one network, so that VMs can be created and started with
// curl right away. A second start over the same data directory finds the nodes registered:
// the agents reconnect by themselves.

#include <qx/base/error.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qx::app {

struct demo_options {
  std::string data_dir;
  std::string control_plane_url; ///< http://127.0.0.1:<port>
  std::string qx_node_path;      ///< "" = next to qvdc, or ../node/qx-node in a build tree
};

class demo_datacenter {
 public:
  demo_datacenter() = default;
  ~demo_datacenter();
  demo_datacenter(const demo_datacenter&) = delete;
  demo_datacenter& operator=(const demo_datacenter&) = delete;
  demo_datacenter(demo_datacenter&&) = delete;
  demo_datacenter& operator=(demo_datacenter&&) = delete;

  /// Starts the agents and registers what is not registered yet; prints what it did.
  [[nodiscard]] status start(const demo_options& opts);
  /// SIGTERM to every agent, then waits for them.
  void stop();

 private:
  std::vector<pid_t> children_;
};

} // namespace qx::app
