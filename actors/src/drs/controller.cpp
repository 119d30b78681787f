#include "qx/actors/drs/controller.hpp"

#include "qx/actors/domain/node.hpp"
#include "reactor_record.hpp"

#include <qx/events/v1/drs.pb.h>

#include <algorithm>

namespace qx::actors::drs {

namespace {

namespace v1 = events::v1;
using domain::drs::rule_kind;

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

/// Whether the cluster's rules let `vm_id` run on `node_id`, given where the others run.
bool rules_allow(const std::vector<domain::drs::rule>& rules, const std::string& vm_id,
                 const std::string& node_id, const domain::cluster_view& view) {
  for (const auto& r : rules) {
    if (std::find(r.vm_ids.begin(), r.vm_ids.end(), vm_id) == r.vm_ids.end())
      continue;
    const bool listed = r.host_ids.count(node_id) != 0;
    if ((r.kind == rule_kind::must_run_on && !listed) ||
        (r.kind == rule_kind::must_not_run_on && listed))
      return false;
    if (r.kind != rule_kind::keep_apart && r.kind != rule_kind::keep_together)
      continue;
    for (const auto& other : r.vm_ids) {
      const auto it = view.vms().find(other);
      if (other == vm_id || it == view.vms().end() ||
          !domain::cluster_view::holds_capacity(it->second.power))
        continue;
      const bool together = it->second.node_id == node_id;
      if (together == (r.kind == rule_kind::keep_apart))
        return false;
    }
  }
  return true;
}

} // namespace

void controller::on_demand(const std::string& vm_id, double cpu, double memory_mib) {
  demand_[vm_id] = {cpu, memory_mib};
}

void controller::request_maintenance(const std::string& node_id, bool enable) {
  if (enable)
    evacuating_.insert(node_id);
  else
    evacuating_.erase(node_id);
}

void controller::set_rules(const std::string& cluster_id, std::vector<domain::drs::rule> rules) {
  rules_[cluster_id] = std::move(rules);
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
  auto s = settings_of(cluster.drs, cfg_.planner);
  const auto rules = rules_.find(cluster_id);
  static const std::vector<domain::drs::rule> none;
  return domain::drs::plan(facts.hosts, facts.vms, rules == rules_.end() ? none : rules->second, s);
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
  enter_emptied(out);
  for (const auto& [cluster_id, cluster] : view_.clusters()) {
    if (!cluster.drs.enabled())
      continue;
    auto p = plan_for(cluster_id);
    // The hold period: balancing waits until the imbalance has stayed above target that long.
    const bool above = p.imbalance_before > p.target;
    if (!above)
      above_since_.erase(cluster_id);
    else
      above_since_.try_emplace(cluster_id, now);
    const bool held = above && now - above_since_.at(cluster_id) >= hold_of(cluster.drs);
    std::erase_if(p.moves, [&](const auto& m) { return !mandatory(m) && !held; });
    drop_stale(cluster_id, p, out);
    const bool automatic = cluster.drs.automation() == "fully_automated";
    auto& pending = pending_[cluster_id];
    for (const auto& m : p.moves) {
      if (std::any_of(pending.begin(), pending.end(),
                      [&](const auto& kv) { return same_move(kv.second.move, m); }))
        continue;
      const auto id = cluster_id + "-" + std::to_string(next_id_++);
      v1::DrsRecommended ev;
      ev.set_cluster_id(cluster_id);
      ev.set_recommendation_id(id);
      ev.set_vm_id(m.vm_id);
      ev.set_source_node_id(m.from);
      ev.set_target_node_id(m.to);
      ev.set_reason(m.reason);
      ev.set_imbalance_before(m.imbalance_before);
      ev.set_imbalance_after(m.imbalance_after);
      ev.set_target_imbalance(p.target);
      ev.set_score(m.score);
      ev.set_automatic(automatic);
      record(out, cluster_id, ev, principal);
      const auto source_load = p.host_loads.count(m.from) != 0 ? p.host_loads.at(m.from) : 0.0;
      if (!automatic) {
        pending.emplace(id, recommendation{id, cluster_id, m, source_load});
        continue;
      }
      moved(m, source_load);
      v1::DrsRecommendationApplied applied;
      applied.set_cluster_id(cluster_id);
      applied.set_recommendation_id(id);
      record(out, cluster_id, applied, principal);
      out.migrations.push_back(
          migrate_vm{m.vm_id, m.to, command_meta{principal, "", id, id, {}}, {}});
    }
  }
  return out;
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
  v1::DrsRecommendationApplied ev;
  ev.set_cluster_id(cluster_id);
  ev.set_recommendation_id(id);
  record(out, cluster_id, ev, by);
  moved(r->move, r->source_load);
  out.migrations.push_back(
      migrate_vm{r->move.vm_id, r->move.to, command_meta{by, "", id, id, {}}, {}});
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

result<placement_scope> controller::scope(const std::string& cluster_id,
                                          const std::string& vm_id) const {
  if (view_.vms().count(vm_id) == 0)
    return error{errc::not_found, "unknown VM " + vm_id, {{"field", "vm_id"}}};
  const auto cluster = view_.clusters().find(cluster_id);
  if (cluster == view_.clusters().end())
    return error{errc::not_found, "unknown cluster " + cluster_id, {{"field", "cluster_id"}}};
  const auto rules = rules_.find(cluster_id);
  placement_scope out;
  out.how = domain::placement::strategy_named(cluster->second.drs.placement_strategy())
                .value_or(domain::placement::strategy::spread);
  for (const auto& n : cluster->second.node_ids)
    if (rules == rules_.end() || rules_allow(rules->second, vm_id, n, view_))
      out.candidates.push_back(n);
  if (out.candidates.empty())
    return error{errc::resource_exhausted,
                 "the rules of cluster " + cluster_id + " allow vm " + vm_id + " on no node",
                 {{"reason", "NO_SUITABLE_NODE"}}};
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
