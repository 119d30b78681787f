#include "qx/actors/domain/security_group.hpp"

#include "qx/actors/domain/ipv4.hpp"

#include "overloaded.hpp"

#include <algorithm>
#include <string_view>

namespace qx::domain::security_group {

namespace {

using namespace events::v1;
using detail::overloaded;

constexpr auto one = &one_event<event>;

status check_rule(const SecurityRule& r) {
  if (r.direction() != "inbound" && r.direction() != "outbound")
    return invalid_field("rule.direction", "direction must be inbound or outbound");
  const auto& p = r.protocol();
  if (p != "tcp" && p != "udp" && p != "icmp" && p != "any")
    return invalid_field("rule.protocol", "protocol must be tcp, udp, icmp or any");
  if (p == "tcp" || p == "udp") {
    if (r.port_from() < 1 || r.port_from() > 65535)
      return invalid_field("rule.port_from", "ports are 1 to 65535");
    if (r.port_to() < r.port_from() || r.port_to() > 65535)
      return invalid_field("rule.port_to", "port_to must be from port_from to 65535");
  } else if (r.port_from() != 0) {
    return invalid_field("rule.port_from", p + " rules carry no ports");
  } else if (r.port_to() != 0) {
    return invalid_field("rule.port_to", p + " rules carry no ports");
  }
  if (!ipv4::parse_cidr(r.cidr(), 0, 32))
    return invalid_field("rule.cidr", "cidr must be an IPv4 network a.b.c.d/n with zero host bits");
  return {};
}

/// n of "rule-<n>"; 0 for any other id.
unsigned rule_number(const std::string& rule_id) {
  constexpr std::string_view prefix = "rule-";
  if (!rule_id.starts_with(prefix) || rule_id.size() == prefix.size() ||
      rule_id.size() > prefix.size() + 9)
    return 0;
  unsigned n = 0;
  for (char c : std::string_view{rule_id}.substr(prefix.size())) {
    if (c < '0' || c > '9')
      return 0;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  return n;
}

bool same_rule(const SecurityRule& a, const SecurityRule& b) {
  return a.direction() == b.direction() && a.protocol() == b.protocol() &&
         a.port_from() == b.port_from() && a.port_to() == b.port_to() && a.cidr() == b.cidr();
}

} // namespace

state initial(std::string_view id) {
  return initial_state<state>(id);
}

std::string_view name_of(const command& c) {
  static constexpr const char* names[] = {"create", "add_rule", "remove_rule", "remove"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[c.index()];
}

decision<event> decide(const state& s, const command& c) {
  if (auto refusal = lifecycle_refusal(kind, s, std::holds_alternative<create>(c)))
    return *refusal;
  return std::visit(
      overloaded{
          [&](const create& cmd) -> decision<event> {
            if (auto ok = check_name("name", cmd.name, 80); !ok)
              return ok.error();
            if (auto ok = check_text("description", cmd.description, 1024); !ok)
              return ok.error();
            SecurityGroupCreated ev;
            ev.set_id(s.id());
            ev.set_name(cmd.name);
            ev.set_description(cmd.description);
            return one(std::move(ev));
          },
          [&](const add_rule& cmd) -> decision<event> {
            if (auto ok = check_rule(cmd.rule); !ok)
              return ok.error();
            if (s.rules_size() >= max_rules)
              return error{errc::resource_exhausted,
                           "security group " + s.id() + " holds the most rules allowed, " +
                               std::to_string(max_rules),
                           {{"reason", "TOO_MANY_RULES"}, {"limit", std::to_string(max_rules)}}};
            unsigned highest = 0;
            for (const auto& r : s.rules()) {
              if (same_rule(r, cmd.rule))
                return refused("RULE_EXISTS", "the group has this rule as " + r.rule_id(),
                               {{"rule_id", r.rule_id()}});
              highest = std::max(highest, rule_number(r.rule_id()));
            }
            SecurityRuleAdded ev;
            ev.set_id(s.id());
            *ev.mutable_rule() = cmd.rule;
            ev.mutable_rule()->set_rule_id("rule-" + std::to_string(highest + 1));
            return one(std::move(ev));
          },
          [&](const remove_rule& cmd) -> decision<event> {
            for (const auto& r : s.rules())
              if (r.rule_id() == cmd.rule_id) {
                SecurityRuleRemoved ev;
                ev.set_id(s.id());
                ev.set_rule_id(cmd.rule_id);
                return one(std::move(ev));
              }
            return error{errc::not_found, "no rule " + cmd.rule_id, {{"field", "rule_id"}}};
          },
          [&](const remove&) -> decision<event> {
            SecurityGroupDeleted ev;
            ev.set_id(s.id());
            return one(std::move(ev));
          },
      },
      c);
}

void evolve(state& s, const event& e) {
  std::visit(overloaded{
                 [&](const SecurityGroupCreated& ev) {
                   s.set_created(true);
                   s.set_name(ev.name());
                   s.set_description(ev.description());
                 },
                 [&](const SecurityRuleAdded& ev) { *s.add_rules() = ev.rule(); },
                 [&](const SecurityRuleRemoved& ev) {
                   auto* rules = s.mutable_rules();
                   for (int i = 0; i < rules->size(); ++i)
                     if (rules->Get(i).rule_id() == ev.rule_id()) {
                       rules->DeleteSubrange(i, 1);
                       break;
                     }
                 },
                 [&](const SecurityGroupDeleted&) { s.set_deleted(true); },
             },
             e);
}

} // namespace qx::domain::security_group
