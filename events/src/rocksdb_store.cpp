#include "qx/events/rocksdb_store.hpp"

#include "qx/events/verify.hpp"

#include "batch_builder.hpp"
#include "record_codec.hpp"
#include "store_checks.hpp"
#include "subscription_hub.hpp"

#include <qx/events/v1/envelope.pb.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace qx::events {

std::string position_key(std::uint64_t position) {
  std::string key;
  key.reserve(8);
  detail::put_be64(key, position);
  return key;
}

namespace {

constexpr const char* chain_head_key = "chain_head";

// streams CF key: one length byte, the stream id, then the version big-endian, so that one
// stream's keys are contiguous and ordered by version.
std::string stream_prefix(std::string_view stream) {
  std::string key;
  key.reserve(1 + stream.size() + 8);
  key.push_back(static_cast<char>(stream.size()));
  key.append(stream);
  return key;
}

std::string stream_key(std::string_view stream, std::uint64_t version) {
  auto key = stream_prefix(stream);
  detail::put_be64(key, version);
  return key;
}

error io_failure(const rocksdb::Status& s, std::string_view what) {
  const auto code = s.IsCorruption() ? errc::corrupted : errc::io_error;
  return error{code, std::string{what} + ": " + s.ToString()};
}

struct pending_append {
  append_request req;
  append_callback done;
};

class rocksdb_store final : public event_store, private detail::committed_state {
 public:
  rocksdb_store(const rocksdb_store_options& opts, std::unique_ptr<rocksdb::Env> env,
                std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : opts_(opts), clock_(opts.time_source != nullptr ? *opts.time_source : system_clock()),
        env_(std::move(env)), db_(std::move(db)), handles_(std::move(handles)) {}

  ~rocksdb_store() override {
    close();
    if (hub_)
      hub_->close();
    for (auto* h : handles_)
      permit_unchecked_status(db_->DestroyColumnFamilyHandle(h));
    permit_unchecked_status(db_->Close());
  }
  rocksdb_store(const rocksdb_store&) = delete;
  rocksdb_store& operator=(const rocksdb_store&) = delete;

  /// Loads the chain head, checks the tail, and starts the writer.
  status start() {
    auto loaded = load_head();
    if (!loaded)
      return std::move(loaded).error();
    head_ = *loaded;
    hub_ = std::make_unique<detail::subscription_hub>(*this, head_.position);
    if (opts_.verify_tail_on_open && head_.position > 0) {
      const auto from = head_.position > opts_.tail_check_records
                            ? head_.position - opts_.tail_check_records + 1
                            : 1;
      auto report = verify_log(*this, from);
      if (!report)
        return std::move(report).error();
      if (!report->ok)
        return detail::corrupted_at(*report->break_position, report->problem);
    }
    if (!opts_.read_only)
      writer_ = std::thread{[this] {
        writer_loop();
      }};
    return {};
  }

  void close() override {
    {
      std::lock_guard lock{queue_mutex_};
      stopping_ = true;
    }
    queue_changed_.notify_all();
    const std::lock_guard join_lock{join_mutex_};
    if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id())
      writer_.join();
  }

  void append_async(append_request req, append_callback done) override {
    if (auto ok = validate(req, opts_.limits); !ok) {
      {
        std::lock_guard lock{stats_mutex_};
        stats_.appends_failed++;
      }
      done(std::move(ok).error());
      return;
    }
    {
      std::unique_lock lock{queue_mutex_};
      if (opts_.read_only || stopping_ || failure_) {
        auto why = failure_ ? "the store failed earlier: " + failure_->message
                            : std::string{"the store is closed or read-only"};
        lock.unlock();
        {
          std::lock_guard stats_lock{stats_mutex_};
          stats_.appends_failed++;
        }
        done(error{errc::unavailable, std::move(why)});
        return;
      }
      queue_.push_back({std::move(req), std::move(done)});
      queued_events_ += queue_.back().req.events.size();
    }
    queue_changed_.notify_one();
  }

