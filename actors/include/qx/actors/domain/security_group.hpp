#pragma once

// The security group aggregate: named sets of inbound and outbound rules.
//
// Commands and their refusals (before create every command is NOT_FOUND, create twice is
// ALREADY_EXISTS, and a deleted group refuses everything with reason DELETED):
//   create       name, description up to 1024 bytes
//   add_rule     direction inbound|outbound; protocol tcp|udp|icmp|any; ports 1..65535 with
//                from <= to for tcp and udp, 0..0 for icmp and any; cidr a.b.c.d/n (n 0..32,
//                host bits zero); malformed: INVALID_ARGUMENT naming "rule.<field>"; an
//                identical rule present: RULE_EXISTS; more than max_rules: RESOURCE_EXHAUSTED
//                TOO_MANY_RULES. The rule id is "rule-<n>", n = 1 + the highest present.
//   remove_rule  unknown id: NOT_FOUND (field rule_id)
//   remove       any time

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
/// rule_id is assigned by the aggregate ("rule-<n>"); a rule_id given here is ignored.
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
