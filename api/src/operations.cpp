#include "operations.hpp"

#include "event_json.hpp"

#include <chrono>
#include <cstdio>

namespace qx::api {

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

} // namespace

json to_json(const operation& op) {
  json j{{"id", op.id},
         {"kind", op.kind},
         {"target", op.target},
         {"state", op.state},
         {"progress", op.progress},
         {"result", op.result},
         {"createdAt", rfc3339(op.created_ns)},
         {"updatedAt", rfc3339(op.updated_ns)}};
  j["error"] = op.error.is_null() ? json(nullptr) : op.error;
  return j;
}

operations::operations(const projections::inventory& inv, std::size_t keep)
    : inventory_(inv), keep_(keep) {}

void operations::set_listener(std::function<void(const operation&)> l) {
  std::lock_guard lock{mutex_};
  listener_ = std::move(l);
}

bool operations::check(operation& op, const goal& g) {
  const auto v = g(inventory_);
  if (v.k == verdict::kind::pending && v.progress <= op.progress)
    return false;
  op.updated_ns = now_ns();
  if (v.k == verdict::kind::pending) {
    op.progress = v.progress;
    return true;
  }
  op.progress = 100;
  op.state = v.k == verdict::kind::succeeded ? "succeeded" : "failed";
  if (v.k == verdict::kind::failed)
    op.error = json{{"code", v.error_code}, {"message", v.error_message}};
  return true;
}

operation operations::begin(std::string kind, std::string target, goal g, json result,
                            std::vector<std::string> also_watch) {
  operation op;
  std::function<void(const operation&)> listener;
  {
    std::lock_guard lock{mutex_};
    char id[32];
    std::snprintf(id, sizeof id, "op-%012llu", static_cast<unsigned long long>(next_++));
    op.id = id;
    op.kind = std::move(kind);
    op.target = std::move(target);
    op.result = std::move(result);
    op.created_ns = op.updated_ns = now_ns();
    check(op, g);
    ops_[op.id] = op;
    if (op.state == "running") {
      goals_[op.id] = watched{std::move(g), {also_watch.begin(), also_watch.end()}};
      deadlines_[op.id] = std::chrono::steady_clock::now() + timeout_;
    }
    trim();
    listener = listener_;
  }
  if (listener)
    listener(op);
  return op;
}

void operations::on_event(const events::recorded_event& e) {
  std::vector<operation> changed;
  std::function<void(const operation&)> listener;
  {
    std::lock_guard lock{mutex_};
    for (auto it = goals_.begin(); it != goals_.end();) {
      auto& op = ops_[it->first];
      const auto& w = it->second;
      if ((op.target != e.stream && !w.streams.contains(e.stream)) || !check(op, w.g)) {
        ++it;
        continue;
      }
      changed.push_back(op);
      if (op.state == "running") {
        ++it;
        continue;
      }
      deadlines_.erase(it->first);
      it = goals_.erase(it);
    }
    auto expired = expire_locked();
    changed.insert(changed.end(), expired.begin(), expired.end());
    listener = listener_;
  }
  if (listener)
    for (const auto& op : changed)
      listener(op);
}

void operations::set_timeout(std::chrono::nanoseconds t) {
  std::lock_guard lock{mutex_};
  timeout_ = t;
}

std::vector<operation> operations::expire_locked() {
  std::vector<operation> out;
  const auto now = std::chrono::steady_clock::now();
  for (auto it = deadlines_.begin(); it != deadlines_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    auto& op = ops_[it->first];
    op.state = "failed";
    op.updated_ns = now_ns();
    op.error = json{
        {"code", "TIMED_OUT"},
        {"message",
         op.kind + " on " + op.target + " did not finish within " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout_).count()) +
             " s"}};
    goals_.erase(it->first);
    out.push_back(op);
    it = deadlines_.erase(it);
  }
  return out;
}

void operations::announce(const std::vector<operation>& changed) {
  std::function<void(const operation&)> listener;
  {
    std::lock_guard lock{mutex_};
    listener = listener_;
  }
  if (listener)
    for (const auto& op : changed)
      listener(op);
}

void operations::trim() {
  for (auto it = ops_.begin(); ops_.size() > keep_ && it != ops_.end();) {
    if (it->second.state == "running") {
      ++it;
      continue;
    }
    it = ops_.erase(it);
  }
}

std::optional<operation> operations::get(const std::string& id) {
  std::vector<operation> expired;
  std::optional<operation> out;
  {
    std::lock_guard lock{mutex_};
    expired = expire_locked();
    if (const auto it = ops_.find(id); it != ops_.end())
      out = it->second;
  }
  announce(expired);
  return out;
}

std::vector<operation> operations::list(const std::string& after_id, std::size_t limit) {
  std::vector<operation> expired;
  std::vector<operation> out;
  {
    std::lock_guard lock{mutex_};
    expired = expire_locked();
    for (auto it = ops_.upper_bound(after_id); it != ops_.end() && out.size() < limit; ++it)
      out.push_back(it->second);
  }
  announce(expired);
  return out;
}

std::size_t operations::running() {
  std::vector<operation> expired;
  std::size_t n = 0;
  {
    std::lock_guard lock{mutex_};
    expired = expire_locked();
    n = goals_.size();
  }
  announce(expired);
  return n;
}

} // namespace qx::api