  result<std::vector<recorded_event>>
  read_stream(std::string_view stream, std::uint64_t from_version, std::size_t limit) override {
    if (auto ok = validate_stream_id(stream, opts_.limits); !ok)
      return std::move(ok).error();
    std::vector<recorded_event> out;
    const auto prefix = stream_prefix(stream);
    std::unique_ptr<rocksdb::Iterator> it{db_->NewIterator({}, cf(streams))};
    std::string value;
    for (it->Seek(stream_key(stream, std::max<std::uint64_t>(from_version, 1)));
         it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next()) {
      const auto pos = detail::get_be64({it->value().data(), it->value().size()});
      auto s = db_->Get({}, cf(log), position_key(pos), &value);
      if (!s.ok())
        return s.IsNotFound() ? detail::corrupted_at(pos, "indexed but missing from the log")
                              : io_failure(s, "read");
      auto ev = detail::decode_record(pos, value, opts_.verify_hashes_on_read);
      if (!ev)
        return std::move(ev).error();
      out.push_back(std::move(*ev));
    }
    if (!it->status().ok())
      return io_failure(it->status(), "read stream");
    return out;
  }

  result<std::vector<recorded_event>> read_all(std::uint64_t from_position,
                                               std::size_t limit) override {
    std::vector<recorded_event> out;
    out.reserve(std::min<std::size_t>(limit, 4096));
    auto s = scan(from_position, limit, [&](std::uint64_t pos, std::string_view bytes) {
      auto& ev = out.emplace_back();
      if (auto ok = detail::decode_record_into(ev, pos, bytes, opts_.verify_hashes_on_read); !ok)
        return result<bool>{std::move(ok).error()};
      return result<bool>{true};
    });
    if (!s)
      return std::move(s).error();
    return out;
  }

  result<std::size_t> visit_all(std::uint64_t from_position, std::size_t limit,
                                const event_handler& visit) override {
    // One event for the whole scan: decoding into it reuses its strings' capacity, so after
    // the first records a read allocates nothing (docs/performance.md, replay).
    recorded_event ev;
    std::size_t seen = 0;
    auto s = scan(from_position, limit, [&](std::uint64_t pos, std::string_view bytes) {
      if (auto ok = detail::decode_record_into(ev, pos, bytes, opts_.verify_hashes_on_read); !ok)
        return result<bool>{std::move(ok).error()};
      ++seen;
      return result<bool>{visit(ev)};
    });
    if (!s)
      return std::move(s).error();
    return seen;
  }

  result<std::vector<raw_record>> read_raw(std::uint64_t from_position,
                                           std::size_t limit) override {
    std::vector<raw_record> out;
    auto s = scan(from_position, limit, [&](std::uint64_t pos, std::string_view bytes) {
      out.push_back({pos, std::string{bytes}});
      return result<bool>{true};
    });
    if (!s)
      return std::move(s).error();
    return out;
  }

  result<std::uint64_t> stream_version(std::string_view stream) override {
    if (auto ok = validate_stream_id(stream, opts_.limits); !ok)
      return std::move(ok).error();
    return read_version(stream);
  }

  result<std::optional<append_result>> lookup_command(std::string_view command_id) override {
    auto rec = committed_command(command_id);
    if (!rec)
      return std::move(rec).error();
    if (!rec->has_value())
      return std::optional<append_result>{};
    auto answer = (*rec)->answer;
    answer.duplicate = true;
    return std::optional<append_result>{answer};
  }

  chain_head head() const override {
    std::lock_guard lock{head_mutex_};
    return head_;
  }

  result<std::uint64_t> load_checkpoint(std::string_view consumer) override {
    std::string value;
    auto s = db_->Get({}, cf(checkpoints), consumer, &value);
    if (s.IsNotFound())
      return 0;
    if (!s.ok())
      return io_failure(s, "read checkpoint");
    return detail::get_be64(value);
  }

  status save_checkpoint(std::string_view consumer, std::uint64_t position) override {
    if (auto ok = detail::check_checkpoint(consumer, position, head().position, opts_.limits); !ok)
      return ok;
    return put(checkpoints, consumer, position_key(position), "save checkpoint", true);
  }

  result<std::optional<snapshot>> load_snapshot(std::string_view stream) override {
    if (auto ok = validate_stream_id(stream, opts_.limits); !ok)
      return std::move(ok).error();
    std::string value;
    auto s = db_->Get({}, cf(snapshots), stream, &value);
    if (s.IsNotFound())
      return std::optional<snapshot>{};
    if (!s.ok())
      return io_failure(s, "read snapshot");
    v1::Snapshot pb;
    if (!pb.ParseFromString(value))
      return error{errc::corrupted,
                   "snapshot of " + std::string{stream} + " does not decode",
                   {{"stream", std::string{stream}}}};
    return std::optional<snapshot>{snapshot{pb.version(), pb.type(), pb.state()}};
  }

