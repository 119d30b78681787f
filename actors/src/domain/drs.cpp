#include "qx/actors/domain/drs.hpp"

#include "qx/actors/domain/node.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qx::domain::drs {

namespace {

constexpr double no_target = std::numeric_limits<double>::infinity();

double ratio(double demand, double capacity) {
  if (capacity > 0)
    return demand / capacity;
  return demand > 0 ? 1e9 : 0; // a host without capacity is full as soon as it holds anything
}

bool takes_vms(const host& h) {
  return h.node.state == node::states::connected && !h.evacuate;
}

bool must_leave(const host& h) {
  return h.evacuate || h.node.state == node::states::maintenance;
}

/// The cluster as plan() changes it, move by move, with the sums the imbalance needs.
class model {
 public:
  model(const std::vector<host>& hosts, const std::vector<vm>& vms, const settings& s)
      : hosts_(hosts), vms_(vms), s_(s) {
    std::sort(hosts_.begin(), hosts_.end(),
              [](const host& a, const host& b) { return a.node.id < b.node.id; });
    std::sort(vms_.begin(), vms_.end(), [](const vm& a, const vm& b) { return a.id < b.id; });
    cpu_.assign(hosts_.size(), 0);
    memory_.assign(hosts_.size(), 0);
    in_flight_.assign(hosts_.size(), 0);
    for (std::size_t i = 0; i < hosts_.size(); ++i)
      index_[hosts_[i].node.id] = i;
    for (const auto& v : vms_) {
      const auto h = host_of(v);
      if (h == npos)
        continue;
      cpu_[h] += v.cpu_demand;
      memory_[h] += v.memory_demand_mib;
      if (v.migrating) {
        ++in_flight_[h];
        ++cluster_in_flight_;
      }
    }
    for (std::size_t i = 0; i < hosts_.size(); ++i) {
      if (!takes_vms(hosts_[i]))
        continue;
      const auto l = load(i);
      s1_ += l;
      s2_ += l * l;
      ++n_;
    }
  }

  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

  [[nodiscard]] std::size_t host_of(const vm& v) const {
    const auto it = index_.find(v.host_id);
    return it == index_.end() ? npos : it->second;
  }
  [[nodiscard]] const std::vector<host>& hosts() const { return hosts_; }
  [[nodiscard]] const std::vector<vm>& vms() const { return vms_; }
  [[nodiscard]] std::size_t eligible() const { return n_; }

  [[nodiscard]] double load(std::size_t h) const { return load_with(h, 0, 0); }
  /// Host `h`'s load with `cpu` and `memory` demand added (negative: taken away).
  [[nodiscard]] double load_with(std::size_t h, double cpu, double memory) const {
    return std::max(ratio(cpu_[h] + cpu, hosts_[h].cpu_threads),
                    ratio(memory_[h] + memory, hosts_[h].memory_mib));
  }

  [[nodiscard]] double imbalance() const { return spread(s1_, s2_); }
  [[nodiscard]] double mean_load() const { return n_ == 0 ? 0 : s1_ / static_cast<double>(n_); }

  /// The imbalance if `v` moved to host `to`.
  [[nodiscard]] double imbalance_after(const vm& v, std::size_t to) const {
    return imbalance_after(v, host_of(v), to);
  }
  /// The same, `from` being host_of(v) (the balancing loop looks it up once per VM: a lookup
  /// by name per candidate host cost a third of a pass at 8,000 VMs).
  [[nodiscard]] double imbalance_after(const vm& v, std::size_t from, std::size_t to) const {
    double s1 = s1_;
    double s2 = s2_;
    const auto shift = [&](std::size_t h, double cpu, double memory) {
      if (h == npos || !takes_vms(hosts_[h]))
        return;
      const double before = load(h);
      const double after = load_with(h, cpu, memory);
      s1 += after - before;
      s2 += after * after - before * before;
    };
    shift(from, -v.cpu_demand, -v.memory_demand_mib);
    shift(to, v.cpu_demand, v.memory_demand_mib);
    return spread(s1, s2);
  }

