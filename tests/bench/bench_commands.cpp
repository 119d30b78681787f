// bench_commands: commands/s end to end (command -> directory -> aggregate actor -> durable
// append in RocksDB -> reply) for 100, 10k and 100k VM aggregates at concurrency 1, 64 and
// 1024; resident memory per idle VM aggregate; activation time from a snapshot vs from a
// full replay. Last line: RESULT commands_per_s=<n> bytes_per_idle_vm=<b>
// (commands_per_s: 100k aggregates, concurrency 1024).
//
// usage: bench_commands [--quick]
// environment: QX_CAF_POLICY=stealing|sharing (CAF scheduler), QX_CAF_THREADS=N (default 2)
#include <qx/actors/directory.hpp>
#include <qx/actors/message_types.hpp>
#include <qx/events/rocksdb_store.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

using namespace qx;
using namespace qx::actors;
namespace vm = qx::domain::vm;
using clock_type = std::chrono::steady_clock;

namespace {

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

long rss_bytes() {
  std::ifstream in{"/proc/self/statm"};
  long pages = 0;
  long resident = 0;
  in >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

std::string vm_id(const std::string& prefix, std::size_t i) {
  return prefix + std::to_string(i);
}

using make_command = std::function<vm::command(std::size_t)>;

/// Sends `total` commands over ids [0, n) with `concurrency` in flight; returns commands/s, or
/// nullopt when any command was refused or failed (printed): failed work is never a figure.
std::optional<double> drive(caf::actor_system& sys, const directory_actor<vm_aggregate>& dir,
                            const std::string& prefix, std::size_t n, std::size_t concurrency,
                            std::size_t total, const make_command& make) {
  std::promise<std::pair<std::size_t, std::string>> done;
  auto finished = done.get_future();
  const auto started = clock_type::now();
  sys.spawn(
      [&, dir](caf::event_based_actor* self, int /*unused, see tests/README.md*/) {
        struct counters {
          std::size_t sent = 0;
          std::size_t answered = 0;
          std::size_t failed = 0;
          std::string first_error;
        };
        auto c = std::make_shared<counters>();
        auto send_next = std::make_shared<std::function<void()>>();
        *send_next = [=, &done]() {
          if (c->sent == total)
            return;
          const auto i = c->sent++;
          self->request(dir, caf::infinite,
                        command_request<vm_aggregate>{
                            vm_id(prefix, i % n), make(i), {"bench", "", "", "", {}}})
              .then([=, &done](command_outcome& r) {
                if (!r && c->failed++ == 0)
                  c->first_error = r.error().to_string();
                if (++c->answered == total) {
                  *send_next = nullptr; // break the closure's reference to itself
                  done.set_value({c->failed, c->first_error});
                } else {
                  (*send_next)();
                }
              });
        };
        for (std::size_t k = 0; k < std::min(concurrency, total); ++k)
          (*send_next)();
      },
      0);
  const auto [failed, first_error] = finished.get();
  const auto secs = std::chrono::duration<double>(clock_type::now() - started).count();
  if (failed > 0) {
    std::printf("error: %zu of %zu commands failed; the first: %s\n", failed, total,
                first_error.c_str());
    return std::nullopt;
  }
  return static_cast<double>(total) / secs;
}

events::v1::VmSpec spec() {
  events::v1::VmSpec s;
  s.set_name("bench");
  s.set_vcpus(2);
  s.set_memory_mib(2048);
  return s;
}

/// Creates, starts and confirms `n` running VMs named prefix0 .. prefix<n-1>; false on a
/// failed command (printed).
bool populate(caf::actor_system& sys, const directory_actor<vm_aggregate>& dir,
              const std::string& prefix, std::size_t n) {
  return drive(sys, dir, prefix, n, 1024, n,
               [](std::size_t) { return vm::command{vm::create{spec()}}; }) &&
         drive(sys, dir, prefix, n, 1024, n,
               [](std::size_t) { return vm::command{vm::start{"node-1"}}; }) &&
         drive(sys, dir, prefix, n, 1024, n,
               [](std::size_t) { return vm::command{vm::confirm_running{}}; });
}

/// Activates ids prefix0 .. prefix<n-1> with a read each, 1024 in flight.
void activate_all(caf::actor_system& sys, const directory_actor<vm_aggregate>& dir,
                  const std::string& prefix, std::size_t n) {
  std::promise<void> done;
  auto finished = done.get_future();
  sys.spawn(
      [&, dir](caf::event_based_actor* self, int /*unused, see tests/README.md*/) {
        auto sent = std::make_shared<std::size_t>(0);
        auto answered = std::make_shared<std::size_t>(0);
        auto next = std::make_shared<std::function<void()>>();
        *next = [=, &done]() {
          if (*sent == n)
            return;
          const auto i = (*sent)++;
          self->request(dir, caf::infinite, get_atom::value, vm_id(prefix, i))
              .then([=, &done](state_outcome<vm_aggregate>&) {
                if (++*answered == n) {
                  *next = nullptr; // break the closure's reference to itself
                  done.set_value();
                } else {
                  (*next)();
                }
              });
        };
        for (std::size_t k = 0; k < std::min<std::size_t>(1024, n); ++k)
          (*next)();
      },
      0);
  finished.get();
}

directory_stats stats(caf::actor_system& sys, const directory_actor<vm_aggregate>& dir) {
  caf::scoped_actor self{sys};
  directory_stats out;
  self->request(dir, caf::infinite, stats_atom::value)
      .receive([&](directory_stats& s) { out = s; }, [](caf::error&) {});
  return out;
}

/// Mean time to activate `count` aggregates (a get on each), in microseconds.
double activation_us(caf::actor_system& sys, const directory_actor<vm_aggregate>& dir,
                     const std::string& prefix, std::size_t count) {
  caf::scoped_actor self{sys};
  const auto started = clock_type::now();
  for (std::size_t i = 0; i < count; ++i)
    self->request(dir, caf::infinite, get_atom::value, vm_id(prefix, i))
        .receive([](state_outcome<vm_aggregate>&) {}, [](caf::error&) {});
  return std::chrono::duration<double, std::micro>(clock_type::now() - started).count() /
         static_cast<double>(count);
}

} // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  caf::actor_system_config cfg;
  // The machine has 2 cores; the store's writer thread runs beside the scheduler's threads.
  std::size_t threads = 2;
  if (const char* t = std::getenv("QX_CAF_THREADS"))
    threads = std::strtoul(t, nullptr, 10);
  cfg.set("scheduler.max-threads", threads);
  if (const char* policy = std::getenv("QX_CAF_POLICY"))
    cfg.set("scheduler.policy", caf::atom_from_string(policy));
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  temp_dir dir;
  events::rocksdb_store_options opts;
  opts.path = dir.path + "/db";
  auto store = events::open_rocksdb_store(opts);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().to_string().c_str());
    return 1;
  }
  directory_config dcfg;
  dcfg.idle_timeout = std::chrono::hours{1};
  std::printf("bench_commands: VM aggregates over the RocksDB store (synced group commit), "
              "%s run, 2 scheduler threads\n",
              quick ? "quick" : "default");
  std::printf("%10s %12s %14s\n", "aggregates", "concurrency", "commands/s");
  const std::vector<std::size_t> sizes =
      quick ? std::vector<std::size_t>{100, 1000} : std::vector<std::size_t>{100, 10'000, 100'000};
  const std::vector<std::size_t> concurrencies = {1, 64, 1024};
  double headline = 0;
  long bytes_per_idle = 0;
  for (auto n : sizes) {
    // A fresh directory per size.
    auto vms = spawn_directory<vm_aggregate>(sys, **store, dcfg);
    const auto prefix = "size" + std::to_string(n) + "-";
    if (!populate(sys, vms, prefix, n))
      return 1;
    for (auto c : concurrencies) {
      const std::size_t total =
          c == 1 ? (quick ? 200 : 2'000) : (quick ? 2'000 : std::max<std::size_t>(50'000, n));
      const auto rate = drive(sys, vms, prefix, n, c, total,
                              [](std::size_t) { return vm::command{vm::reboot{}}; });
      if (!rate)
        return 1;
      std::printf("%10zu %12zu %14.0f\n", n, c, *rate);
      std::fflush(stdout);
      if (n == sizes.back() && c == 1024)
        headline = *rate;
    }
    // Memory: a fresh directory activates every aggregate by reading it (no writes, so the
    // log's memtables do not grow); the RSS growth over the count is the cost of an idle one.
    caf::anon_send_exit(vms, caf::exit_reason::user_shutdown);
    vms = spawn_directory<vm_aggregate>(sys, **store, dcfg);
    const auto warm = std::min<std::size_t>(n / 10, 1000);
    activate_all(sys, vms, prefix, warm); // warm the block cache and the allocator
    const auto rss_before = rss_bytes();
    activate_all(sys, vms, prefix, n);
    const auto rss_after = rss_bytes();
    const auto active = stats(sys, vms).active;
    const auto per_vm =
        (rss_after - rss_before) / static_cast<long>(std::max<std::size_t>(active - warm, 1));
    std::printf("%10zu aggregates resident and idle: %ld bytes each (%zu active)\n", n, per_vm,
                active);
    if (n == sizes.back())
      bytes_per_idle = per_vm;
    caf::anon_send_exit(vms, caf::exit_reason::user_shutdown);
  }

  // Activation: VMs with a long history, loaded by a fresh directory, once with snapshots
  // (one every 64 events) and once without any.
  const std::size_t history = quick ? 100 : 1000;
  const std::size_t count = quick ? 20 : 200;
  auto activation = [&](const std::string& prefix, std::uint64_t snapshot_every) {
    directory_config c = dcfg;
    c.snapshot_every = snapshot_every;
    auto writer = spawn_directory<vm_aggregate>(sys, **store, c);
    if (!populate(sys, writer, prefix, count) ||
        !drive(sys, writer, prefix, count, 256, count * history,
               [](std::size_t) { return vm::command{vm::reboot{}}; }))
      return -1.0;
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
    auto reader = spawn_directory<vm_aggregate>(sys, **store, c);
    const auto us = activation_us(sys, reader, prefix, count);
    caf::anon_send_exit(reader, caf::exit_reason::user_shutdown);
    return us;
  };
  const auto from_snapshot = activation("snap-", 64);
  const auto from_replay = activation("full-", 0);
  if (from_snapshot < 0 || from_replay < 0)
    return 1;
  std::printf("activation of a VM with %zu events: %.1f us from snapshot + tail, %.1f us from "
              "full replay (%.1fx)\n",
              history + 3, from_snapshot, from_replay, from_replay / from_snapshot);
  std::printf("RESULT commands_per_s=%.0f bytes_per_idle_vm=%ld\n", headline, bytes_per_idle);
}
