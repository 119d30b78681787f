#pragma once

// Operations: what a 202 answers for actions that take time (VM start, migrate, snapshot), as
// vSphere tasks and Proxmox UPIDs. An operation watches its target in the inventory and ends
// when a goal says so. They live in memory (the log keeps what happened; an operation is the
// view of one request in progress) and the newest 10,000 are kept.

#include "json_codec.hpp"

#include <qx/events/types.hpp>
#include <qx/projections/inventory.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace qx::api {

struct operation {
  std::string id;
  std::string kind;              ///< "vm.start", "vm.migrate", "vm.snapshot"
  std::string target;            ///< The resource's stream ("vm-web1").
  std::string state = "running"; ///< running, succeeded, failed
  int progress = 0;
  json result = json::object();
  json error; ///< {code, message} when failed
  std::int64_t created_ns = 0;
  std::int64_t updated_ns = 0;
};

[[nodiscard]] json to_json(const operation& op);

/// What a goal says after looking at the inventory.
struct verdict {
  enum class kind : std::uint8_t { pending, succeeded, failed } k = kind::pending;
  int progress = 0;
  std::string error_code;
  std::string error_message;
};
using goal = std::function<verdict(const projections::inventory&)>;

class operations {
 public:
  explicit operations(const projections::inventory& inv, std::size_t keep = 10'000);

  /// Starts an operation on `target` and checks its goal at once. The goal is checked again
  /// on every event of `target` and of the streams in `also_watch` (an evacuation follows
  /// its node and the VMs leaving it).
  operation begin(std::string kind, std::string target, goal g, json result,
                  std::vector<std::string> also_watch = {});
  /// Re-checks the goals of the operations on e.stream (the projection host calls this).
  void on_event(const events::recorded_event& e);
  /// Called on every change of an operation (the watch stream).
  void set_listener(std::function<void(const operation&)> l);

  /// How long an operation may run; past it, it fails with TIMED_OUT (every operation
  /// ends). Default 10 minutes; checked whenever operations are read or an event arrives.
  void set_timeout(std::chrono::nanoseconds t);

  [[nodiscard]] std::optional<operation> get(const std::string& id);
  /// Operations with id > after_id, by id (ids sort by creation).
  [[nodiscard]] std::vector<operation> list(const std::string& after_id, std::size_t limit);
  [[nodiscard]] std::size_t running();

 private:
  bool check(operation& op, const goal& g);
  void trim();
  /// Fails the running operations past their deadline; returns them (for the listener).
  std::vector<operation> expire_locked();
  void announce(const std::vector<operation>& changed);

  const projections::inventory& inventory_;
  std::size_t keep_;
  mutable std::mutex mutex_;
  std::uint64_t next_ = 1;
  std::map<std::string, operation> ops_;
  struct watched {
    goal g;
    std::set<std::string, std::less<>> streams; ///< Besides the target.
  };
  std::map<std::string, watched> goals_; ///< Of the running ones.
  std::chrono::nanoseconds timeout_{std::chrono::minutes{10}};
  std::map<std::string, std::chrono::steady_clock::time_point> deadlines_; ///< Of the running.
  std::function<void(const operation&)> listener_;
};

} // namespace qx::api