  /// Why `v` cannot go to host `to` now, or "" when it can (rules aside).
  [[nodiscard]] std::string refusal(const vm& v, std::size_t to) const {
    const auto from = host_of(v);
    if (to == from)
      return "SAME_HOST";
    if (!takes_vms(hosts_[to]))
      return "HOST_NOT_AVAILABLE";
    if (auto r = placement::reject_reason(
            hosts_[to].node, placement::request{v.id, v.vcpus, v.memory_mib, v.pool_ids});
        !r.empty())
      return r;
    if (cluster_in_flight_ >= s_.max_concurrent_per_cluster)
      return "CLUSTER_CONCURRENCY";
    if (in_flight_[to] >= s_.max_concurrent_per_host ||
        (from != npos && in_flight_[from] >= s_.max_concurrent_per_host))
      return "HOST_CONCURRENCY";
    return {};
  }

  /// refusal(v, to).empty() without building strings, split for the balancing loop, which asks
  /// it for every VM and host: what depends on the target alone (once per move), on the source
  /// alone (once per VM), and on both. The cluster's limit is checked before each move.
  [[nodiscard]] bool open_target(std::size_t to) const {
    return takes_vms(hosts_[to]) && in_flight_[to] < s_.max_concurrent_per_host;
  }
  [[nodiscard]] bool may_leave(std::size_t from) const {
    return from == npos || in_flight_[from] < s_.max_concurrent_per_host;
  }
  /// For a target open_target() admitted: its state is checked there.
  [[nodiscard]] bool room_for(const vm& v, std::size_t to) const {
    return placement::has_room(hosts_[to].node, v.vcpus, v.memory_mib, v.pool_ids);
  }
  [[nodiscard]] std::size_t index_of(const std::string& node_id) const {
    const auto it = index_.find(node_id);
    return it == index_.end() ? npos : it->second;
  }

  [[nodiscard]] bool cluster_busy() const {
    return cluster_in_flight_ >= s_.max_concurrent_per_cluster;
  }

  void apply(std::size_t vm_index, std::size_t to) {
    auto& v = vms_[vm_index];
    const auto from = host_of(v);
    const auto shift = [&](std::size_t h, double sign) {
      if (h == npos)
        return;
      const bool counted = takes_vms(hosts_[h]);
      const double before = load(h);
      cpu_[h] += sign * v.cpu_demand;
      memory_[h] += sign * v.memory_demand_mib;
      auto& n = hosts_[h].node;
      if (sign > 0) {
        n.cpu_allocated += v.vcpus;
        n.memory_allocated_mib += v.memory_mib;
      } else {
        n.cpu_allocated -= std::min<std::uint64_t>(n.cpu_allocated, v.vcpus);
        n.memory_allocated_mib -= std::min(n.memory_allocated_mib, v.memory_mib);
      }
      ++in_flight_[h];
      if (counted) {
        const double after = load(h);
        s1_ += after - before;
        s2_ += after * after - before * before;
      }
    };
    shift(from, -1);
    shift(to, 1);
    ++cluster_in_flight_;
    v.host_id = hosts_[to].node.id;
    v.migrating = true;
  }

 private:
  [[nodiscard]] double spread(double s1, double s2) const {
    if (n_ == 0)
      return 0;
    const double mean = s1 / static_cast<double>(n_);
    return std::sqrt(std::max(0.0, s2 / static_cast<double>(n_) - mean * mean));
  }

  std::vector<host> hosts_;
  std::vector<vm> vms_;
  settings s_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::vector<double> cpu_;
  std::vector<double> memory_;
  std::vector<std::size_t> in_flight_;
  std::size_t cluster_in_flight_ = 0;
  double s1_ = 0;
  double s2_ = 0;
  std::size_t n_ = 0;
};

/// The rules each VM is named in, and where each VM is: rule checks cost what the VM's own
/// rules hold, not the whole cluster (8,000 VMs, hundreds of rules).
class rule_index {
 public:
  rule_index(const model& m, const std::vector<rule>& rules) : m_(m), rules_(rules) {
    for (std::size_t i = 0; i < m.vms().size(); ++i)
      vm_at_[m.vms()[i].id] = i;
    of_.resize(m.vms().size());
    for (std::size_t r = 0; r < rules.size(); ++r)
      for (const auto& id : rules[r].vm_ids)
        if (const auto it = vm_at_.find(id); it != vm_at_.end())
          of_[it->second].push_back(r);
  }

