#pragma once

// Our message types travel only inside one process, so they are whitelisted as CAF "unsafe"
// message types instead of being given serializers (decision 0006).

#include "qx/actors/actors.hpp"
#include "qx/actors/aggregates.hpp"
#include "qx/actors/reactors.hpp"

#include <caf/allowed_unsafe_message_type.hpp>

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::actors::command_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::actors::append_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::actors::directory_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::actors::placement_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::actors::start_vm)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::actors::migrate_vm)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::result<std::string>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::result<qx::actors::placement_scope>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<qx::events::recorded_event>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<qx::actors::vm_demand>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<qx::domain::drs::rule>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::domain::drs::pass)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<qx::actors::drs::recommendation>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::result<qx::actors::drs::cluster_status>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::result<qx::actors::ha::cluster_status>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<qx::actors::agent_link>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::agent::v1::AgentFrame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::domain::agent_logic::agent_command)

#define QX_AGGREGATE_MESSAGE_TYPES(type_name)                                                      \
  CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::actors::command_request<qx::actors::type_name>)                \
  CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qx::actors::state_outcome<qx::actors::type_name>)

QX_AGGREGATE_MESSAGE_TYPES(vm_aggregate)
QX_AGGREGATE_MESSAGE_TYPES(node_aggregate)
QX_AGGREGATE_MESSAGE_TYPES(cluster_aggregate)
QX_AGGREGATE_MESSAGE_TYPES(storage_pool_aggregate)
QX_AGGREGATE_MESSAGE_TYPES(volume_aggregate)
QX_AGGREGATE_MESSAGE_TYPES(network_aggregate)
QX_AGGREGATE_MESSAGE_TYPES(security_group_aggregate)
QX_AGGREGATE_MESSAGE_TYPES(image_aggregate)
QX_AGGREGATE_MESSAGE_TYPES(alert_aggregate)
QX_AGGREGATE_MESSAGE_TYPES(user_aggregate)
QX_AGGREGATE_MESSAGE_TYPES(role_aggregate)