  status save_snapshot(std::string_view stream, const snapshot& snap) override {
    if (auto ok = validate_stream_id(stream, opts_.limits); !ok)
      return ok;
    auto current = read_version(stream);
    if (!current)
      return std::move(current).error();
    if (auto ok = detail::check_snapshot(snap, *current, opts_.limits); !ok)
      return ok;
    v1::Snapshot pb;
    pb.set_version(snap.version);
    pb.set_type(snap.type);
    pb.set_state(snap.state);
    return put(snapshots, stream, pb.SerializeAsString(), "save snapshot", false);
  }

  using event_store::subscribe;
  std::unique_ptr<subscription> subscribe(std::uint64_t after_position, event_handler handler,
                                          failure_handler on_failure) override {
    return hub_->subscribe(after_position, std::move(handler), std::move(on_failure));
  }

  const append_limits& limits() const override { return opts_.limits; }

  store_stats stats() const override {
    store_stats out;
    {
      std::lock_guard lock{stats_mutex_};
      out = stats_;
    }
    std::lock_guard lock{queue_mutex_};
    out.queue_depth = queue_.size();
    return out;
  }

 private:
  enum cf_index : std::size_t { default_cf, log, streams, commands, checkpoints, snapshots };

  [[nodiscard]] rocksdb::ColumnFamilyHandle* cf(cf_index i) const { return handles_[i]; }

  static void permit_unchecked_status(const rocksdb::Status& s) { s.PermitUncheckedError(); }

  status put(cf_index family, std::string_view key, const std::string& value, std::string_view what,
             bool sync) {
    if (opts_.read_only)
      return error{errc::unavailable, "the store is read-only"};
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    auto s = db_->Put(wo, cf(family), key, value);
    if (!s.ok())
      return io_failure(s, what);
    return {};
  }

  /// Calls `visit(position, bytes)` for each record from `from_position` on, at most `limit`;
  /// `visit` answers true to go on, false to stop, or an error that ends the scan with it.
  template<class F>
  status scan(std::uint64_t from_position, std::size_t limit, F&& visit) {
    rocksdb::ReadOptions ro;
    ro.readahead_size = 2U << 20U;
    std::unique_ptr<rocksdb::Iterator> it{db_->NewIterator(ro, cf(log))};
    std::size_t n = 0;
    auto next = std::max<std::uint64_t>(from_position, 1);
    for (it->Seek(position_key(next)); it->Valid() && n < limit; it->Next(), ++n) {
      const auto key = it->key();
      if (key.size() != 8)
        return detail::corrupted_at(next, "a log key of " + std::to_string(key.size()) + " bytes");
      const auto pos = detail::get_be64({key.data(), key.size()});
      auto go_on = visit(pos, std::string_view{it->value().data(), it->value().size()});
      if (!go_on)
        return std::move(go_on).error();
      next = pos + 1;
      if (!*go_on)
        return {};
    }
    if (const auto& s = it->status(); s.IsCorruption())
      return detail::corrupted_at(next, "RocksDB reports " + s.ToString());
    else if (!s.ok())
      return io_failure(s, "scan log");
    return {};
  }

  result<std::uint64_t> read_version(std::string_view stream) {
    std::unique_ptr<rocksdb::Iterator> it{db_->NewIterator({}, cf(streams))};
    it->SeekForPrev(stream_key(stream, ~std::uint64_t{0}));
    if (!it->status().ok())
      return io_failure(it->status(), "read stream head");
    if (!it->Valid() || !it->key().starts_with(stream_prefix(stream)))
      return 0;
    const auto key = it->key();
    return detail::get_be64({key.data() + key.size() - 8, 8});
  }