  /// The rule VM `i` would break on host `to`, given where the others are now; "" if none.
  [[nodiscard]] std::string broken_by(std::size_t i, const std::string& to) const {
    const auto& v = m_.vms()[i];
    const auto holds = [&](const std::string& o, const std::string& node) {
      const auto* other = find(o);
      return other != nullptr && other->host_id == node;
    };
    const auto placed = [&](const std::string& o) {
      return find(o) != nullptr;
    };
    for (const auto r : of_[i])
      if (breaks(rules_[r], v.id, to, holds, placed))
        return rules_[r].name;
    return {};
  }

  /// Why VM `i` must leave its host now: "MAINTENANCE", "RULE:<name>", or "". Of VMs kept
  /// apart on one host, the first by id stays and the others leave; a keep-together rule
  /// broken is not mended by moving one VM away.
  [[nodiscard]] std::string must_leave_reason(std::size_t i) const {
    const auto& v = m_.vms()[i];
    const auto h = m_.host_of(v);
    if (h == model::npos || v.migrating)
      return {};
    if (must_leave(m_.hosts()[h]))
      return "MAINTENANCE";
    const auto earlier_here = [&](const std::string& o, const std::string& node) {
      const auto* other = find(o);
      return other != nullptr && other->id < v.id && other->host_id == node;
    };
    const auto placed = [&](const std::string& o) {
      return find(o) != nullptr;
    };
    for (const auto r : of_[i])
      if (rules_[r].kind != rule_kind::keep_together &&
          breaks(rules_[r], v.id, v.host_id, earlier_here, placed))
        return "RULE:" + rules_[r].name;
    return {};
  }

  /// Whether any rule names VM `i` (most VMs: none, and then no rule check can refuse or
  /// prefer a host for it).
  [[nodiscard]] bool named(std::size_t i) const { return !of_[i].empty(); }

  /// VM `i`'s should-run-on rank on host `to` (0 without such a rule).
  [[nodiscard]] std::int32_t rank(std::size_t i, const std::string& to) const {
    std::int32_t best = 0;
    for (const auto r : of_[i])
      if (rules_[r].kind == rule_kind::should_run_on)
        best = std::max(best, rank_in(rules_[r], to));
    return best;
  }

  /// The should-run-on rule fail-back would move VM `i` for, when a host ranks above its own;
  /// "" when none does.
  [[nodiscard]] std::string fail_back_rule(std::size_t i) const {
    const auto& v = m_.vms()[i];
    const auto here = rank(i, v.host_id);
    for (const auto r : of_[i]) {
      const auto& rl = rules_[r];
      if (rl.kind == rule_kind::should_run_on &&
          std::any_of(rl.host_ids.begin(), rl.host_ids.end(),
                      [&](const std::string& h) { return rank_in(rl, h) > here; }))
        return rl.name;
    }
    return {};
  }

  /// The should-rule preference for moving VM `i` from `from` to `to`: the penalty for each
  /// rule that ranks `to` above `from`, taken away for each that ranks it below.
  [[nodiscard]] double preference(std::size_t i, const std::string& from, const std::string& to,
                                  double penalty) const {
    double p = 0;
    for (const auto r : of_[i]) {
      const auto& rl = rules_[r];
      if (rl.kind != rule_kind::should_run_on)
        continue;
      const auto gain = rank_in(rl, to) - rank_in(rl, from);
      p += gain > 0 ? penalty : gain < 0 ? -penalty : 0;
    }
    return p;
  }

 private:
  [[nodiscard]] const vm* find(const std::string& id) const {
    const auto it = vm_at_.find(id);
    return it == vm_at_.end() ? nullptr : &m_.vms()[it->second];
  }

