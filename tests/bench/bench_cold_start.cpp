// Cold start of `qvdc serve` over a long log: writes N events into a fresh data directory
// straight through the store (100 events per VM: VmCreated, then 99 VmRebooted, one append per
// VM; 10 M events = 100 k VMs by default), then starts `qvdc serve --no-auth
// --hypervisor-stand-in` on it and times until GET /ready answers 200 (every read model caught
// up with the log). Same-run references on the same files: a raw RocksDB scan of the log
// column family and the store's own replay (visit_all, decode included). Goal (issue 19):
// serving within 5 s of the start on 10 M events.
//
// usage: bench_cold_start [--quick] [--events N] [--keep DIR]
// Last line: RESULT cold_start_s=<s> raw_scan_s=<s> replay_s=<s> events=<n>
#include "api_client.hpp"
#include "raw_log_scan.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

#include <qx/events/rocksdb_store.hpp>
#include <qx/events/v1/vm.pb.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::uint64_t events_per_vm = 100;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// VM `i`'s whole history as one append: created, then rebooted 99 times.
qx::events::append_request history_of(std::uint64_t i) {
  const auto id = "cold" + std::to_string(i);
  qx::events::append_request req;
  req.stream = "vm-" + id;
  req.expected = qx::events::expected_version::exact(0);
  req.metadata.actor = "bench:cold-start";
  req.metadata.command_id = "cold-start-" + id;
  qx::events::v1::VmCreated created;
  created.set_id(id);
  created.mutable_spec()->set_name(id);
  created.mutable_spec()->set_vcpus(1);
  created.mutable_spec()->set_memory_mib(1024);
  req.events.push_back({"qx.events.v1.VmCreated", created.SerializeAsString()});
  qx::events::v1::VmRebooted rebooted;
  rebooted.set_id(id);
  const auto reboot = rebooted.SerializeAsString();
  for (std::uint64_t n = 1; n < events_per_vm; ++n)
    req.events.push_back({"qx.events.v1.VmRebooted", reboot});
  return req;
}

/// Writes `vms` histories with up to 256 appends in flight; false when any append failed.
bool write_log(const std::string& path, std::uint64_t vms) {
  qx::events::rocksdb_store_options opts;
  opts.path = path;
  auto store = qx::events::open_rocksdb_store(opts);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().to_string().c_str());
    return false;
  }
  std::mutex m;
  std::condition_variable cv;
  std::uint64_t in_flight = 0;
  std::atomic<std::uint64_t> failed{0};
  for (std::uint64_t i = 0; i < vms; ++i) {
    {
      std::unique_lock lock{m};
      cv.wait(lock, [&] { return in_flight < 256; });
      ++in_flight;
    }
    (*store)->append_async(history_of(i), [&](qx::result<qx::events::append_result> r) {
      if (!r && failed++ == 0)
        std::fprintf(stderr, "append: %s\n", r.error().to_string().c_str());
      std::lock_guard lock{m};
      --in_flight;
      cv.notify_all();
    });
  }
  std::unique_lock lock{m};
  cv.wait(lock, [&] { return in_flight == 0; });
  return failed == 0;
}

/// The store's own replay of the whole log, in seconds (aborts on a read error).
double store_replay(const std::string& path, std::uint64_t expected) {
  qx::events::rocksdb_store_options opts;
  opts.path = path;
  opts.read_only = true;
  auto store = qx::events::open_rocksdb_store(opts);
  if (!store)
    std::abort();
  const auto started = clock_type::now();
  const auto seen = qx::bench::replay_through_store(**store).records;
  const auto secs = seconds_since(started);
  if (seen != expected)
    std::abort();
  return secs;
}

} // namespace

int main(int argc, char** argv) {
  std::uint64_t events = 10'000'000;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      events = 100'000;
    } else if (a == "--events" && i + 1 < argc) {
      events = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--keep" && i + 1 < argc) {
      keep = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_cold_start [--quick] [--events N] [--keep DIR]\n");
      return 2;
    }
  }
  const auto vms = std::max<std::uint64_t>(1, events / events_per_vm);
  events = vms * events_per_vm;
  qx::test::temp_dir tmp;
  const auto data = keep.empty() ? tmp.sub("data") : keep;
  const auto log = (std::filesystem::path{data} / "log").string();
  std::filesystem::create_directories(data);
  std::printf("bench_cold_start: %llu events (%llu VMs x %llu) into %s\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(vms),
              static_cast<unsigned long long>(events_per_vm), data.c_str());
  std::fflush(stdout);
  if (!std::filesystem::exists(log)) {
    const auto started = clock_type::now();
    if (!write_log(log, vms)) {
      std::printf("error: writing the log failed\n");
      return 1;
    }
    std::printf("  written in %.1f s\n", seconds_since(started));
  }
  const auto scan = qx::bench::raw_log_scan(log);
  if (scan.records != events) {
    std::printf("error: the log holds %llu records, not %llu\n",
                static_cast<unsigned long long>(scan.records),
                static_cast<unsigned long long>(events));
    return 1;
  }
  const auto replay = store_replay(log, events);

  qx::test::server_process server{data, tmp.sub("qvdc.stderr")};
  const auto started = clock_type::now();
  try {
    server.start(std::chrono::seconds{1800});
  } catch (const std::exception& e) {
    std::printf("error: qvdc serve did not start: %s\n", e.what());
    return 1;
  }
  const auto listening = seconds_since(started);
  qx::test::api_client api{server.base_url()};
  double ready = -1;
  while (seconds_since(started) < 1800) {
    try {
      if (api.get("/ready").status == 200) {
        ready = seconds_since(started);
        break;
      }
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  // Every VM is served once ready: one of them read back proves the models hold the log.
  const auto probe = api.get("/api/v1/vms/cold" + std::to_string(vms - 1));
  const int stopped = server.stop(SIGTERM);
  if (ready < 0 || probe.status != 200 || !WIFEXITED(stopped) || WEXITSTATUS(stopped) != 0) {
    std::printf("error: not ready (%.1f s), probe %u, stop status %d\n%s\n", ready, probe.status,
                stopped, server.stderr_tail().c_str());
    return 1;
  }
  std::printf("  qvdc serve: listening after %.2f s, ready (read models caught up) after %.2f s\n",
              listening, ready);
  std::printf("  same-run reference: raw RocksDB scan of the log %.2f s, the store's replay "
              "(decode) %.2f s\n",
              scan.seconds, replay);
  std::printf("  goal: serving < 5 s on 10 M events: %s\n",
              events < 10'000'000 ? "(not the goal's size)" : (ready < 5 ? "met" : "NOT met"));
  std::printf("RESULT cold_start_s=%.2f raw_scan_s=%.2f replay_s=%.2f events=%llu\n", ready,
              scan.seconds, replay, static_cast<unsigned long long>(events));
  return 0;
}
