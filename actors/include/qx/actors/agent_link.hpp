#pragma once

// One open session of a node agent, as its node proxy sees it: frames out, and a way to end
// it. The control plane's transport implements it (api/src/transport/agent_session_ws.hpp,
// a WebSocket); tests record what the proxy does to it.

#include <string>

namespace qx::actors {

class agent_link {
 public:
  virtual ~agent_link() = default;
  agent_link() = default;
  agent_link(const agent_link&) = delete;
  agent_link& operator=(const agent_link&) = delete;
  agent_link(agent_link&&) = delete;
  agent_link& operator=(agent_link&&) = delete;
  /// Queues one binary message (a serialized agent::v1::ControlFrame). Never blocks.
  virtual void send(std::string bytes) = 0;
  /// Ends the session after the frames already queued, telling the agent `reason`.
  virtual void close(const std::string& reason) = 0;
};

} // namespace qx::actors