  const model& m_;
  const std::vector<rule>& rules_;
  std::map<std::string, std::size_t, std::less<>> vm_at_;
  std::vector<std::vector<std::size_t>> of_;
};

/// A move a VM is to make whatever the balance: why, and to which hosts.
struct wanted {
  std::string reason; ///< "" when the VM stays
  /// Only hosts ranked at least this (fail-back: above the VM's own).
  std::int32_t min_rank = std::numeric_limits<std::int32_t>::min();
  bool required = true; ///< no host found: stuck (a fail-back that finds none just waits)
};

/// The moves VMs must (or, for fail-back, want to) make: each VM for which `want_of(i)`
/// names a reason, in VM id order, to the admissible host (placement's checks, the limits, the
/// rules) of the highest should-run rank, then the least imbalance left; applied to `m` as they
/// are chosen so that each sees the ones before. A required move no host takes is put in
/// `stuck`, with HOST_CONCURRENCY when a host refused it only for being busy. Stops at the pass
/// or cluster limit and answers PASS_LIMIT or CONCURRENCY_LIMIT; "" once all are seen.
template<class WantOf>
[[nodiscard]] std::string plan_wanted(model& m, const rule_index& ri, const settings& s,
                                      WantOf&& want_of, std::vector<move>& moves,
                                      std::map<std::string, std::string>& stuck) {
  for (std::size_t i = 0; i < m.vms().size(); ++i) {
    const auto v = m.vms()[i];
    const wanted want = want_of(i);
    if (want.reason.empty())
      continue;
    if (moves.size() >= s.max_moves_per_pass)
      return "PASS_LIMIT";
    if (m.cluster_busy())
      return "CONCURRENCY_LIMIT";
    std::size_t best = model::npos;
    double best_after = 0;
    std::int32_t best_rank = 0;
    std::string why = "NO_SUITABLE_HOST";
    for (std::size_t h = 0; h < m.hosts().size(); ++h) {
      const auto& to = m.hosts()[h].node.id;
      const auto rank = ri.rank(i, to);
      if (rank < want.min_rank)
        continue;
      if (auto r = m.refusal(v, h); !r.empty()) {
        if (r == "HOST_CONCURRENCY")
          why = r;
        continue;
      }
      if (!ri.broken_by(i, to).empty())
        continue;
      const double after = m.imbalance_after(v, h);
      if (best == model::npos || rank > best_rank || (rank == best_rank && after < best_after)) {
        best = h;
        best_after = after;
        best_rank = rank;
      }
    }
    if (best == model::npos) {
      if (want.required)
        stuck[v.id] = why;
      continue;
    }
    const double before = m.imbalance();
    moves.push_back(
        move{v.id, v.host_id, m.hosts()[best].node.id, want.reason, before, best_after, 0});
    m.apply(i, best);
  }
  return {};
}

/// What fail-back wants of VM `i`: to a host its should-run-on rules rank above its own.
wanted fail_back_of(const model& m, const rule_index& ri, std::size_t i) {
  const auto& v = m.vms()[i];
  if (v.migrating || m.host_of(v) == model::npos)
    return {};
  auto rule = ri.fail_back_rule(i);
  if (rule.empty())
    return {};
  return wanted{"FAIL_BACK:" + rule, ri.rank(i, v.host_id) + 1, false};
}

double cost_of(const vm& v, const settings& s) {
  return s.cost_per_gib * static_cast<double>(v.memory_mib) / 1024.0;
}

} // namespace

double target_imbalance(std::uint32_t threshold) {
  switch (std::clamp<std::uint32_t>(threshold, 1, 5)) {
  case 1:
    return no_target;
  case 2:
    return 0.20;
  case 3:
    return 0.10;
  case 4:
    return 0.05;
  default:
    return 0.02;
  }
}

