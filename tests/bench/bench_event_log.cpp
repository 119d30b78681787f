// bench_event_log: durable appends/s through the store with 1, 8 and 64 concurrent streams
// against raw RocksDB synced WriteBatches of the same event size and batch size on the same
// disk; catch-up replay events/s (decode and hash check included) against a raw RocksDB scan
// of the same data. Last line:
//   RESULT appends_ratio=<x> replay_ratio=<y> appends_per_s=<n> replay_per_s=<m>
// (appends: the 64-stream case).
//
// usage: bench_event_log [--quick]
#include "raw_log_scan.hpp"

#include <qx/events/rocksdb_store.hpp>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

using namespace qx;
using namespace qx::events;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t payload_bytes = 200;

struct temp_dir {
  temp_dir() {
    auto tmpl = (std::filesystem::temp_directory_path() / "qx-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      std::abort();
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string path;
};

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

struct append_figures {
  double per_s = 0;
  double mean_batch = 0;
  double commit_us = 0; ///< mean time of one synced RocksDB write (the batch's durable part)
  double batch_us = 0;  ///< mean wall time per batch
};

/// `streams` streams, each with one append of one event in flight at a time and an exact
/// expected version, as aggregate actors use the store; `total` events in all.
append_figures store_appends(event_store& store, std::size_t streams, std::size_t total,
                             const std::string& prefix) {
  const std::string payload(payload_bytes, 'x');
  std::vector<std::uint64_t> versions(streams, 0);
  std::atomic<std::size_t> issued{0};
  std::atomic<std::size_t> answered{0};
  std::promise<void> done;
  std::function<void(std::size_t)> next = [&](std::size_t s) {
    if (issued.fetch_add(1) >= total)
      return;
    append_request req;
    req.stream = prefix + std::to_string(s);
    req.expected = expected_version::exact(versions[s]);
    req.events.push_back({"bench.Event", payload});
    req.metadata.actor = "bench";
    store.append_async(std::move(req), [&, s](result<append_result> r) {
      if (!r) {
        std::fprintf(stderr, "append failed: %s\n", r.error().to_string().c_str());
        std::abort();
      }
      versions[s] = r->last_version;
      if (answered.fetch_add(1) + 1 == total)
        done.set_value();
      else
        next(s);
    });
  };
  const auto before = store.stats();
  const auto started = clock_type::now();
  for (std::size_t s = 0; s < streams; ++s)
    next(s);
  done.get_future().wait();
  const auto secs = seconds_since(started);
  const auto after = store.stats();
  append_figures f;
  f.per_s = static_cast<double>(total) / secs;
  const auto batches =
      static_cast<double>(std::max<std::uint64_t>(after.batches - before.batches, 1));
  f.mean_batch = static_cast<double>(after.events_written - before.events_written) / batches;
  f.commit_us = static_cast<double>(after.commit_ns_total - before.commit_ns_total) / batches / 1e3;
  f.batch_us = secs * 1e6 / batches;
  return f;
}

std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFFU);
    v >>= 8U;
  }
  return out;
}

/// Raw RocksDB: one Put per event of the store's record size, synced batches of `batch`.
double raw_appends(const std::string& path, std::size_t record_bytes, std::size_t batch,
                   std::size_t total) {
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(o, path, &raw).ok())
    std::abort();
  std::unique_ptr<rocksdb::DB> db{raw};
  const std::string value(record_bytes, 'y');
  rocksdb::WriteOptions wo;
  wo.sync = true;
  std::uint64_t key = 0;
  const auto started = clock_type::now();
  while (key < total) {
    rocksdb::WriteBatch wb;
    for (std::size_t i = 0; i < batch && key < total; ++i)
      wb.Put(be64(++key), value).PermitUncheckedError();
    if (!db->Write(wo, &wb).ok())
      std::abort();
  }
  const auto secs = seconds_since(started);
  db->Close().PermitUncheckedError();
  return static_cast<double>(total) / secs;
}

/// Reads the whole log through the store (hash check and decode included).
double store_replay(event_store& store, std::uint64_t expected) {
  const auto started = clock_type::now();
  const auto [seen, bytes] = qx::bench::replay_through_store(store);
  const auto secs = seconds_since(started);
  if (seen != expected || bytes == 0)
    std::abort();
  return static_cast<double>(seen) / secs;
}

