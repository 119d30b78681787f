#include "qx/actors/drs/controller.hpp"

#include "qx/actors/domain/node.hpp"
#include "reactor_record.hpp"

#include <qx/events/text_fields.hpp>
#include <qx/events/v1/drs.pb.h>

#include <algorithm>
#include <charconv>

namespace qx::actors::drs {

namespace {

namespace v1 = events::v1;

template<class Message>
void record(actions& out, const std::string& cluster_id, const Message& m, const std::string& by) {
  out.records.push_back(decision("drs-" + cluster_id, m, by));
}

void record_rejection(actions& out, const std::string& cluster_id, const std::string& id,
                      const std::string& reason, const std::string& by) {
  v1::DrsRecommendationRejected ev;
  ev.set_cluster_id(cluster_id);
  ev.set_recommendation_id(id);
  ev.set_reason(reason);
  record(out, cluster_id, ev, by);
}

bool mandatory(const domain::drs::move& m) {
  return m.reason != "BALANCE";
}

bool same_move(const domain::drs::move& a, const domain::drs::move& b) {
  return a.vm_id == b.vm_id && a.from == b.from && a.to == b.to;
}

/// The strict rule of `rules` that `vm_id` would break on `node_id`, given where the log has
/// the others; "" when none.
std::string broken_rule(const std::vector<domain::drs::rule>& rules, const std::string& vm_id,
                        const std::string& node_id, const domain::cluster_view& view) {
  const auto holds = [&](const std::string& o, const std::string& node) {
    const auto it = view.vms().find(o);
    return it != view.vms().end() && domain::cluster_view::holds_capacity(it->second.power) &&
           (it->second.node_id == node || it->second.migration_target == node);
  };
  const auto placed = [&](const std::string& o) {
    const auto it = view.vms().find(o);
    return it != view.vms().end() && domain::cluster_view::holds_capacity(it->second.power);
  };
  for (const auto& r : rules)
    if (domain::drs::names(r, vm_id) && domain::drs::breaks(r, vm_id, node_id, holds, placed))
      return r.name;
  return {};
}

error rule_violation(const std::string& vm_id, const std::string& node_id,
                     const std::string& rule) {
  return error{errc::failed_precondition,
               "vm " + vm_id + " on node " + node_id + " would break rule " + rule,
               {{"reason", "RULE_VIOLATION"}, {"rule", rule}, {"field", "node_id"}}};
}

} // namespace

void controller::maintenance_asked(const std::string& node_id, bool enable) {
  if (enable) {
    evacuating_.insert(node_id);
    returning_.erase(node_id);
    return;
  }
  evacuating_.erase(node_id);
  // The VMs maintenance sent away come back once the node takes VMs again.
  if (const auto sent = sent_away_.find(node_id); sent != sent_away_.end()) {
    returning_[node_id].insert(sent->second.begin(), sent->second.end());
    sent_away_.erase(sent);
  }
}

void controller::replay_maintenance(const events::recorded_event& e) {
  if (e.type == "qx.events.v1.DrsMaintenanceRequested") {
    v1::DrsMaintenanceRequested ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    maintenance_asked(ev.node_id(), ev.enable());
  } else if (!e.type.starts_with("qx.events.v1.Node")) {
    return;
  }
  // What the live controller did once the log showed this: a node in maintenance is no longer
  // being emptied, and the VMs of a node back in service were brought back (or stayed, where
  // a rule forbade it) at that moment, recorded as their own moves.
  std::erase_if(evacuating_, [&](const std::string& id) {
    const auto n = view_.nodes().find(id);
    return n == view_.nodes().end() || n->second.state == domain::node::states::maintenance;
  });
  std::erase_if(returning_, [&](const auto& kv) {
    const auto n = view_.nodes().find(kv.first);
    return n == view_.nodes().end() || n->second.state == domain::node::states::connected;
  });
}

void controller::on_event(const events::recorded_event& e) {
  view_.apply(e);
  if (live_)
    return; // live: this controller wrote its own records itself
  replay_maintenance(e);
  if (e.type == "qx.events.v1.DrsRuleCompliance") {
    v1::DrsRuleCompliance ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    if (ev.met())
      unmet_[ev.cluster_id()].erase(ev.vm_id());
    else
      unmet_[ev.cluster_id()][ev.vm_id()] = ev.rule();
    return;
  }
  if (!e.type.starts_with("qx.events.v1.DrsRecommend"))
    return;
  if (e.type == "qx.events.v1.DrsRecommended") {
    v1::DrsRecommended ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    if (ev.reason() == "MAINTENANCE")
      sent_away_[ev.source_node_id()].insert(ev.vm_id());
    const auto& id = ev.recommendation_id();
    const auto dash = id.rfind('-');
    std::uint64_t n = 0;
    if (dash != std::string::npos &&
        std::from_chars(id.data() + dash + 1, id.data() + id.size(), n).ec == std::errc{})
      next_id_ = std::max(next_id_, n + 1);
    if (ev.automatic())
      return;
    domain::drs::move m{ev.vm_id(),  ev.source_node_id(),   ev.target_node_id(),
                        ev.reason(), ev.imbalance_before(), ev.imbalance_after(),
                        ev.score()};
    pending_[ev.cluster_id()][id] = recommendation{id, ev.cluster_id(), std::move(m), 0};
    return;
  }
  std::string cluster;
  std::string id;
  if (e.type == "qx.events.v1.DrsRecommendationApplied") {
    v1::DrsRecommendationApplied ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    cluster = ev.cluster_id();
    id = ev.recommendation_id();
  } else if (e.type == "qx.events.v1.DrsRecommendationRejected") {
    v1::DrsRecommendationRejected ev;
    if (!qx::events::parse_message(ev, e.payload))
      return;
    cluster = ev.cluster_id();
    id = ev.recommendation_id();
  }
  if (auto p = pending_.find(cluster); p != pending_.end())
    p->second.erase(id);
}

void controller::on_demand(const std::string& vm_id, double cpu, double memory_mib) {
  demand_[vm_id] = {cpu, memory_mib};
}

const std::vector<domain::drs::rule>& controller::rules_of(const std::string& cluster_id) const {
  return view_.rules_of(cluster_id);
}

migrate_vm controller::migration(const domain::drs::move& m, command_meta meta) const {
  placement_scope scope;
  scope.peers = domain::drs::peers_of(rules_of(view_.cluster_of_vm(m.vm_id)), m.vm_id);
  return migrate_vm{m.vm_id, m.to, std::move(meta), std::move(scope)};
}

std::string controller::recommend(const std::string& cluster_id, const domain::drs::move& m,
                                  double target, bool automatic, const std::string& by,
                                  actions& out) {
  auto id = cluster_id + "-" + std::to_string(next_id_++);
  v1::DrsRecommended ev;
  ev.set_cluster_id(cluster_id);
  ev.set_recommendation_id(id);
  ev.set_vm_id(m.vm_id);
  ev.set_source_node_id(m.from);
  ev.set_target_node_id(m.to);
  ev.set_reason(m.reason);
  ev.set_imbalance_before(m.imbalance_before);
  ev.set_imbalance_after(m.imbalance_after);
  ev.set_target_imbalance(target);
  ev.set_score(m.score);
  ev.set_automatic(automatic);
  record(out, cluster_id, ev, by);
  return id;
}

void controller::apply(const std::string& cluster_id, const std::string& id,
                       const domain::drs::move& m, const std::string& by, actions& out) {
  v1::DrsRecommendationApplied applied;
  applied.set_cluster_id(cluster_id);
  applied.set_recommendation_id(id);
  record(out, cluster_id, applied, by);
  out.migrations.push_back(migration(m, command_meta{by, "", id, id, {}}));
}

void controller::apply_now(const std::string& cluster_id, const domain::drs::move& m, double target,
                           const std::string& by, actions& out) {
  apply(cluster_id, recommend(cluster_id, m, target, true, by, out), m, by, out);
}

result<actions> controller::request_maintenance(const std::string& node_id, bool enable,
                                                const std::string& by) {
  const auto node = view_.nodes().find(node_id);
  if (node == view_.nodes().end())
    return error{errc::not_found, "unknown node " + node_id, {{"field", "node_id"}}};
  const auto& state = node->second.state;
  actions out;
  const auto request = [&] {
    v1::DrsMaintenanceRequested ev;
    ev.set_cluster_id(node->second.cluster_id);
    ev.set_node_id(node_id);
    ev.set_enable(enable);
    record(out, node->second.cluster_id, ev, by);
  };
  if (!enable) {
    request();
    maintenance_asked(node_id, false);
    if (state == domain::node::states::maintenance)
      out.node_commands.push_back(
          {node_id, domain::node::exit_maintenance{}, command_meta{by, "", "", "", {}}});
    bring_back(by, out);
    return out;
  }
  if (state == domain::node::states::maintenance)
    return out;
  // Its VMs cannot be migrated off a host that does not answer: refused now, not held until
  // it returns (HA handles a host that is down).
  if (state != domain::node::states::connected)
    return error{errc::failed_precondition,
                 "node " + node_id + " is " + state + ": maintenance needs it up to move its VMs",
                 {{"reason", "NODE_DOWN"}, {"field", "node_id"}}};
  request();
  maintenance_asked(node_id, true);
  evacuate(node_id, by, out);
  enter_emptied(out);
  return out;
}

void controller::evacuate(const std::string& node_id, const std::string& by, actions& out) {
  const auto cluster_id = view_.nodes().at(node_id).cluster_id;
  if (view_.clusters().count(cluster_id) == 0)
    return;
  // At once and whatever the automation level: the operator asked for the host to be emptied
  // (vCenter's maintenance mode). Without limits: they throttle, they never refuse a VM.
  auto facts = view_.drs_input(cluster_id, demand_);
  for (auto& h : facts.hosts)
    h.evacuate = evacuating_.count(h.node.id) != 0;
  const auto plan =
      domain::drs::plan_evacuation(facts.hosts, facts.vms, rules_of(cluster_id), node_id);
  for (const auto& m : plan.moves) {
    sent_away_[node_id].insert(m.vm_id);
    apply_now(cluster_id, m, target_imbalance_of(cluster_id), by, out);
  }
}

void controller::bring_back(const std::string& by, actions& out) {
  for (auto it = returning_.begin(); it != returning_.end();) {
    const auto node = view_.nodes().find(it->first);
    if (node == view_.nodes().end()) {
      it = returning_.erase(it);
      continue;
    }
    if (node->second.state != domain::node::states::connected) {
      ++it;
      continue;
    }
    const auto& cluster_id = node->second.cluster_id;
    for (const auto& vm_id : it->second) {
      const auto vm = view_.vms().find(vm_id);
      // Only VMs still running where maintenance sent them, and where the rules allow.
      if (vm == view_.vms().end() || vm->second.power != "running" ||
          vm->second.node_id == it->first ||
          !broken_rule(rules_of(cluster_id), vm_id, it->first, view_).empty())
        continue;
      domain::drs::move m{vm_id, vm->second.node_id, it->first, "MAINTENANCE_RETURN", 0, 0, 0};
      apply_now(cluster_id, m, target_imbalance_of(cluster_id), by, out);
    }
    it = returning_.erase(it);
  }
}

double controller::target_imbalance_of(const std::string& cluster_id) const {
  const auto c = view_.clusters().find(cluster_id);
  return domain::drs::target_imbalance(
      c == view_.clusters().end() ? 3 : settings_of(c->second.drs, cfg_.planner).threshold);
}

actions controller::after_events() {
  actions out;
  if (!live_)
    return out;
  enter_emptied(out);
  bring_back(principal, out);
  return out;
}

domain::drs::settings controller::settings_of(const v1::DrsSettings& drs, domain::drs::settings s) {
  // A setting left 0 (a cluster recorded before it existed) keeps the configured default.
  s.threshold = drs.migration_threshold() == 0 ? 3 : drs.migration_threshold();
  if (drs.max_moves_per_pass() != 0)
    s.max_moves_per_pass = drs.max_moves_per_pass();
  if (drs.max_concurrent_per_host() != 0)
    s.max_concurrent_per_host = drs.max_concurrent_per_host();
  if (drs.max_concurrent_per_cluster() != 0)
    s.max_concurrent_per_cluster = drs.max_concurrent_per_cluster();
  if (drs.min_gain() > 0)
    s.min_gain = drs.min_gain();
  s.fail_back = !drs.has_fail_back() || drs.fail_back();
  return s;
}

std::chrono::milliseconds controller::hold_of(const v1::DrsSettings& drs) const {
  return drs.hold_seconds() == 0 ? cfg_.hold : std::chrono::seconds{drs.hold_seconds()};
}

domain::drs::pass controller::plan_for(const std::string& cluster_id) const {
  const auto& cluster = view_.clusters().at(cluster_id);
  auto facts = view_.drs_input(cluster_id, demand_);
  for (auto& h : facts.hosts)
    h.evacuate = evacuating_.count(h.node.id) != 0;
  for (auto& v : facts.vms)
    if (const auto last = moved_.find(v.id); last != moved_.end()) {
      v.settling = now_ - last->second.at < hold_of(cluster.drs);
      v.left_host = last->second.from;
      v.left_host_load = last->second.from_load;
    }
  return domain::drs::plan(facts.hosts, facts.vms, rules_of(cluster_id),
                           settings_of(cluster.drs, cfg_.planner));
}

result<cluster_status> controller::status_of(const std::string& cluster_id, time_point now,
                                             std::chrono::milliseconds interval) const {
  const auto c = view_.clusters().find(cluster_id);
  if (c == view_.clusters().end())
    return error{
        errc::not_found, "cluster " + cluster_id + " does not exist", {{"id", cluster_id}}};
  const auto& drs = c->second.drs;
  cluster_status st;
  st.enabled = drs.enabled();
  st.automation = drs.automation();
  st.threshold = settings_of(drs, cfg_.planner).threshold;
  const auto facts = view_.drs_input(cluster_id, demand_);
  st.imbalance = domain::drs::imbalance(facts.hosts, facts.vms);
  st.target = target_imbalance_of(cluster_id);
  if (const auto a = above_since_.find(cluster_id); a != above_since_.end())
    st.above_for = now - a->second;
  st.hold = hold_of(drs);
  if (passed_) {
    st.last_pass_ago = now - now_;
    st.next_pass_in = std::max(std::chrono::milliseconds{0}, interval - (now - now_));
  } else {
    st.next_pass_in = interval;
  }
  if (const auto p = pending_.find(cluster_id); p != pending_.end())
    st.pending = p->second.size();
  st.live = live_;
  return st;
}

domain::drs::pass controller::what_if(const std::string& cluster_id) const {
  if (view_.clusters().count(cluster_id) == 0)
    return {};
  return plan_for(cluster_id);
}

void controller::drop_stale(const std::string& cluster_id, const domain::drs::pass& p,
                            actions& out) {
  auto& pending = pending_[cluster_id];
  for (auto it = pending.begin(); it != pending.end();) {
    const auto& m = it->second.move;
    const auto vm = view_.vms().find(m.vm_id);
    const bool still_there =
        vm != view_.vms().end() && vm->second.power == "running" && vm->second.node_id == m.from;
    const bool still_wanted =
        std::any_of(p.moves.begin(), p.moves.end(), [&](const auto& x) { return same_move(x, m); });
    if (still_there && still_wanted) {
      ++it;
      continue;
    }
    record_rejection(out, cluster_id, it->first, "STALE", principal);
    it = pending.erase(it);
  }
}

actions controller::run_pass(time_point now) {
  now_ = now;
  actions out;
  if (!live_)
    return out;
  passed_ = true;
  ++stats_.passes;
  enter_emptied(out);
  bring_back(principal, out);
  // Evacuations again, for VMs whose move failed or found no room before.
  for (const auto& node_id : evacuating_)
    evacuate(node_id, principal, out);
  for (const auto& [cluster_id, cluster] : view_.clusters()) {
    if (!cluster.drs.enabled())
      continue;
    auto p = plan_for(cluster_id);
    stats_.imbalance[cluster_id] = {p.imbalance_before, p.target};
    track_compliance(cluster_id, p, out);
    // Maintenance's own moves are evacuate()'s: automatic, whatever the automation level.
    std::erase_if(p.moves, [](const auto& m) { return m.reason == "MAINTENANCE"; });
    // The hold period: balancing waits until the imbalance has stayed above target that long.
    const bool above = p.imbalance_before > p.target;
    if (!above)
      above_since_.erase(cluster_id);
    else
      above_since_.try_emplace(cluster_id, now);
    const bool held = above && now - above_since_.at(cluster_id) >= hold_of(cluster.drs);
    // Stale: what the plan no longer wants, judged before the hold period filters it (a
    // restarted server starts its hold timer again; its pending recommendations still hold).
    drop_stale(cluster_id, p, out);
    std::erase_if(p.moves, [&](const auto& m) { return !mandatory(m) && !held; });
    const bool automatic = cluster.drs.automation() == "fully_automated";
    auto& pending = pending_[cluster_id];
    for (const auto& m : p.moves) {
      if (std::any_of(pending.begin(), pending.end(),
                      [&](const auto& kv) { return same_move(kv.second.move, m); }))
        continue;
      const auto id = recommend(cluster_id, m, p.target, automatic, principal, out);
      const auto source_load = p.host_loads.count(m.from) != 0 ? p.host_loads.at(m.from) : 0.0;
      if (!automatic) {
        pending.emplace(id, recommendation{id, cluster_id, m, source_load});
        continue;
      }
      moved(m, source_load);
      apply(cluster_id, id, m, principal, out);
    }
  }
  return out;
}

void controller::track_compliance(const std::string& cluster_id, const domain::drs::pass& p,
                                  actions& out) {
  const auto& rules = rules_of(cluster_id);
  auto& unmet = unmet_[cluster_id];
  const auto compliance = [&](const std::string& vm_id, const std::string& rule, bool met,
                              const std::string& reason) {
    v1::DrsRuleCompliance ev;
    ev.set_cluster_id(cluster_id);
    ev.set_vm_id(vm_id);
    ev.set_rule(rule);
    ev.set_met(met);
    ev.set_reason(reason);
    record(out, cluster_id, ev, principal);
  };
  // Met again: the VM stands where its rules allow (or no longer runs).
  for (auto it = unmet.begin(); it != unmet.end();) {
    const auto vm = view_.vms().find(it->first);
    if (vm != view_.vms().end() && domain::cluster_view::holds_capacity(vm->second.power) &&
        !broken_rule(rules, it->first, vm->second.node_id, view_).empty()) {
      ++it;
      continue;
    }
    compliance(it->first, it->second, true, "");
    it = unmet.erase(it);
  }
  // A VM the planner must move for a rule and finds no target for.
  for (const auto& [vm_id, why] : p.stuck) {
    const auto vm = view_.vms().find(vm_id);
    if (vm == view_.vms().end() || unmet.count(vm_id) != 0)
      continue;
    auto rule = broken_rule(rules, vm_id, vm->second.node_id, view_);
    if (rule.empty())
      continue;
    compliance(vm_id, rule, false, why);
    unmet.emplace(vm_id, std::move(rule));
  }
}

void controller::enter_emptied(actions& out) {
  for (auto it = evacuating_.begin(); it != evacuating_.end();) {
    const auto node = view_.nodes().find(*it);
    if (node == view_.nodes().end() || node->second.state == "maintenance") {
      it = evacuating_.erase(it);
      continue;
    }
    const bool empty = std::none_of(view_.vms().begin(), view_.vms().end(), [&](const auto& kv) {
      const auto& vm = kv.second;
      return domain::cluster_view::holds_capacity(vm.power) &&
             (vm.node_id == *it || vm.migration_target == *it);
    });
    if (empty)
      out.node_commands.push_back(
          {*it, domain::node::enter_maintenance{}, command_meta{principal, "", "", "", {}}});
    ++it;
  }
}

result<recommendation> controller::take_pending(const std::string& cluster_id,
                                                const std::string& id) {
  auto& pending = pending_[cluster_id];
  const auto it = pending.find(id);
  if (it == pending.end())
    return error{errc::not_found, "no pending recommendation " + id, {{"field", "id"}}};
  auto r = std::move(it->second);
  pending.erase(it);
  return r;
}

result<actions> controller::approve(const std::string& cluster_id, const std::string& id,
                                    const std::string& by) {
  auto r = take_pending(cluster_id, id);
  if (!r)
    return std::move(r).error();
  actions out;
  moved(r->move, r->source_load);
  apply(cluster_id, id, r->move, by, out);
  return out;
}

result<actions> controller::reject(const std::string& cluster_id, const std::string& id,
                                   const std::string& by) {
  auto r = take_pending(cluster_id, id);
  if (!r)
    return std::move(r).error();
  actions out;
  record_rejection(out, cluster_id, id, "REJECTED", by);
  return out;
}

actions controller::refused(const migrate_vm& m, const qx::error& err) const {
  actions out;
  const auto reason = err.details.count("reason") != 0 ? err.details.at("reason")
                                                       : std::string{to_string(err.code)};
  record_rejection(out, view_.cluster_of_vm(m.vm_id), m.meta.correlation_id, reason, principal);
  return out;
}

result<placement_scope> controller::scope(const std::string& cluster_id, const std::string& vm_id,
                                          const std::string& node_id) const {
  if (view_.vms().count(vm_id) == 0)
    return error{errc::not_found, "unknown VM " + vm_id, {{"field", "vm_id"}}};
  const auto cluster = view_.clusters().find(cluster_id);
  if (cluster == view_.clusters().end())
    return error{errc::not_found, "unknown cluster " + cluster_id, {{"field", "cluster_id"}}};
  const auto& rules = rules_of(cluster_id);
  placement_scope out;
  out.how = domain::placement::strategy_named(cluster->second.drs.placement_strategy())
                .value_or(domain::placement::strategy::spread);
  out.peers = domain::drs::peers_of(rules, vm_id);
  if (!node_id.empty()) {
    // A node the caller named: refused when a rule forbids it, never moved elsewhere.
    if (auto rule = broken_rule(rules, vm_id, node_id, view_); !rule.empty())
      return rule_violation(vm_id, node_id, rule);
    out.candidates.push_back(node_id);
    return out;
  }
  std::string refused_by;
  for (const auto& n : cluster->second.node_ids) {
    if (auto rule = broken_rule(rules, vm_id, n, view_); !rule.empty()) {
      refused_by = std::move(rule);
      continue;
    }
    out.candidates.push_back(n);
    if (const auto r = domain::drs::rank(rules, vm_id, n); r > 0)
      out.rank[n] = r;
  }
  if (out.candidates.empty()) {
    if (!refused_by.empty())
      return rule_violation(vm_id, "any node of cluster " + cluster_id, refused_by);
    return error{errc::resource_exhausted,
                 "cluster " + cluster_id + " has no node",
                 {{"reason", "NO_SUITABLE_NODE"}}};
  }
  return out;
}

std::vector<recommendation> controller::pending(const std::string& cluster_id) const {
  std::vector<recommendation> out;
  if (const auto it = pending_.find(cluster_id); it != pending_.end())
    for (const auto& [id, r] : it->second)
      out.push_back(r);
  return out;
}

} // namespace qx::actors::drs