double load_of(const host& h, const std::vector<vm>& vms) {
  double cpu = 0;
  double memory = 0;
  for (const auto& v : vms)
    if (v.host_id == h.node.id) {
      cpu += v.cpu_demand;
      memory += v.memory_demand_mib;
    }
  return std::max(ratio(cpu, h.cpu_threads), ratio(memory, h.memory_mib));
}

double imbalance(const std::vector<host>& hosts, const std::vector<vm>& vms) {
  return model{hosts, vms, settings{}}.imbalance();
}

pass plan(const std::vector<host>& hosts, const std::vector<vm>& vms,
          const std::vector<rule>& rules, const settings& s) {
  model m{hosts, vms, s};
  const rule_index ri{m, rules};
  pass out;
  out.target = target_imbalance(s.threshold);
  for (std::size_t h = 0; h < m.hosts().size(); ++h)
    out.host_loads[m.hosts()[h].node.id] = m.load(h);
  out.imbalance_before = m.imbalance();
  const auto finish = [&](std::string why) {
    out.imbalance_after = m.imbalance();
    out.stopped = std::move(why);
    return out;
  };
  if (m.eligible() == 0 && m.vms().empty())
    return finish("NO_HOSTS");

  // Mandatory moves: each to the admissible host that leaves the least imbalance.
  if (auto stop = plan_wanted(
          m, ri, s, [&](std::size_t i) { return wanted{ri.must_leave_reason(i)}; }, out.moves,
          out.stuck);
      !stop.empty())
    return finish(std::move(stop));
  // Fail-back: VMs away from their preferred hosts return, within the same limits.
  if (s.fail_back)
    if (auto stop = plan_wanted(
            m, ri, s, [&](std::size_t i) { return fail_back_of(m, ri, i); }, out.moves, out.stuck);
        !stop.empty())
      return finish(std::move(stop));

  if (out.target == no_target)
    return finish("DISABLED");
  for (;;) {
    const double now = m.imbalance();
    if (now <= out.target)
      return finish("TARGET_MET");
    if (out.moves.size() >= s.max_moves_per_pass)
      return finish("PASS_LIMIT");
    if (m.cluster_busy())
      return finish("CONCURRENCY_LIMIT");
    std::size_t best_vm = model::npos;
    std::size_t best_host = model::npos;
    double best_score = -no_target;
    // Only from hosts above the mean load to hosts below it: a move between two hosts on the
    // same side cannot lower the spread much, and skipping them keeps a pass over 64 hosts and
    // 8,000 VMs within its budget.
    const double mean = m.mean_load();
    // Each host's load, read once per move, and the hosts below the mean that may take a VM
    // now: the loop below asks them per VM and host (500 VMs on each of 16 hot hosts against 48
    // cold ones: 384 k candidates a move).
    std::vector<double> loads(m.hosts().size());
    std::vector<std::size_t> targets;
    for (std::size_t h = 0; h < loads.size(); ++h) {
      loads[h] = m.load(h);
      if (loads[h] < mean && m.open_target(h))
        targets.push_back(h);
    }
    for (std::size_t i = 0; i < m.vms().size(); ++i) {
      const auto& v = m.vms()[i];
      const auto from = m.host_of(v);
      if (v.migrating || v.settling || from == model::npos || loads[from] <= mean ||
          !m.may_leave(from))
        continue;
      const bool named = ri.named(i);
      const auto own_rank = named ? ri.rank(i, v.host_id) : 0;
      const auto left = v.left_host.empty() ? model::npos : m.index_of(v.left_host);
      const double cost = cost_of(v, s);
      // The source's load after the move, the same for every target.
      const double from_after = m.load_with(from, -v.cpu_demand, -v.memory_demand_mib);
      for (const auto h : targets) {
        if (!m.room_for(v, h))
          continue;
        const auto& to = m.hosts()[h].node.id;
        // Never to a host its should-run-on rules rank lower: fail-back would bring it back.
        if (named && (!ri.broken_by(i, to).empty() || ri.rank(i, to) < own_rank))
          continue;
        // Back to the host it left only once that host's load has really changed.
        if (h == left && std::abs(loads[h] - v.left_host_load) <= s.return_margin)
          continue;
        // The gain is how much the move narrows the load gap between its two hosts,
        // |L_from - L_to| - |L'_from - L'_to| in host-load units (0.05: 5 % of a host), not the
        // change of the cluster's spread, which one VM moves by about 1/n: scaling that by n let
        // moves of 0.0001 pass the minimum gain at 800 hosts. It depends on those two hosts
        // only, so a gain means the same in a cluster of 8 hosts or of 800.
        const double narrowing =
            std::abs(loads[from] - loads[h]) -
            std::abs(from_after - m.load_with(h, v.cpu_demand, v.memory_demand_mib));
        double score = narrowing - cost;
        if (named)
          score += ri.preference(i, v.host_id, to, s.should_penalty);
        if (score > best_score) { // strict: ties keep the smaller VM id, then host id
          best_vm = i;
          best_host = h;
          best_score = score;
        }
      }
    }
    if (best_vm == model::npos || best_score < s.min_gain)
      return finish("NO_GAIN");
    const auto& v = m.vms()[best_vm];
    // The spread after the chosen move only (it does not rank the candidates).
    const double best_after = m.imbalance_after(v, m.host_of(v), best_host);
    out.moves.push_back(move{v.id, v.host_id, m.hosts()[best_host].node.id, "BALANCE", now,
                             best_after, best_score});
    m.apply(best_vm, best_host);
  }
}

