#pragma once

// The host API of qx-node (its own port): registration (ping, token, discovery, completion),
// cluster membership (status, join, leave, config) and storage pool files. Requests and
// answers are plain values: the routes are tested without a socket, and Beast stays in
// host_server.cpp.
//
// Who may ask what:
// - ping and cluster status: anyone who reaches the port;
// - a new registration token, join and leave: the host itself (loopback);
// - token check and discovery: the holder of a valid registration token;
// - registration completion: the holder of a valid registration token (it is used up); on a
//   member also its current agent key as `Authorization: Bearer` (else 409 ALREADY_MEMBER,
//   nothing written): only the key's owner re-points a member at a control plane;
// - cluster config and pool files: on a member, whoever presents its agent key as
//   `Authorization: Bearer` (the control plane has it; 401 AGENT_KEY_MISSING or
//   AGENT_KEY_INVALID otherwise); on a standalone host, whom the token routes serve: the host
//   itself (loopback) or the holder of a valid registration token (not used up).
// Every text a request brings (path, query keys and values, the credentials, the body) must
// be valid UTF-8: anything else is 400 INVALID_ARGUMENT naming the field before any route runs.

#include "qx/node/agent_config.hpp"
#include "qx/node/hypervisor.hpp"

#include <qx/base/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace qx::node {

struct host_request {
  std::string method;
  std::string path; ///< decoded, without the query
  std::map<std::string, std::string> query;
  std::string body;
  std::string registration_token; ///< X-Registration-Token, or else the Bearer credential
  std::string bearer;             ///< the credential of `Authorization: Bearer …` ("" without)
  bool from_loopback = false;     ///< the peer is this host (its console)
};

struct host_response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
};

struct agent_options {
  std::string config_path;
  agent_config config; ///< as loaded at start (listen and libvirt_uri need a restart to change)
  std::string version = "0.1.0";
  std::chrono::seconds token_ttl{3600};
  std::chrono::milliseconds heartbeat{1000};
  /// What the agent does when its HA lease lapses: "stop-vms" or "none" (session_settings).
  std::string fence_action = "stop-vms";
  /// libvirt's test driver only: each VM's CPU demand from this file (docs/operations.md).
  std::string test_demand_file;
  /// The host API's own base URL as the control plane reaches it (sent when joining).
  std::string advertise_url;
};

class agent {
 public:
  /// Starts the session at once when the config says the node is a member.
  [[nodiscard]] static result<std::unique_ptr<agent>> open(agent_options opts, hypervisor& hv);
  virtual ~agent() = default;
  agent() = default;
  agent(const agent&) = delete;
  agent& operator=(const agent&) = delete;
  agent(agent&&) = delete;
  agent& operator=(agent&&) = delete;

  [[nodiscard]] virtual host_response handle(const host_request& req) = 0;
  /// Issues a registration token and answers it (for the console at start).
  [[nodiscard]] virtual std::string issue_token() = 0;
  /// "standalone", "pending_restart", "connected" or "disconnected".
  [[nodiscard]] virtual std::string cluster_status() = 0;
  /// Closes the session (without leaving the cluster).
  virtual void stop() = 0;
  virtual void set_advertise_url(std::string url) = 0;
};

} // namespace qx::node