  result<chain_head> load_head() {
    std::string value;
    auto s = db_->Get({}, cf(default_cf), chain_head_key, &value);
    chain_head head;
    if (!s.ok() && !s.IsNotFound())
      return io_failure(s, "read chain head");
    if (s.ok()) {
      v1::ChainHead pb;
      if (!pb.ParseFromString(value) || pb.hash().size() != head.hash.size())
        return error{errc::corrupted, "the chain head record does not decode"};
      head.position = pb.position();
      std::copy_n(pb.hash().begin(), head.hash.size(), head.hash.begin());
    }
    // The head is written in the same batch as the records; a log that ends elsewhere has
    // lost records or holds ones nobody appended through the store.
    std::unique_ptr<rocksdb::Iterator> it{db_->NewIterator({}, cf(log))};
    it->SeekToLast();
    if (!it->status().ok())
      return io_failure(it->status(), "read log tail");
    const std::uint64_t last =
        it->Valid() ? detail::get_be64({it->key().data(), it->key().size()}) : 0;
    if (last != head.position && opts_.verify_tail_on_open) {
      const auto at = std::min(last, head.position) + 1;
      return detail::corrupted_at(at, "the log ends at " + std::to_string(last) +
                                          " but the chain head says " +
                                          std::to_string(head.position));
    }
    return head;
  }

  // committed_state, called on the writer thread only.
  result<std::uint64_t> committed_version(std::string_view stream) override {
    auto key = std::string{stream};
    if (auto it = versions_.find(key); it != versions_.end())
      return it->second;
    auto v = read_version(stream);
    if (v)
      versions_.emplace(std::move(key), *v);
    return v;
  }

  result<std::optional<detail::command_record>>
  committed_command(std::string_view command_id) override {
    std::string value;
    auto s = db_->Get({}, cf(commands), command_id, &value);
    if (s.IsNotFound())
      return std::optional<detail::command_record>{};
    if (!s.ok())
      return io_failure(s, "read command record");
    v1::CommandRecord pb;
    if (!pb.ParseFromString(value))
      return error{errc::corrupted,
                   "command record " + std::string{command_id} + " does not decode"};
    detail::command_record rec;
    rec.stream = pb.stream();
    rec.answer = {pb.first_position(), pb.first_version(), pb.last_version(), pb.count(), false};
    return std::optional<detail::command_record>{std::move(rec)};
  }

  /// Takes what has queued, bounded by the batch limits.
  std::vector<pending_append> take_batch() {
    std::unique_lock lock{queue_mutex_};
    queue_changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    const auto& gc = opts_.group_commit;
    if (gc.max_batch_delay.count() > 0 && !stopping_)
      queue_changed_.wait_for(lock, gc.max_batch_delay,
                              [&] { return stopping_ || queued_events_ >= gc.max_batch_events; });
    std::vector<pending_append> batch;
    std::size_t events = 0;
    std::size_t bytes = 0;
    while (!queue_.empty()) {
      auto& next = queue_.front();
      std::size_t next_bytes = 0;
      for (const auto& ev : next.req.events)
        next_bytes += ev.payload.size();
      if (!batch.empty() && (events + next.req.events.size() > gc.max_batch_events ||
                             bytes + next_bytes > gc.max_batch_bytes))
        break;
      events += next.req.events.size();
      bytes += next_bytes;
      batch.push_back(std::move(next));
      queue_.pop_front();
    }
    queued_events_ -= events;
    return batch;
  }

  void writer_loop() {
    for (;;) {
      auto batch = take_batch();
      if (batch.empty())
        return; // stopping, and the queue is drained
      write(batch);
    }
  }

  void write(std::vector<pending_append>& batch) {
    detail::batch_builder builder{*this, head_, clock_.now_unix_ns()};
    std::vector<result<append_result>> answers;
    answers.reserve(batch.size());
    for (const auto& p : batch)
      answers.push_back(failure_ ? result<append_result>{*failure_} : builder.add(p.req));
    if (!builder.empty()) {
      if (auto s = commit(builder); !s) {
        {
          std::lock_guard lock{queue_mutex_};
          failure_ = s.error();
        }
        for (auto& a : answers)
          if (a)
            a = s.error();
      }
    }
    {
      std::lock_guard lock{stats_mutex_};
      for (const auto& a : answers)
        detail::count_answer(stats_, a);
    }
    for (std::size_t i = 0; i < batch.size(); ++i)
      batch[i].done(std::move(answers[i]));
  }