evacuation plan_evacuation(const std::vector<host>& hosts, const std::vector<vm>& vms,
                           const std::vector<rule>& rules, const std::string& node_id) {
  // No limit refuses a VM the operator sent away: they only throttle (see the header).
  settings unlimited;
  unlimited.max_moves_per_pass = std::numeric_limits<std::size_t>::max();
  unlimited.max_concurrent_per_host = std::numeric_limits<std::size_t>::max();
  unlimited.max_concurrent_per_cluster = std::numeric_limits<std::size_t>::max();
  auto marked = hosts;
  for (auto& h : marked)
    if (h.node.id == node_id)
      h.evacuate = true;
  model m{marked, vms, unlimited};
  const rule_index ri{m, rules};
  evacuation out;
  out.imbalance_before = m.imbalance();
  // Only the host's own VMs: must_leave_reason() names them MAINTENANCE (the host is marked),
  // and skips the ones already migrating. A VM's host is read before it is moved. Without
  // limits the loop never stops early: its answer is always "".
  static_cast<void>(plan_wanted(
      m, ri, unlimited,
      [&](std::size_t i) {
        return wanted{m.vms()[i].host_id == node_id ? ri.must_leave_reason(i) : std::string{}};
      },
      out.moves, out.stuck));
  out.imbalance_after = m.imbalance();
  return out;
}

bool names(const rule& r, const std::string& vm_id) {
  return std::find(r.vm_ids.begin(), r.vm_ids.end(), vm_id) != r.vm_ids.end();
}

std::int32_t rank_in(const rule& r, const std::string& node_id) {
  if (r.kind != rule_kind::should_run_on || !r.host_ids.contains(node_id))
    return 0;
  const auto p = r.priorities.find(node_id);
  return 1 + (p == r.priorities.end() ? 0 : std::max(0, p->second));
}

std::int32_t rank(const std::vector<rule>& rules, const std::string& vm_id,
                  const std::string& node_id) {
  std::int32_t best = 0;
  for (const auto& r : rules)
    if (names(r, vm_id))
      best = std::max(best, rank_in(r, node_id));
  return best;
}

placement::peers peers_of(const std::vector<rule>& rules, const std::string& vm_id) {
  placement::peers out;
  for (const auto& r : rules) {
    if ((r.kind != rule_kind::keep_apart && r.kind != rule_kind::keep_together) || !names(r, vm_id))
      continue;
    auto& into = r.kind == rule_kind::keep_apart ? out.apart : out.together;
    for (const auto& other : r.vm_ids)
      if (other != vm_id)
        into.emplace(other, r.name);
  }
  return out;
}

} // namespace qx::domain::drs
