#pragma once

// The inventory read model: every resource's current state and version. It is rebuilt from
// the log with the aggregates' own evolve(), so the read side can never interpret an event
// differently from the write side.

#include <qx/actors/aggregates.hpp>
#include <qx/events/types.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace qx::projections {

/// A resource as the inventory holds it.
template<class A>
struct resource {
  typename A::state state;
  std::uint64_t version = 0;  ///< The aggregate's stream version.
  std::uint64_t position = 0; ///< Log position of its latest event.
};

/// True while the resource exists for readers: created and not yet deleted.
[[nodiscard]] bool is_live(const actors::vm_aggregate::state& s);
[[nodiscard]] bool is_live(const actors::node_aggregate::state& s);
[[nodiscard]] bool is_live(const actors::alert_aggregate::state& s);
template<class State>
[[nodiscard]] bool is_live(const State& s) {
  return s.created() && !s.deleted();
}

/// The kind of the aggregate a stream belongs to ("vm", "node", ...); nullopt
/// for a stream no aggregate owns.
[[nodiscard]] std::optional<std::string_view> aggregate_kind_of(std::string_view stream);

class inventory {
 public:
  /// Applies `e` when its stream belongs to an aggregate; other streams are ignored. Events
  /// must arrive in position order. An event its aggregate cannot decode is counted, not
  /// applied (a newer writer's event type).
  void apply(const events::recorded_event& e);

  /// The live resource `id` of kind A; with include_gone, also a deleted one (its last state).
  template<class A>
  [[nodiscard]] std::optional<resource<A>> get(std::string_view id,
                                               bool include_gone = false) const {
    std::shared_lock lock{mutex_};
    const auto& t = std::get<table<A>>(tables_);
    const auto it = t.find(id);
    if (it == t.end() || (!include_gone && !is_live(it->second.state)))
      return std::nullopt;
    return it->second;
  }

  /// What `f(resource)` answers for resource `id` of kind A (with include_gone, also a deleted
  /// one), read under the lock without copying the state; nullopt when there is none. `f` must
  /// be quick and must not call into the inventory (the lock is held).
  template<class A, class F>
  [[nodiscard]] auto read(std::string_view id, F&& f, bool include_gone = false) const
      -> std::optional<std::invoke_result_t<F, const resource<A>&>> {
    std::shared_lock lock{mutex_};
    const auto& t = std::get<table<A>>(tables_);
    const auto it = t.find(id);
    if (it == t.end() || (!include_gone && !is_live(it->second.state)))
      return std::nullopt;
    return std::forward<F>(f)(it->second);
  }

  /// Where live resource `id` of kind A stands, without copying its state.
  struct stamp {
    std::uint64_t version = 0;
    std::uint64_t position = 0;
  };
  template<class A>
  [[nodiscard]] std::optional<stamp> stamp_of(std::string_view id) const {
    std::shared_lock lock{mutex_};
    const auto& t = std::get<table<A>>(tables_);
    const auto it = t.find(id);
    if (it == t.end() || !is_live(it->second.state))
      return std::nullopt;
    return stamp{it->second.version, it->second.position};
  }

  /// Up to `limit` live resources of kind A with id > after_id that `keep` accepts, by id.
  /// `at`, if given, receives the log position the rows reflect (read under the same lock).
  template<class A>
  [[nodiscard]] std::vector<resource<A>>
  list(std::string_view after_id, std::size_t limit,
       const std::function<bool(const resource<A>&)>& keep = {},
       std::uint64_t* at = nullptr) const {
    std::vector<resource<A>> out;
    std::shared_lock lock{mutex_};
    if (at != nullptr)
      *at = position_;
    const auto& t = std::get<table<A>>(tables_);
    for (auto it = t.upper_bound(after_id); it != t.end() && out.size() < limit; ++it)
      if (is_live(it->second.state) && (!keep || keep(it->second)))
        out.push_back(it->second);
    return out;
  }

  /// Calls f(resource) for every live resource of kind A under the read lock; f must be quick.
  template<class A, class F>
  void for_each(F&& f) const {
    std::shared_lock lock{mutex_};
    for (const auto& [id, r] : std::get<table<A>>(tables_))
      if (is_live(r.state))
        f(r);
  }

  /// The position of the last event given to apply(), whichever stream it was on.
  [[nodiscard]] std::uint64_t position() const;

  /// Events applied and events skipped (undecodable).
  [[nodiscard]] std::uint64_t applied() const;
  [[nodiscard]] std::uint64_t skipped() const;

  /// The last event skipped: its position (0: none) and why it could not be applied.
  struct skip {
    std::uint64_t position = 0;
    std::string stream;
    std::string reason;
  };
  [[nodiscard]] skip last_skipped() const;

 private:
  template<class A>
  using table = std::map<std::string, resource<A>, std::less<>>;

  /// Why `e` could not be applied, or nullopt once it is.
  template<class A>
  std::optional<std::string> apply_to(const events::recorded_event& e, std::string_view id);

  mutable std::shared_mutex mutex_;
  std::tuple<table<actors::vm_aggregate>, table<actors::node_aggregate>,
             table<actors::cluster_aggregate>, table<actors::storage_pool_aggregate>,
             table<actors::volume_aggregate>, table<actors::network_aggregate>,
             table<actors::security_group_aggregate>, table<actors::image_aggregate>,
             table<actors::alert_aggregate>, table<actors::user_aggregate>,
             table<actors::role_aggregate>>
      tables_;
  std::uint64_t position_ = 0;
  std::uint64_t applied_ = 0;
  std::uint64_t skipped_ = 0;
  skip last_skipped_;
};

} // namespace qx::projections