/// Scans the store's log column family with a plain RocksDB iterator.
double raw_scan(const std::string& path, std::uint64_t expected) {
  const auto r = qx::bench::raw_log_scan(path);
  if (r.records != expected)
    std::abort();
  return static_cast<double>(r.records) / r.seconds;
}

} // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  temp_dir dir;
  const auto store_path = dir.path + "/store";
  rocksdb_store_options opts;
  opts.path = store_path;
  auto opened = open_rocksdb_store(opts);
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().to_string().c_str());
    return 1;
  }
  auto& store = **opened;
  std::printf("bench_event_log: %zu-byte payloads, one event per append, one append in flight "
              "per stream, synced group commit (%s run)\n",
              payload_bytes, quick ? "quick" : "default");
  // The stored record is larger than the payload (envelope, chain hashes): measure it so the
  // raw baseline writes values of the same size.
  {
    append_request probe;
    probe.stream = "probe-0";
    probe.events.push_back({"bench.Event", std::string(payload_bytes, 'x')});
    probe.metadata.actor = "bench";
    if (!store.append(probe))
      return 1;
  }
  const auto record_bytes = (*store.read_raw(1, 1)).front().bytes.size();
  std::printf("stored record: %zu bytes (+ a stream index entry); raw baseline values: %zu "
              "bytes\n\n",
              record_bytes, record_bytes);
  std::printf("%8s %14s %11s %16s %7s %12s %12s\n", "streams", "store ev/s", "mean batch",
              "raw same batch", "ratio", "commit us", "batch us");
  double ratio64 = 0;
  double appends64 = 0;
  std::uint64_t written = 1;
  int round = 0;
  for (std::size_t streams : {1U, 8U, 64U}) {
    const std::size_t total =
        streams == 1 ? (quick ? 300 : 5'000) : (quick ? 4'000 : (streams == 8 ? 60'000 : 400'000));
    auto f = store_appends(store, streams, total, "s" + std::to_string(streams) + "-");
    written += total;
    const auto batch = static_cast<std::size_t>(f.mean_batch + 0.5);
    const auto raw =
        raw_appends(dir.path + "/raw-" + std::to_string(round++), record_bytes, batch, total);
    const auto ratio = f.per_s / raw;
    std::printf("%8zu %14.0f %11.1f %16.0f %7.2f %12.1f %12.1f\n", streams, f.per_s, f.mean_batch,
                raw, ratio, f.commit_us, f.batch_us);
    std::fflush(stdout);
    if (streams == 64) {
      ratio64 = ratio;
      appends64 = f.per_s;
    }
  }
  // Replay data: top the log up to a size worth scanning, quickly (64 streams in flight).
  const std::uint64_t replay_target = quick ? 20'000 : 1'000'000;
  if (written < replay_target) {
    store_appends(store, 64, replay_target - written, "fill-");
    written = replay_target;
  }
  // Both readers start from the same files: reopen the store, replay, close, scan raw.
  opened->reset();
  rocksdb_store_options reopen = opts;
  reopen.verify_tail_on_open = false;
  auto replayer = open_rocksdb_store(reopen);
  if (!replayer)
    return 1;
  const auto replay = store_replay(**replayer, written);
  replayer->reset();
  const auto scan = raw_scan(store_path, written);
  const auto replay_ratio = replay / scan;
  std::printf("\nreplay of %llu events: store %.0f ev/s (decode), raw RocksDB scan "
              "%.0f ev/s, ratio %.2f\n",
              static_cast<unsigned long long>(written), replay, scan, replay_ratio);
  std::printf("goals: appends >= 0.7x raw at 64 streams: %s; replay >= 0.5x raw: %s\n",
              ratio64 >= 0.7 ? "met" : "NOT met", replay_ratio >= 0.5 ? "met" : "NOT met");
  std::printf("RESULT appends_ratio=%.2f replay_ratio=%.2f appends_per_s=%.0f replay_per_s=%.0f\n",
              ratio64, replay_ratio, appends64, replay);
}
