// Real processes, real SIGKILL: nothing acknowledged is lost, nothing torn is kept.
#include "temp_dir.hpp"

#include <qx/events/rocksdb_store.hpp>
#include <qx/events/verify.hpp>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace qx::events;

namespace {

struct ack {
  std::uint64_t position;
  std::string stream;
  std::uint64_t version;
};

/// Starts the child with its stdout on a pipe; returns pid and the read end.
std::pair<pid_t, int> spawn_child(const std::string& dir, int streams, std::uint64_t seed) {
  int fds[2];
  if (pipe(fds) != 0)
    return {-1, -1};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    const auto streams_arg = std::to_string(streams);
    const auto seed_arg = std::to_string(seed);
    execl(QX_CRASH_CHILD, QX_CRASH_CHILD, dir.c_str(), streams_arg.c_str(), seed_arg.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

/// Reads whole lines from `fd`; `on_line` returns false to stop reading early.
template<class F>
void read_lines(int fd, std::string& buffer, F&& on_line) {
  char chunk[4096];
  for (;;) {
    auto nl = buffer.find('\n');
    while (nl != std::string::npos) {
      auto line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (!on_line(line))
        return;
      nl = buffer.find('\n');
    }
    const auto n = read(fd, chunk, sizeof chunk);
    if (n <= 0)
      return;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
}

int crash_runs() {
  if (const char* env = std::getenv("QX_CRASH_RUNS"))
    return std::max(1, std::atoi(env));
  return 20;
}

TEST(crash, sigkill_at_a_random_moment_loses_no_acknowledged_event) {
  const auto base_seed =
      static_cast<std::uint64_t>(::testing::UnitTest::GetInstance()->random_seed());
  std::mt19937_64 rng{base_seed};
  const int runs = crash_runs();
  std::uint64_t total_acks = 0;
  qx::test::temp_dir dir;
  const auto db = dir.sub("db");
  for (int run = 0; run < runs; ++run) {
    SCOPED_TRACE("run " + std::to_string(run) + " (gtest seed " + std::to_string(base_seed) + ")");
    // Every run reopens the same store: each crash lands on a log that earlier crashes grew.
    const int streams = 8 + static_cast<int>(rng() % 9);
    const auto kill_after = 1 + rng() % 1500; // acknowledged events before the kill
    auto [pid, fd] = spawn_child(db, streams, rng());
    ASSERT_GT(pid, 0);
    std::vector<ack> acks;
    std::string buffer;
    bool ready = false;
    read_lines(fd, buffer, [&](const std::string& line) {
      if (line == "READY") {
        ready = true;
        return true;
      }
      std::istringstream in{line};
      std::string tag;
      ack a{};
      in >> tag >> a.position >> a.stream >> a.version;
      EXPECT_EQ(tag, "ACK") << line;
      acks.push_back(a);
      return acks.size() < kill_after;
    });
    ASSERT_TRUE(ready) << "the child did not open the store";
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    // Lines written before the kill were acknowledged too: drain them.
    read_lines(fd, buffer, [&](const std::string& line) {
      std::istringstream in{line};
      std::string tag;
      ack a{};
      in >> tag >> a.position >> a.stream >> a.version;
      if (tag == "ACK")
        acks.push_back(a);
      return true;
    });
    close(fd);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the child exited by itself";
    ASSERT_FALSE(acks.empty());
    total_acks += acks.size();

    rocksdb_store_options opts;
    opts.path = db;
    auto store = open_rocksdb_store(opts); // checks the tail of the chain on open
    ASSERT_TRUE(store) << store.error().to_string();
    auto report = verify_log(**store);
    ASSERT_TRUE(report) << report.error().to_string();
    ASSERT_TRUE(report->ok) << "break at " << report->break_position.value_or(0) << ": "
                            << report->problem;
    EXPECT_EQ(report->last_position, (*store)->head().position);
    for (const auto& a : acks) {
      auto ev = (*store)->read_all(a.position, 1);
      ASSERT_TRUE(ev);
      ASSERT_EQ(ev->size(), 1U) << "acknowledged position " << a.position << " is missing";
      EXPECT_EQ(ev->front().position, a.position);
      EXPECT_EQ(ev->front().stream, a.stream);
      EXPECT_EQ(ev->front().version, a.version);
    }
    // Multi-event appends are all or nothing: every stream's versions are 1..head with no hole.
    for (int s = 0; s < streams; ++s) {
      const auto stream = "crash-" + std::to_string(s);
      auto events = (*store)->read_stream(stream, 1, 1'000'000);
      ASSERT_TRUE(events);
      for (std::size_t i = 0; i < events->size(); ++i) {
        ASSERT_EQ((*events)[i].version, i + 1) << stream;
      }
      EXPECT_EQ(events->size(), *(*store)->stream_version(stream));
    }
  }
  std::cout << "crash runs: " << runs << ", acknowledged events checked: " << total_acks << "\n";
}

} // namespace
