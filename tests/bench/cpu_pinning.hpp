// cpu_pinning: keeps a load generator off the core of the server it measures, for the phases
// whose figure is a latency (a driver that shares a core with the server adds its own
// scheduling delay to every sample). Pins every thread of the server to the last CPU and
// every thread of this process to the others, and undoes both when it goes out of scope.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace qx::bench {

/// Sets the affinity of every thread of `pid` (sched_setaffinity on a pid reaches only that
/// one thread; threads made later inherit it from the thread that makes them). Counts the
/// threads it pinned; -1 when the process has gone.
inline int pin_all_threads(pid_t pid, const cpu_set_t& cpus) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks{"/proc/" + std::to_string(pid) + "/task", ec};
  if (ec)
    return -1;
  int pinned = 0;
  for (const auto& t : tasks) {
    const auto tid = static_cast<pid_t>(std::stol(t.path().filename().string()));
    if (sched_setaffinity(tid, sizeof cpus, &cpus) == 0)
      ++pinned;
  }
  return pinned;
}

/// Every online CPU.
inline cpu_set_t all_cpus() {
  cpu_set_t all;
  CPU_ZERO(&all);
  for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN); ++c)
    CPU_SET(static_cast<int>(c), &all);
  return all;
}

/// Lets the calling thread run on every online CPU again.
inline void unpin_self() {
  const auto all = all_cpus();
  sched_setaffinity(0, sizeof all, &all);
}

class pinned_apart {
 public:
  /// Pins `server` to the last online CPU and this process to the rest; with one CPU it pins
  /// nothing and says so.
  explicit pinned_apart(pid_t server) : server_(server), all_(all_cpus()) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2) {
      std::printf("    pinning: 1 CPU online, server and driver share it\n");
      return;
    }
    cpu_set_t server_cpu;
    cpu_set_t driver_cpus;
    CPU_ZERO(&server_cpu);
    CPU_ZERO(&driver_cpus);
    CPU_SET(static_cast<int>(n - 1), &server_cpu);
    for (long c = 0; c + 1 < n; ++c)
      CPU_SET(static_cast<int>(c), &driver_cpus);
    const int server_threads = pin_all_threads(server_, server_cpu);
    const int driver_threads = pin_all_threads(getpid(), driver_cpus);
    active_ = server_threads > 0 && driver_threads > 0;
    std::printf(
        "    pinning: server's %d threads on CPU %ld, this driver's %d threads on CPU 0-%ld "
        "(as `taskset -a -p`)\n",
        server_threads, n - 1, driver_threads, n - 2);
  }
  pinned_apart(const pinned_apart&) = delete;
  pinned_apart& operator=(const pinned_apart&) = delete;
  ~pinned_apart() {
    if (!active_)
      return;
    pin_all_threads(server_, all_);
    pin_all_threads(getpid(), all_);
  }

 private:
  pid_t server_;
  cpu_set_t all_;
  bool active_ = false;
};

} // namespace qx::bench
