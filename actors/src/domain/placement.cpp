#include "qx/actors/domain/placement.hpp"

#include <algorithm>

namespace qx::domain::placement {

std::string reject_reason(const node_view& node, const request& req) {
  if (node.state == "maintenance")
    return "NODE_IN_MAINTENANCE";
  if (node.state != "connected")
    return "NODE_NOT_CONNECTED";
  if (static_cast<double>(node.cpu_allocated + req.vcpus) > node.cpu_capacity)
    return "INSUFFICIENT_CPU";
  if (static_cast<double>(node.memory_allocated_mib + req.memory_mib) > node.memory_capacity_mib)
    return "INSUFFICIENT_MEMORY";
  for (const auto& pool : req.pool_ids)
    if (node.pool_ids.count(pool) == 0)
      return "POOL_NOT_ASSIGNED";
  return {};
}

bool fits(const node_view& node, std::uint32_t vcpus, std::uint64_t memory_mib,
          const std::set<std::string>& pool_ids) {
  return node.state == "connected" && has_room(node, vcpus, memory_mib, pool_ids);
}

bool has_room(const node_view& node, std::uint32_t vcpus, std::uint64_t memory_mib,
              const std::set<std::string>& pool_ids) {
  if (static_cast<double>(node.cpu_allocated + vcpus) > node.cpu_capacity ||
      static_cast<double>(node.memory_allocated_mib + memory_mib) > node.memory_capacity_mib)
    return false;
  return std::all_of(pool_ids.begin(), pool_ids.end(),
                     [&](const std::string& p) { return node.pool_ids.contains(p); });
}

namespace {

double load_after(const node_view& node, const request& req) {
  const auto cpu = node.cpu_capacity > 0
                       ? static_cast<double>(node.cpu_allocated + req.vcpus) / node.cpu_capacity
                       : 1.0;
  const auto mem = node.memory_capacity_mib > 0
                       ? static_cast<double>(node.memory_allocated_mib + req.memory_mib) /
                             node.memory_capacity_mib
                       : 1.0;
  return std::max(cpu, mem);
}

/// The rule a VM of `req` on `node` would break, given what `nodes` hold: "" when none.
/// Together: once a peer holds capacity on one of the nodes, only such a node will do.
std::string broken_rule(const node_view& node, const request& req,
                        const std::vector<node_view>& nodes) {
  for (const auto& [peer, rule] : req.rules.apart)
    if (node.vm_ids.contains(peer))
      return rule;
  for (const auto& together : req.rules.together) {
    const auto& peer = together.first;
    const auto elsewhere = std::any_of(nodes.begin(), nodes.end(), [&](const node_view& n) {
      return n.id != node.id && n.vm_ids.contains(peer);
    });
    if (elsewhere && !node.vm_ids.contains(peer))
      return together.second;
  }
  return {};
}

std::int32_t rank_of(const request& req, const std::string& node_id) {
  const auto it = req.rank.find(node_id);
  return it == req.rank.end() ? 0 : it->second;
}

error none_fits(const request& req, const std::vector<node_view>& nodes,
                const std::vector<rejection>& rejected) {
  const auto by_rule = std::find_if(rejected.begin(), rejected.end(),
                                    [](const rejection& r) { return !r.rule.empty(); });
  const bool only_rules =
      !rejected.empty() && std::all_of(rejected.begin(), rejected.end(),
                                       [](const rejection& r) { return !r.rule.empty(); });
  if (only_rules)
    return error{errc::failed_precondition,
                 "vm " + req.vm_id + " would break rule " + by_rule->rule + " on every node (" +
                     std::to_string(nodes.size()) + " considered)",
                 {{"reason", "RULE_VIOLATION"}, {"rule", by_rule->rule}, {"field", "node_id"}}};
  std::map<std::string, std::string> details{{"reason", "NO_SUITABLE_NODE"}};
  for (const auto& r : rejected)
    details["node." + r.node_id] = r.reason;
  return error{errc::resource_exhausted,
               "no node can run vm " + req.vm_id + " (" + std::to_string(nodes.size()) +
                   " considered)",
               std::move(details)};
}

} // namespace

std::optional<strategy> strategy_named(std::string_view name) {
  if (name == "spread")
    return strategy::spread;
  if (name == "pack")
    return strategy::pack;
  return std::nullopt;
}

std::string_view name_of(strategy s) {
  return s == strategy::pack ? "pack" : "spread";
}

result<choice> choose(const request& req, const std::vector<node_view>& nodes, strategy how) {
  choice best;
  bool found = false;
  std::int32_t best_rank = 0;
  const auto better = [how](double load, double than) {
    return how == strategy::pack ? load > than : load < than;
  };
  for (const auto& node : nodes) {
    if (auto why = reject_reason(node, req); !why.empty()) {
      best.rejected.push_back({node.id, std::move(why), {}});
      continue;
    }
    if (auto rule = broken_rule(node, req, nodes); !rule.empty()) {
      best.rejected.push_back({node.id, "RULE_VIOLATION", std::move(rule)});
      continue;
    }
    const auto load = load_after(node, req);
    const auto rank = rank_of(req, node.id);
    const bool wins = !found || rank > best_rank ||
                      (rank == best_rank && (better(load, best.load_after) ||
                                             (load == best.load_after && node.id < best.node_id)));
    if (wins) {
      best.node_id = node.id;
      best.load_after = load;
      best_rank = rank;
      found = true;
    }
  }
  if (!found)
    return none_fits(req, nodes, best.rejected);
  return best;
}

std::uint64_t in_flight::begin_read() {
  const auto read = next_read_++;
  reading_.insert(read);
  return read;
}

void in_flight::end_read(std::uint64_t read) {
  reading_.erase(read);
  forget_settled();
}

void in_flight::add_to(std::vector<node_view>& views,
                       const std::map<std::string, std::uint64_t>& versions) const {
  std::map<std::string, node_view*> by_id;
  for (auto& v : views)
    by_id[v.id] = &v;
  for (const auto& [t, h] : holds_) {
    const auto view = by_id.find(h.node_id);
    if (view == by_id.end())
      continue;
    const auto read = versions.find(h.node_id);
    const bool shown = h.version && read != versions.end() && read->second >= *h.version;
    if (shown)
      continue;
    view->second->cpu_allocated += h.vcpus;
    view->second->memory_allocated_mib += h.memory_mib;
    view->second->vm_ids.insert(h.vm_id);
  }
}

in_flight::ticket in_flight::hold(const std::string& node_id, const std::string& vm_id,
                                  std::uint32_t vcpus, std::uint64_t memory_mib) {
  const auto t = next_ticket_++;
  holds_[t] = held{node_id, vm_id, vcpus, memory_mib, std::nullopt, 0};
  return t;
}

void in_flight::settled(ticket t, std::optional<std::uint64_t> node_version) {
  const auto it = holds_.find(t);
  if (it == holds_.end())
    return;
  if (!node_version) {
    holds_.erase(it); // refused: nothing was reserved, no state will show it
    return;
  }
  it->second.version = node_version;
  it->second.settled_at_read = next_read_;
  forget_settled();
}

void in_flight::forget_settled() {
  // Reads that begin after a hold settled read the node after its reservation: they show it.
  const auto oldest = reading_.empty() ? next_read_ : *reading_.begin();
  std::erase_if(holds_, [oldest](const auto& entry) {
    return entry.second.version && oldest >= entry.second.settled_at_read;
  });
}

} // namespace qx::domain::placement
