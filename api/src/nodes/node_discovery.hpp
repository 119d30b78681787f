#pragma once

// The control plane's side of registering a host by its token, in the seeds' three phases:
// ping (is a qx-node host API there?), token (does the host accept this token?), discovery
// (what the host has). Failures are the seeds' structured codes, in details["reason"]:
// HOST_FIRMWARE_OUTDATED (the host answered HTML or 404: an agent too old for this API),
// HOST_API_NOT_AVAILABLE (it answered 5xx), HOST_CONNECTION_FAILED, CONNECTION_TIMEOUT,
// NETWORK_UNREACHABLE, TLS_ERROR, INVALID_RESPONSE, TOKEN_MISSING, TOKEN_INVALID,
// TOKEN_EXPIRED. Blocking: runs on the blocking pool.

#include "json_codec.hpp"

#include <qx/base/error.hpp>

#include <chrono>
#include <string>

namespace qx::api {

struct discovery_target {
  std::string host_url; ///< http(s)://host:port of the host API
  std::string token;
  std::chrono::milliseconds timeout{5000}; ///< per phase
};

/// The host's discovery document (hostname, cpu, memoryMib, disks, nics, libvirtVersion,
/// storagePools, ...).
[[nodiscard]] result<json> discover_host(const discovery_target& t);

/// Tells the host it is node `node_id` of the control plane at `control_plane_address`, with
/// the key for its session and, with TLS, the pin of the control plane's certificate; the host
/// uses the token up.
[[nodiscard]] status complete_registration(const discovery_target& t, const std::string& node_id,
                                           const std::string& control_plane_address,
                                           const std::string& agent_key,
                                           const std::string& cluster_id,
                                           const std::string& cert_pin);

/// The HTTP status the API answers for a discovery failure: 422 for a token the host refused,
/// 504 for a timeout, 502 for the other host failures, 400 for a bad URL.
[[nodiscard]] unsigned discovery_status(const error& e);

} // namespace qx::api
