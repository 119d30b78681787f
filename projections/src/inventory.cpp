#include "qx/projections/inventory.hpp"

namespace qx::projections {

bool is_live(const actors::vm_aggregate::state& s) {
  return !s.power_state().empty() && s.power_state() != domain::vm::power::deleted;
}

bool is_live(const actors::node_aggregate::state& s) {
  return s.registered() && s.state() != "decommissioned";
}

bool is_live(const actors::alert_aggregate::state& /*s*/) {
  return true;
}

std::optional<std::string_view> aggregate_kind_of(std::string_view stream) {
  std::optional<std::string_view> kind;
  actors::for_each_aggregate([&](auto t) {
    using A = typename decltype(t)::type;
    const auto prefix = A::stream("");
    if (!kind && stream.size() > prefix.size() && stream.starts_with(prefix))
      kind = A::kind;
  });
  return kind;
}

template<class A>
std::optional<std::string> inventory::apply_to(const events::recorded_event& e,
                                               std::string_view id) {
  auto decoded = domain::decode_event<typename A::event>(e.type, e.payload);
  if (!decoded)
    return decoded.error().message;
  auto& t = std::get<table<A>>(tables_);
  auto it = t.find(id);
  if (it == t.end())
    it = t.emplace(std::string{id}, resource<A>{A::initial(id), 0, 0}).first;
  A::evolve(it->second.state, *decoded);
  it->second.version = e.version;
  it->second.position = e.position;
  return std::nullopt;
}

void inventory::apply(const events::recorded_event& e) {
  std::unique_lock lock{mutex_};
  position_ = e.position;
  bool owned = false;
  std::optional<std::string> refused;
  actors::for_each_aggregate([&](auto t) {
    using A = typename decltype(t)::type;
    const auto prefix = A::stream("");
    const std::string_view stream{e.stream};
    if (owned || stream.size() <= prefix.size() || !stream.starts_with(prefix))
      return;
    owned = true;
    refused = apply_to<A>(e, stream.substr(prefix.size()));
  });
  if (!owned)
    return;
  if (!refused) {
    ++applied_;
    return;
  }
  ++skipped_;
  last_skipped_ = skip{e.position, e.stream, std::move(*refused)};
}

inventory::skip inventory::last_skipped() const {
  std::shared_lock lock{mutex_};
  return last_skipped_;
}

std::uint64_t inventory::position() const {
  std::shared_lock lock{mutex_};
  return position_;
}

std::uint64_t inventory::applied() const {
  std::shared_lock lock{mutex_};
  return applied_;
}

std::uint64_t inventory::skipped() const {
  std::shared_lock lock{mutex_};
  return skipped_;
}

} // namespace qx::projections