  status commit(detail::batch_builder& builder) {
    rocksdb::WriteBatch wb;
    std::string index_value;
    for (const auto& ev : builder.events()) {
      const auto key = position_key(ev.position);
      wb.Put(cf(log), key, ev.bytes).PermitUncheckedError();
      wb.Put(cf(streams), stream_key(ev.stream, ev.version), key).PermitUncheckedError();
    }
    for (const auto& cmd : builder.commands()) {
      v1::CommandRecord pb;
      pb.set_stream(cmd.record.stream);
      pb.set_first_position(cmd.record.answer.first_position);
      pb.set_first_version(cmd.record.answer.first_version);
      pb.set_last_version(cmd.record.answer.last_version);
      pb.set_count(cmd.record.answer.count);
      wb.Put(cf(commands), cmd.id, pb.SerializeAsString()).PermitUncheckedError();
    }
    const auto new_head = builder.head();
    v1::ChainHead head_pb;
    head_pb.set_position(new_head.position);
    head_pb.set_hash(new_head.hash.data(), new_head.hash.size());
    wb.Put(cf(default_cf), chain_head_key, head_pb.SerializeAsString()).PermitUncheckedError();
    rocksdb::WriteOptions wo;
    wo.sync = !opts_.unsafe_skip_sync;
    const auto started = std::chrono::steady_clock::now();
    if (auto s = db_->Write(wo, &wb); !s.ok())
      return io_failure(s, "append");
    {
      std::lock_guard lock{stats_mutex_};
      stats_.batches++;
      stats_.events_written += builder.events().size();
      stats_.commit_ns_total +=
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now() - started)
                                         .count());
    }
    for (const auto& [stream, version] : builder.stream_versions())
      versions_[stream] = version;
    {
      std::lock_guard lock{head_mutex_};
      head_ = new_head;
    }
    hub_->publish(new_head.position);
    return {};
  }

  rocksdb_store_options opts_;
  clock& clock_;
  std::unique_ptr<rocksdb::Env> env_; ///< over opts_.file_system; outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  mutable std::mutex head_mutex_;
  chain_head head_; // written by the writer thread under head_mutex_

  mutable std::mutex stats_mutex_;
  store_stats stats_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<pending_append> queue_;
  std::size_t queued_events_ = 0;
  bool stopping_ = false;
  std::mutex join_mutex_;        ///< close() may be called from two threads (stop, destructor).
  std::optional<error> failure_; // set once a synced write failed; the store then refuses appends

  std::unordered_map<std::string, std::uint64_t> versions_; // writer thread only
  std::unique_ptr<detail::subscription_hub> hub_;
  std::thread writer_;
};

rocksdb::ColumnFamilyOptions family_options(bool point_lookups) {
  rocksdb::ColumnFamilyOptions o;
  if (point_lookups) {
    rocksdb::BlockBasedTableOptions t;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  }
  return o;
}

} // namespace

result<std::unique_ptr<event_store>> open_rocksdb_store(const rocksdb_store_options& opts) {
  if (opts.path.empty())
    return error{errc::invalid_argument, "the data directory is not set", {{"field", "path"}}};
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = opts.create_if_missing && !opts.read_only;
  db_opts.create_missing_column_families = !opts.read_only;
  db_opts.paranoid_checks = true;
  std::unique_ptr<rocksdb::Env> env;
  if (opts.file_system) {
    env = rocksdb::NewCompositeEnv(opts.file_system);
    db_opts.env = env.get();
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> families{
      {rocksdb::kDefaultColumnFamilyName, family_options(false)},
      {column_families::log, family_options(false)},
      {column_families::streams, family_options(false)},
      {column_families::commands, family_options(true)},
      {column_families::checkpoints, family_options(false)},
      {column_families::snapshots, family_options(true)},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = opts.read_only
               ? rocksdb::DB::OpenForReadOnly(db_opts, opts.path, families, &handles, &raw)
               : rocksdb::DB::Open(db_opts, opts.path, families, &handles, &raw);
  if (!s.ok())
    return error{s.IsCorruption() ? errc::corrupted : errc::io_error,
                 "cannot open the event log at " + opts.path + ": " + s.ToString(),
                 {{"path", opts.path}}};
  auto store = std::make_unique<rocksdb_store>(
      opts, std::move(env), std::unique_ptr<rocksdb::DB>{raw}, std::move(handles));
  if (auto ok = store->start(); !ok)
    return std::move(ok).error();
  return std::unique_ptr<event_store>{std::move(store)};
}

} // namespace qx::events
