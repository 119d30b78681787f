#include "qx/actors/domain/cluster.hpp"

#include "qx/actors/domain/placement.hpp"

#include "overloaded.hpp"

#include <algorithm>

namespace qx::domain::cluster {

namespace {

using namespace events::v1;
using detail::overloaded;

constexpr auto one = &one_event<event>;

bool is_member(const state& s, const std::string& node_id) {
  return std::find(s.node_ids().begin(), s.node_ids().end(), node_id) != s.node_ids().end();
}

status check_texts(const std::string& name, const std::string& description) {
  if (auto ok = check_name("name", name, 80); !ok)
    return ok;
  if (auto ok = check_text("description", description, 1024); !ok)
    return ok;
  return {};
}

} // namespace

result<HaSettings> normalize(HaSettings ha) {
  const auto& policy = ha.admission_policy();
  if (!policy.empty() && policy != "host_failures" && policy != "percentage")
    return invalid_field("ha.admission_policy",
                         "admission_policy must be host_failures, percentage or empty");
  if (ha.host_failures_to_tolerate() > 31)
    return invalid_field("ha.host_failures_to_tolerate", "at most 31 host failures");
  if (ha.reserved_cpu_percent() > 100)
    return invalid_field("ha.reserved_cpu_percent", "a percentage is at most 100");
  if (ha.reserved_memory_percent() > 100)
    return invalid_field("ha.reserved_memory_percent", "a percentage is at most 100");
  if (ha.default_restart_priority() < 0 || ha.default_restart_priority() > 5)
    return invalid_field("ha.default_restart_priority", "priority must be between 0 and 5");
  if (policy == "host_failures" && ha.host_failures_to_tolerate() == 0)
    ha.set_host_failures_to_tolerate(1);
  if (ha.shutdown_policy().empty())
    ha.set_shutdown_policy("failover");
  if (ha.shutdown_policy() != "failover" && ha.shutdown_policy() != "freeze" &&
      ha.shutdown_policy() != "migrate")
    return invalid_field("ha.shutdown_policy",
                         "shutdown_policy must be failover, freeze or migrate");
  return ha;
}

result<DrsSettings> normalize(DrsSettings drs) {
  if (drs.automation().empty())
    drs.set_automation("manual");
  if (drs.automation() != "manual" && drs.automation() != "partially_automated" &&
      drs.automation() != "fully_automated")
    return invalid_field("drs.automation",
                         "automation must be manual, partially_automated or fully_automated");
  if (drs.migration_threshold() == 0)
    drs.set_migration_threshold(3);
  if (drs.migration_threshold() > 5)
    return invalid_field("drs.migration_threshold", "migration_threshold must be 1 to 5");
  if (drs.max_moves_per_pass() == 0)
    drs.set_max_moves_per_pass(8);
  if (drs.max_concurrent_per_host() == 0)
    drs.set_max_concurrent_per_host(2);
  if (drs.max_concurrent_per_cluster() == 0)
    drs.set_max_concurrent_per_cluster(8);
  if (drs.hold_seconds() == 0)
    drs.set_hold_seconds(600);
  if (drs.min_gain() == 0)
    drs.set_min_gain(0.01);
  if (!drs.has_fail_back())
    drs.set_fail_back(true);
  if (drs.migration_gib_per_s() == 0)
    drs.set_migration_gib_per_s(1.25);
  if (drs.max_moves_per_pass() > 1000)
    return invalid_field("drs.max_moves_per_pass", "max_moves_per_pass must be 1 to 1000");
  if (drs.max_concurrent_per_host() > 64)
    return invalid_field("drs.max_concurrent_per_host", "max_concurrent_per_host must be 1 to 64");
  if (drs.max_concurrent_per_cluster() > 1000)
    return invalid_field("drs.max_concurrent_per_cluster",
                         "max_concurrent_per_cluster must be 1 to 1000");
  if (drs.hold_seconds() > 86400)
    return invalid_field("drs.hold_seconds", "hold_seconds must be at most 86400 (a day)");
  if (!(drs.min_gain() > 0 && drs.min_gain() <= 1))
    return invalid_field("drs.min_gain", "min_gain must be above 0 and at most 1");
  if (drs.cpu_overcommit() != 0 && !(drs.cpu_overcommit() >= 1 && drs.cpu_overcommit() <= 16))
    return invalid_field("drs.cpu_overcommit",
                         "cpu_overcommit must be 0 (each node's own) or 1 to 16");
  if (!(drs.migration_gib_per_s() >= 0.1 && drs.migration_gib_per_s() <= 100))
    return invalid_field("drs.migration_gib_per_s", "migration_gib_per_s must be 0.1 to 100");
  if (drs.placement_strategy().empty())
    drs.set_placement_strategy(std::string{placement::name_of(placement::strategy::spread)});
  if (!placement::strategy_named(drs.placement_strategy()))
    return invalid_field("drs.placement_strategy", "placement_strategy must be spread or pack");
  return drs;
}

state initial(std::string_view id) {
  return initial_state<state>(id);
}

std::string_view name_of(const command& c) {
  static constexpr const char* names[] = {"create", "update",   "add_node",   "remove_node",
                                          "remove", "set_rule", "remove_rule"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[c.index()];
}

decision<event> decide(const state& s, const command& c) {
  if (auto refusal = lifecycle_refusal(kind, s, std::holds_alternative<create>(c)))
    return *refusal;
  return std::visit(
      overloaded{
          [&](const create& cmd) -> decision<event> {
            if (auto ok = check_texts(cmd.name, cmd.description); !ok)
              return ok.error();
            auto ha = normalize(cmd.ha);
            if (!ha)
              return std::move(ha).error();
            auto drs = normalize(cmd.drs);
            if (!drs)
              return std::move(drs).error();
            ClusterCreated ev;
            ev.set_id(s.id());
            ev.set_name(cmd.name);
            ev.set_description(cmd.description);
            *ev.mutable_ha() = *ha;
            *ev.mutable_drs() = *drs;
            return one(std::move(ev));
          },
          [&](const update& cmd) -> decision<event> {
            ClusterUpdated ev;
            ev.set_id(s.id());
            ev.set_name(cmd.name.value_or(s.name()));
            ev.set_description(cmd.description.value_or(s.description()));
            if (auto ok = check_texts(ev.name(), ev.description()); !ok)
              return ok.error();
            auto ha = normalize(cmd.ha.value_or(s.ha()));
            if (!ha)
              return std::move(ha).error();
            auto drs = normalize(cmd.drs.value_or(s.drs()));
            if (!drs)
              return std::move(drs).error();
            *ev.mutable_ha() = *ha;
            *ev.mutable_drs() = *drs;
            if (ev.name() == s.name() && ev.description() == s.description() &&
                events::serialize_deterministic(ev.ha()) ==
                    events::serialize_deterministic(s.ha()) &&
                events::serialize_deterministic(ev.drs()) ==
                    events::serialize_deterministic(s.drs()))
              return std::vector<event>{}; // nothing changes
            return one(std::move(ev));
          },
          [&](const add_node& cmd) -> decision<event> {
            if (auto ok = check_name("node_id", cmd.node_id, 64); !ok)
              return ok.error();
            if (is_member(s, cmd.node_id))
              return std::vector<event>{};
            ClusterNodeAdded ev;
            ev.set_cluster_id(s.id());
            ev.set_node_id(cmd.node_id);
            return one(std::move(ev));
          },
          [&](const remove_node& cmd) -> decision<event> {
            if (auto ok = check_name("node_id", cmd.node_id, 64); !ok)
              return ok.error();
            if (!is_member(s, cmd.node_id))
              return refused("NODE_NOT_IN_CLUSTER",
                             "node " + cmd.node_id + " is not a member of cluster " + s.id(),
                             {{"field", "node_id"}});
            ClusterNodeRemoved ev;
            ev.set_cluster_id(s.id());
            ev.set_node_id(cmd.node_id);
            return one(std::move(ev));
          },
          [&](const remove&) -> decision<event> {
            if (s.node_ids_size() > 0)
              return refused("CLUSTER_NOT_EMPTY",
                             "cluster " + s.id() + " still has " +
                                 std::to_string(s.node_ids_size()) + " nodes",
                             {{"nodes", std::to_string(s.node_ids_size())}});
            ClusterDeleted ev;
            ev.set_id(s.id());
            return one(std::move(ev));
          },
          [&](const set_rule& cmd) -> decision<event> {
            if (auto ok = check_rule(s, cmd.rule); !ok)
              return ok.error();
            for (const auto& r : s.rules())
              if (r.name() == cmd.rule.name() &&
                  events::serialize_deterministic(r) == events::serialize_deterministic(cmd.rule))
                return std::vector<event>{}; // the same rule again
            ClusterRuleSet ev;
            ev.set_cluster_id(s.id());
            *ev.mutable_rule() = cmd.rule;
            return one(std::move(ev));
          },
          [&](const remove_rule& cmd) -> decision<event> {
            if (std::none_of(s.rules().begin(), s.rules().end(),
                             [&](const auto& r) { return r.name() == cmd.name; }))
              return error{errc::not_found,
                           "cluster " + s.id() + " has no rule " + cmd.name,
                           {{"field", "name"}}};
            ClusterRuleRemoved ev;
            ev.set_cluster_id(s.id());
            ev.set_name(cmd.name);
            return one(std::move(ev));
          },
      },
      c);
}

void evolve(state& s, const event& e) {
  std::visit(overloaded{
                 [&](const ClusterCreated& ev) {
                   s.set_created(true);
                   s.set_name(ev.name());
                   s.set_description(ev.description());
                   *s.mutable_ha() = ev.ha();
                   *s.mutable_drs() = ev.drs();
                 },
                 [&](const ClusterUpdated& ev) {
                   s.set_name(ev.name());
                   s.set_description(ev.description());
                   *s.mutable_ha() = ev.ha();
                   *s.mutable_drs() = ev.drs();
                 },
                 [&](const ClusterNodeAdded& ev) { s.add_node_ids(ev.node_id()); },
                 [&](const ClusterNodeRemoved& ev) {
                   auto* ids = s.mutable_node_ids();
                   ids->erase(std::remove(ids->begin(), ids->end(), ev.node_id()), ids->end());
                 },
                 [&](const ClusterDeleted&) { s.set_deleted(true); },
                 [&](const ClusterRuleSet& ev) {
                   for (auto& r : *s.mutable_rules())
                     if (r.name() == ev.rule().name()) {
                       r = ev.rule();
                       return;
                     }
                   *s.add_rules() = ev.rule();
                 },
                 [&](const ClusterRuleRemoved& ev) {
                   auto* rules = s.mutable_rules();
                   rules->erase(
                       std::remove_if(rules->begin(), rules->end(),
                                      [&](const auto& r) { return r.name() == ev.name(); }),
                       rules->end());
                 },
             },
             e);
}

} // namespace qx::domain::cluster
