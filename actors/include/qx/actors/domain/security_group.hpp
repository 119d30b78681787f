#pragma once

// The security group aggregate: named sets of inbound and outbound rules.

#include "qx/actors/domain/decider.hpp"

#include <qx/events/v1/network.pb.h>
#include <qx/snapshots/v1/state.pb.h>

#include <string>
#include <variant>

namespace qx::domain::security_group {

using state = snapshots::v1::SecurityGroupState;

struct create {
  std::string name;
  std::string description;
};
/// rule_id is assigned by the aggregate ("rule-<n>").
struct add_rule {
  events::v1::SecurityRule rule;
};
struct remove_rule {
  std::string rule_id;
};
struct remove {};

using command = std::variant<create, add_rule, remove_rule, remove>;
using event = std::variant<events::v1::SecurityGroupCreated, events::v1::SecurityRuleAdded,
                           events::v1::SecurityRuleRemoved, events::v1::SecurityGroupDeleted>;

inline constexpr const char* kind = "security_group";
inline constexpr const char* stream_prefix = "sg-";
inline constexpr int max_rules = 256;

[[nodiscard]] state initial(std::string_view id);
[[nodiscard]] decision<event> decide(const state& s, const command& c);
void evolve(state& s, const event& e);
[[nodiscard]] std::string_view name_of(const command& c);

} // namespace qx::domain::security_group
