#include "qx/events/memory_store.hpp"

#include "batch_builder.hpp"
#include "record_codec.hpp"
#include "store_checks.hpp"
#include "subscription_hub.hpp"

#include <map>
#include <mutex>
#include <unordered_map>

namespace qx::events {

namespace {

class memory_store final : public event_store, private detail::committed_state {
 public:
  explicit memory_store(memory_store_options opts)
      : clock_(opts.time_source != nullptr ? *opts.time_source : system_clock()),
        limits_(opts.limits), hub_(*this, 0) {}

  ~memory_store() override { hub_.close(); }
  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  void append_async(append_request req, append_callback done) override {
    if (auto ok = validate(req, limits_); !ok) {
      {
        std::lock_guard lock{mutex_};
        stats_.appends_failed++;
      }
      done(std::move(ok).error());
      return;
    }
    std::unique_lock lock{mutex_};
    detail::batch_builder batch{*this, head_, clock_.now_unix_ns()};
    auto answer = batch.add(req);
    if (answer && !batch.empty())
      commit(batch);
    detail::count_answer(stats_, answer);
    const auto durable = head_.position;
    lock.unlock();
    hub_.publish(durable);
    done(std::move(answer));
  }

  result<std::vector<recorded_event>>
  read_stream(std::string_view stream, std::uint64_t from_version, std::size_t limit) override {
    std::lock_guard lock{mutex_};
    std::vector<recorded_event> out;
    auto it = streams_.find(std::string{stream});
    if (it == streams_.end() || from_version > it->second.size())
      return out;
    const auto& positions = it->second;
    for (auto i = from_version == 0 ? 0 : from_version - 1;
         i < positions.size() && out.size() < limit; ++i) {
      auto ev = detail::decode_record(positions[i], records_[positions[i] - 1], false);
      if (!ev)
        return std::move(ev).error();
      out.push_back(std::move(*ev));
    }
    return out;
  }

  result<std::vector<recorded_event>> read_all(std::uint64_t from_position,
                                               std::size_t limit) override {
    std::lock_guard lock{mutex_};
    std::vector<recorded_event> out;
    for (auto pos = std::max<std::uint64_t>(from_position, 1);
         pos <= records_.size() && out.size() < limit; ++pos) {
      auto ev = detail::decode_record(pos, records_[pos - 1], false);
      if (!ev)
        return std::move(ev).error();
      out.push_back(std::move(*ev));
    }
    return out;
  }

  result<std::vector<raw_record>> read_raw(std::uint64_t from_position,
                                           std::size_t limit) override {
    std::lock_guard lock{mutex_};
    std::vector<raw_record> out;
    for (auto pos = std::max<std::uint64_t>(from_position, 1);
         pos <= records_.size() && out.size() < limit; ++pos)
      out.push_back({pos, records_[pos - 1]});
    return out;
  }

  result<std::uint64_t> stream_version(std::string_view stream) override {
    if (auto ok = validate_stream_id(stream, limits_); !ok)
      return std::move(ok).error();
    std::lock_guard lock{mutex_};
    return version_of(stream);
  }

  result<std::optional<append_result>> lookup_command(std::string_view command_id) override {
    std::lock_guard lock{mutex_};
    auto it = commands_.find(std::string{command_id});
    if (it == commands_.end())
      return std::optional<append_result>{};
    auto answer = it->second.answer;
    answer.duplicate = true;
    return std::optional<append_result>{answer};
  }

  chain_head head() const override {
    std::lock_guard lock{mutex_};
    return head_;
  }

  result<std::uint64_t> load_checkpoint(std::string_view consumer) override {
    std::lock_guard lock{mutex_};
    auto it = checkpoints_.find(std::string{consumer});
    return it == checkpoints_.end() ? 0 : it->second;
  }

  status save_checkpoint(std::string_view consumer, std::uint64_t position) override {
    std::lock_guard lock{mutex_};
    if (auto ok = detail::check_checkpoint(consumer, position, head_.position, limits_); !ok)
      return ok;
    checkpoints_[std::string{consumer}] = position;
    return {};
  }

  result<std::optional<snapshot>> load_snapshot(std::string_view stream) override {
    if (auto ok = validate_stream_id(stream, limits_); !ok)
      return std::move(ok).error();
    std::lock_guard lock{mutex_};
    auto it = snapshots_.find(std::string{stream});
    if (it == snapshots_.end())
      return std::optional<snapshot>{};
    return std::optional<snapshot>{it->second};
  }

  status save_snapshot(std::string_view stream, const snapshot& snap) override {
    if (auto ok = validate_stream_id(stream, limits_); !ok)
      return ok;
    std::lock_guard lock{mutex_};
    if (auto ok = detail::check_snapshot(snap, version_of(stream), limits_); !ok)
      return ok;
    snapshots_[std::string{stream}] = snap;
    return {};
  }

  using event_store::subscribe;
  std::unique_ptr<subscription> subscribe(std::uint64_t after_position, event_handler handler,
                                          failure_handler on_failure) override {
    return hub_.subscribe(after_position, std::move(handler), std::move(on_failure));
  }

  const append_limits& limits() const override { return limits_; }

  store_stats stats() const override {
    std::lock_guard lock{mutex_};
    return stats_;
  }

 private:
  // committed_state, called by the batch builder with mutex_ held.
  result<std::uint64_t> committed_version(std::string_view stream) override {
    return version_of(stream);
  }

  std::uint64_t version_of(std::string_view stream) const {
    auto it = streams_.find(std::string{stream});
    return it == streams_.end() ? 0 : it->second.size();
  }

  result<std::optional<detail::command_record>>
  committed_command(std::string_view command_id) override {
    auto it = commands_.find(std::string{command_id});
    if (it == commands_.end())
      return std::optional<detail::command_record>{};
    return std::optional<detail::command_record>{it->second};
  }

  void commit(detail::batch_builder& batch) {
    for (auto& ev : batch.events()) {
      streams_[ev.stream].push_back(ev.position);
      records_.push_back(std::move(ev.bytes));
    }
    for (auto& cmd : batch.commands())
      commands_.emplace(std::move(cmd.id), std::move(cmd.record));
    head_ = batch.head();
    stats_.events_written += batch.events().size();
    stats_.batches++;
  }

  clock& clock_;
  append_limits limits_;
  mutable std::mutex mutex_;
  std::vector<std::string> records_; // records_[p - 1] holds position p
  std::unordered_map<std::string, std::vector<std::uint64_t>> streams_;
  std::unordered_map<std::string, detail::command_record> commands_;
  std::map<std::string, std::uint64_t> checkpoints_;
  std::map<std::string, snapshot> snapshots_;
  chain_head head_;
  store_stats stats_;
  detail::subscription_hub hub_;
};

} // namespace

std::unique_ptr<event_store> make_memory_store(memory_store_options opts) {
  return std::make_unique<memory_store>(opts);
}

} // namespace qx::events
