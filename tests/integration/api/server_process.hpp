#pragma once

// `qvdc serve` as a child process: started with posix_spawn over a data directory, its port
// read from the line it prints on stdout, stopped with SIGTERM (clean) or SIGKILL (crash), and
// started again over the same directory. Its stderr goes to a file next to the data directory
// so that a failing test can show the end of it.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ; // NOLINT: POSIX

namespace qx::test {

class server_process {
 public:
  /// `data_dir` is created by the server; `stderr_path` is appended to across restarts.
  server_process(std::string data_dir, std::string stderr_path, std::vector<std::string> extra = {})
      : data_dir_(std::move(data_dir)), stderr_path_(std::move(stderr_path)),
        extra_(std::move(extra)) {}

  /// Any program that prints "listening on host:port" (qx-node, `qvdc serve` without the
  /// stand-in): `argv` is the whole command line.
  static std::unique_ptr<server_process> program(std::vector<std::string> argv,
                                                 std::string stderr_path) {
    auto p = std::make_unique<server_process>("", std::move(stderr_path));
    p->argv_ = std::move(argv);
    return p;
  }

  ~server_process() {
    if (pid_ > 0)
      stop(SIGKILL);
  }
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;

  /// Spawns the server and waits (up to `timeout`) for "listening on host:port".
  void start(std::chrono::seconds timeout = std::chrono::seconds{60}) {
    if (pid_ > 0)
      throw std::runtime_error("qvdc is running already");
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    std::vector<std::string> args = argv_;
    if (args.empty()) {
      args = {QX_QVDC_PATH,
              "serve",
              "--listen",
              "127.0.0.1:0",
              "--data-dir",
              data_dir_,
              "--hypervisor-stand-in",
              "--no-auth"};
      args.insert(args.end(), extra_.begin(), extra_.end());
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      throw std::runtime_error("posix_spawn " + args[0] + " failed: " + std::to_string(rc));
    }
    pid_ = pid;
    stdout_fd_ = out[0];
    port_ = read_port(timeout);
  }

  /// The next line the program prints on stdout ("" after `timeout`).
  std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0)
        continue;
      char c = 0;
      if (read(stdout_fd_, &c, 1) <= 0)
        break;
      if (c == '\n')
        return line;
      line += c;
    }
    return line;
  }

  /// Sends `sig` and reaps the child (SIGKILL after 30 s). Returns the wait status.
  int stop(int sig = SIGTERM) {
    if (pid_ <= 0)
      return -1;
    kill(pid_, sig);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    for (;;) {
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR))
        break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    pid_ = -1;
    if (stdout_fd_ >= 0)
      close(stdout_fd_);
    stdout_fd_ = -1;
    return status;
  }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(port_); }

  /// The last `bytes` of what the server wrote to stderr.
  [[nodiscard]] std::string stderr_tail(std::size_t bytes = 4000) const {
    std::ifstream in{stderr_path_};
    std::stringstream ss;
    ss << in.rdbuf();
    auto s = ss.str();
    return s.size() > bytes ? s.substr(s.size() - bytes) : s;
  }

 private:
  std::uint16_t read_port(std::chrono::seconds timeout) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0)
        fail("qvdc did not say where it listens within the timeout");
      pollfd p{stdout_fd_, POLLIN, 0};
      const int n = poll(&p, 1, static_cast<int>(left));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        continue;
      char c = 0;
      const auto r = read(stdout_fd_, &c, 1);
      if (r <= 0)
        fail("qvdc exited before listening");
      if (c != '\n') {
        line += c;
        continue;
      }
      const std::string marker = "listening on ";
      const auto at = line.find(marker);
      const auto colon = line.rfind(':');
      if (at == std::string::npos || colon == std::string::npos) {
        line.clear();
        continue;
      }
      return static_cast<std::uint16_t>(std::stoul(line.substr(colon + 1)));
    }
  }

  [[noreturn]] void fail(const std::string& what) {
    stop(SIGKILL);
    throw std::runtime_error(what + "; stderr:\n" + stderr_tail());
  }

  std::string data_dir_;
  std::string stderr_path_;
  std::vector<std::string> extra_;
  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::uint16_t port_ = 0;
};

} // namespace qx::test
