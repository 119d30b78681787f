#pragma once

// The values actors exchange. They never leave the process (the node agent speaks protobuf
// over WebSocket), so they are allowed as "unsafe" CAF message types: no serializer needed.

#include "qx/actors/domain/placement.hpp"

#include <qx/base/error.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qx::actors {

/// Who asks and how to recognise a retry; recorded in the events the command produces.
struct command_meta {
  std::string principal;      ///< "user:alice", "system:drs", ...
  std::string command_id;     ///< Idempotency key; empty for none.
  std::string correlation_id; ///< Ties the events of one request together.
  std::string causation_id;
  /// When set, the command applies only if the aggregate is at this version (If-Match).
  std::optional<std::uint64_t> expected_version;
};

/// A command for aggregate `A` with id `id`.
template<class A>
struct command_request {
  std::string id;
  typename A::command command;
  command_meta meta;
};

/// What a command did: the aggregate's version after it and where its events landed.
struct command_reply {
  std::uint64_t version = 0;        ///< The aggregate's version after the command.
  std::uint64_t first_position = 0; ///< Log position of the first event (0: no events).
  std::uint32_t events = 0;         ///< Events written (0 for a no-op or a duplicate).
  bool duplicate = false;           ///< A retry of a command already applied.
};

using command_outcome = result<command_reply>;

/// An aggregate's state and version, as a read answers them.
template<class A>
struct state_reply {
  typename A::state state;
  std::uint64_t version = 0;
};

template<class A>
using state_outcome = result<state_reply<A>>;

/// The answer to a command that placed a VM.
struct placement_reply {
  std::string node_id;
  command_reply vm;
};
using placement_outcome = result<placement_reply>;

/// Where placement may put a VM, and how it picks among them: what the cluster's rules say,
/// as DRS (or HA) answers it. The coordinator checks the peers against the nodes'
/// reservations itself, also on a named node: the rules' view of the log lags its starts.
struct placement_scope {
  /// The nodes allowed when none is named (a cluster's, after its rules); empty: every
  /// registered node.
  std::vector<std::string> candidates;
  domain::placement::strategy how = domain::placement::strategy::spread;
  domain::placement::peers peers{};           ///< keep-apart and keep-together peers
  std::map<std::string, std::int32_t> rank{}; ///< should-run-on rank per node (absent: 0)
};

/// Start a VM; an empty node_id lets placement choose within `scope`. A node that refuses
/// the reservation (it filled up meanwhile) is passed over for the next candidate.
struct start_vm {
  std::string vm_id;
  std::string node_id;
  command_meta meta;
  placement_scope scope;
};

/// Live-migrate a running VM; an empty target lets placement choose within `scope` (never
/// the current node).
struct migrate_vm {
  std::string vm_id;
  std::string target_node_id;
  command_meta meta;
  placement_scope scope;
};

} // namespace qx::actors
