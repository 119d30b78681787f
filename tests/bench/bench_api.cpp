// bench_api: the REST/WebSocket server `qvdc serve` end to end, each figure beside a same-run
// reference. Starts `qvdc serve --listen 127.0.0.1:0 --data-dir <fresh temp dir>` as a child,
// then measures:
//   1. GET /api/v1/vms/{id} under `wrk -t2 -c32 -d<secs>s`, against nginx serving a static file
//      of the same byte size under the same wrk command (get_ratio = qvdc / nginx);
//   2. mutating latency at a fixed rate from an open-loop client (keep-alive connections; the
//      latency is measured from each request's scheduled send time, so a slow server cannot
//      slow the client down and hide its own delay): VM creates alternating with deletes of
//      VMs already created; reference: GETs at the same rate;
//   3. WebSocket fan-out: N watchers on /api/v1/watch?from=now while the driver appends events
//      at a fixed rate with VM creates; append->receive latency per frame (from the write's send
//      time, matched by the event's stream and version), missing and duplicate frames, and the
//      server's resident memory per idle watcher; reference: the writes' own reply latency.
//   4. with authentication on (a second server): the same GET with a bearer token and the same
//      writes (each also audited); reference: phases 1 and 2 of the same run (auth_get_ratio).
//   5. DRS inside a third server (stand-in hosts, 64 nodes / 8,000 VMs): each pass's compute
//      time, and GET p99 while the passes run; reference: the same GETs before DRS is on.
// Phases 2, 3, 4's writes and 5 report latencies: during them the server's threads run on the
// last CPU and this driver's on the others (cpu_pinning.hpp, as `taskset -a -p`).
// Last line: RESULT get_ratio=<x> get_per_s=<n> nginx_per_s=<m> write_p99_ms=<w> watch_p99_ms=<v>
//            auth_get_ratio=<a> auth_write_p99_ms=<b> drs_pass_ms=<p> drs_get_p99_ms=<q>
//
// usage: bench_api [--quick] [--qvdc PATH] [--seconds N] [--watchers=100,1000] [--rate W]
//                  [--write-seconds S] [--event-rate E] [--watch-seconds S] [--connections C]
//                  [--nginx-workers K] [--timeout S] [--keep-temp] [--beast-watchers]
//                  [--only-drs]
// Needs wrk on PATH and /usr/sbin/nginx (Debian nginx-light): exits 2 when either is missing.
#include "cpu_pinning.hpp"
#include "shell_command.hpp"

#include <utility> // before Boost.Asio: boost/asio/awaitable.hpp needs it with C++20 + Boost 1.74

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef QX_QVDC_PATH
#define QX_QVDC_PATH "qvdc"
#endif

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr int exit_missing_tool = 2;
constexpr const char* nginx_path = "/usr/sbin/nginx";

// ------------------------------------------------------------------------------------------
// Options

struct options {
  std::string qvdc = QX_QVDC_PATH;
  int seconds = 5;    // per wrk run
  bool quick = false; // CI smoke: 1 s wrk, 10 watchers, 1 s phases
  std::vector<int> watchers = {100, 1000};
  double rate = 200;         // writes/s in the mutating-latency phase
  double write_seconds = 10; // length of that phase
  double event_rate = 500;   // events/s appended in the fan-out phase
  double watch_seconds = 3;  // length of each fan-out run
  int connections = 32;      // keep-alive connections of the open-loop client
  int nginx_workers = 2;     // >1: master + K workers (nginx "auto" here); 1: one process
  int timeout = 0;           // watchdog in seconds (0: derived from the other options)
  bool keep_temp = false;
  bool beast_watchers = false; // Beast's websocket::stream instead of the lean frame reader
  int batch = 100; // batch=N of the extra fan-out run with the most watchers (1: no such run)
  int batch_window_ms = -1; // the server's --watch-batch-window-ms (-1: its default)
  bool only_drs = false;    // --only-drs: phase [5] alone
};

void usage() {
  std::fprintf(stderr,
               "usage: bench_api [--quick] [--qvdc PATH] [--seconds N] [--watchers=100,1000]\n"
               "                 [--rate W] [--write-seconds S] [--event-rate E]\n"
               "                 [--watch-seconds S] [--connections C] [--nginx-workers K]\n"
               "                 [--timeout S] [--keep-temp] [--beast-watchers] [--batch N]\n"
               "                 [--batch-window MS] [--only-drs]\n");
}

std::vector<int> parse_int_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream in{s};
  std::string item;
  while (std::getline(in, item, ','))
    out.push_back(std::stoi(item));
  return out;
}

void apply_option(options& o, const std::string& name, const std::string& value) {
  if (name == "--qvdc")
    o.qvdc = value;
  else if (name == "--seconds")
    o.seconds = std::stoi(value);
  else if (name == "--watchers")
    o.watchers = parse_int_list(value);
  else if (name == "--rate")
    o.rate = std::stod(value);
  else if (name == "--write-seconds")
    o.write_seconds = std::stod(value);
  else if (name == "--event-rate")
    o.event_rate = std::stod(value);
  else if (name == "--watch-seconds")
    o.watch_seconds = std::stod(value);
  else if (name == "--connections")
    o.connections = std::stoi(value);
  else if (name == "--nginx-workers")
    o.nginx_workers = std::stoi(value);
  else if (name == "--timeout")
    o.timeout = std::stoi(value);
  else if (name == "--batch")
    o.batch = std::stoi(value);
  else if (name == "--batch-window")
    o.batch_window_ms = std::stoi(value);
  else
    throw std::invalid_argument("unknown option " + name);
}

/// --quick first sets the small defaults; explicit flags then override them.
std::optional<options> parse_options(int argc, char** argv) {
  options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (std::find(args.begin(), args.end(), "--quick") != args.end()) {
    o.quick = true;
    o.seconds = 1;
    o.watchers = {10};
    o.write_seconds = 1;
    o.watch_seconds = 1;
  }
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const auto& a = args[i];
      if (a == "--quick")
        continue;
      if (a == "--keep-temp") {
        o.keep_temp = true;
        continue;
      }
      if (a == "--beast-watchers") {
        o.beast_watchers = true;
        continue;
      }
      if (a == "--only-drs") {
        o.only_drs = true;
        continue;
      }
      if (a == "--help" || a == "-h")
        return std::nullopt;
      const auto eq = a.find('=');
      if (eq != std::string::npos)
        apply_option(o, a.substr(0, eq), a.substr(eq + 1));
      else if (i + 1 < args.size())
        apply_option(o, a, args[++i]);
      else
        throw std::invalid_argument("missing value for " + a);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_api: %s\n", e.what());
    return std::nullopt;
  }
  if (o.watchers.empty() || o.rate <= 0 || o.event_rate <= 0 || o.seconds <= 0 ||
      o.connections <= 0 || o.batch < 1 || o.batch > 1000)
    return std::nullopt;
  return o;
}

// ------------------------------------------------------------------------------------------
// Small utilities

struct temp_dir {
  temp_dir() {
    auto tmpl = (std::filesystem::temp_directory_path() / "qx-bench-api-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      std::abort();
    path = tmpl;
  }
  ~temp_dir() {
    if (keep) {
      std::printf("kept %s\n", path.c_str());
      return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string path;
  bool keep = false;
};

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct percentiles {
  double p50 = inf;
  double p99 = inf;
  double max = inf;
  std::size_t count = 0;
};

/// Nearest-rank percentiles; infinite entries stand for requests or frames never answered.
percentiles percentiles_of(std::vector<double> v) {
  percentiles p;
  p.count = v.size();
  if (v.empty())
    return p;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
  };
  p.p50 = rank(0.50);
  p.p99 = rank(0.99);
  p.max = v.back();
  return p;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail(const std::string& text, std::size_t max_chars) {
  return text.size() <= max_chars ? text : "..." + text.substr(text.size() - max_chars);
}

/// Resident set size of a process in KiB (VmRSS from /proc/<pid>/status), -1 when unknown.
long rss_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

/// A loopback port that was free a moment ago (bind to port 0, read it back, close).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

/// Raises the soft descriptor limit (children inherit it) to cover `needed` descriptors.
void raise_nofile(rlim_t needed) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < needed)
    lim.rlim_max = needed; // works as root; otherwise the next call fails and we warn
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < needed)
    std::fprintf(stderr, "warning: could not raise RLIMIT_NOFILE to %lu\n",
                 static_cast<unsigned long>(needed));
}

bool on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream in{path != nullptr ? path : "/usr/bin:/bin"};
  std::string dir;
  while (std::getline(in, dir, ':'))
    if (!dir.empty() && access((dir + "/" + name).c_str(), X_OK) == 0)
      return true;
  return false;
}

/// The first three fields of /proc/loadavg: other work on the 2 cores skews every figure.
std::string load_average() {
  std::ifstream in{"/proc/loadavg"};
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// CPU time (user + system) a process has used so far, in seconds; -1 when unknown.
double process_cpu_seconds(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text;
  std::getline(in, text);
  const auto close_paren = text.rfind(')');
  if (close_paren == std::string::npos)
    return -1;
  std::stringstream fields{text.substr(close_paren + 2)};
  std::string skip;
  for (int i = 3; i < 14; ++i) // fields 3..13 come before utime (14) and stime (15)
    fields >> skip;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string fmt_ms(double v) {
  if (std::isinf(v))
    return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// ------------------------------------------------------------------------------------------
// Child processes (the server, nginx), with a watchdog that kills them if the run hangs

std::atomic<pid_t> g_server_pid{0};
std::atomic<pid_t> g_nginx_pid{0};

extern "C" void on_fatal_signal(int sig) {
  const char msg[] = "\nbench_api: watchdog or signal: killing the children and exiting\n";
  [[maybe_unused]] auto n = write(STDERR_FILENO, msg, sizeof msg - 1);
  if (const pid_t p = g_server_pid.load(); p > 0)
    kill(p, SIGKILL);
  if (const pid_t p = g_nginx_pid.load(); p > 0)
    kill(p, SIGKILL);
  _exit(sig == SIGALRM ? 1 : 128 + sig);
}

void install_watchdog(int seconds) {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGALRM, on_fatal_signal);
  std::signal(SIGINT, on_fatal_signal);
  std::signal(SIGTERM, on_fatal_signal);
  alarm(static_cast<unsigned>(seconds));
}

struct child {
  pid_t pid = -1;
  int out_fd = -1; // the child's stdout when captured, else -1
};

/// fork + exec; the child's stderr goes to `stderr_path`, its stdout to a pipe when
/// `capture_stdout`, else to the same file. The child dies with us (PR_SET_PDEATHSIG).
child spawn(const std::vector<std::string>& argv, const std::string& stderr_path,
            bool capture_stdout) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int pipe_fds[2] = {-1, -1};
  if (capture_stdout && pipe2(pipe_fds, O_CLOEXEC) != 0)
    return {};
  const int err_fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    qx::bench::unpin_self(); // a child never inherits a pinned driver's cores
    dup2(capture_stdout ? pipe_fds[1] : err_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(err_fd);
  if (capture_stdout)
    close(pipe_fds[1]);
  return {pid, capture_stdout ? pipe_fds[0] : -1};
}

/// SIGTERM, then SIGKILL after 5 s; describes how the process ended.
std::string terminate(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  const auto deadline = clock_type::now() + 5s;
  while (clock_type::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (WIFEXITED(status))
        return "exited with status " + std::to_string(WEXITSTATUS(status)) + " after SIGTERM";
      return "ended by signal " + std::to_string(WTERMSIG(status)) + " after SIGTERM";
    }
    std::this_thread::sleep_for(20ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return "did NOT exit within 5 s of SIGTERM: killed with SIGKILL";
}

// ------------------------------------------------------------------------------------------
// The server under test

constexpr const char* bench_admin_password = "bench-admin-password-1";

class server_process {
 public:
  server_process() = default;
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;
  ~server_process() {
    if (pid_ > 0)
      stop();
  }

  /// Starts `qvdc serve` and waits up to 30 s for its "listening on" line.
  /// With `auth` the server authenticates every request (its first admin's password is
  /// written to <dir>/admin-password) and has no rate limit; without, it runs --no-auth.
  bool start(const std::string& qvdc, const std::string& dir,
             const std::vector<std::string>& extra = {}, bool auth = false) {
    log_path_ = dir + "/server.log";
    std::filesystem::create_directories(dir + "/data");
    std::vector<std::string> args{qvdc,          "serve",      "--listen",
                                  "127.0.0.1:0", "--data-dir", dir + "/data"};
    if (auth) {
      std::ofstream{dir + "/admin-password"} << bench_admin_password << "\n";
      args.insert(args.end(),
                  {"--admin-password-file", dir + "/admin-password", "--rate-limit", "0"});
    } else {
      args.emplace_back("--no-auth");
    }
    args.insert(args.end(), extra.begin(), extra.end());
    auto c = spawn(args, log_path_, true);
    if (c.pid <= 0)
      return false;
    pid_ = c.pid;
    g_server_pid = pid_;
    fd_ = c.out_fd;
    port_ = wait_for_port();
    if (port_ <= 0)
      return false;
    drain_ = std::thread([this] { drain_stdout(); });
    return true;
  }

  std::string stop() {
    const auto how = terminate(pid_);
    g_server_pid = 0;
    pid_ = -1;
    if (drain_.joinable())
      drain_.join();
    if (fd_ >= 0)
      close(fd_);
    fd_ = -1;
    return how;
  }

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string stdout_seen() const { return stdout_text_; }
  std::string log_tail() const { return tail(read_file(log_path_), 3000); }

 private:
  int wait_for_port() {
    const auto deadline = clock_type::now() + 30s;
    std::string pending;
    while (clock_type::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0)
        continue;
      char buf[4096];
      const auto n = read(fd_, buf, sizeof buf);
      if (n <= 0)
        return -1; // the server exited (or closed its stdout) before listening
      stdout_text_.append(buf, static_cast<std::size_t>(n));
      pending.append(buf, static_cast<std::size_t>(n));
      if (const int port = port_from(pending); port > 0)
        return port;
    }
    return -1;
  }

  /// Parses `qvdc serve: listening on 127.0.0.1:<port>` from the complete lines of `text`.
  static int port_from(const std::string& text) {
    std::stringstream in{text};
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof())
        break; // an incomplete last line
      if (line.find("qvdc serve: listening on ") == std::string::npos)
        continue;
      const auto colon = line.rfind(':');
      return std::atoi(line.c_str() + colon + 1);
    }
    return -1;
  }

  /// Keeps reading the server's stdout so a chatty server never blocks on a full pipe.
  void drain_stdout() {
    char buf[4096];
    while (read(fd_, buf, sizeof buf) > 0) {
    }
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  int port_ = -1;
  std::string log_path_;
  std::string stdout_text_;
  std::thread drain_;
};

// ------------------------------------------------------------------------------------------
// A synchronous HTTP client for setup steps and probes

struct reply {
  unsigned status = 0; // 0: transport error
  std::string body;
  std::string error;
};

/// "Bearer <token>" while phase [4] measures the server with authentication on; "" otherwise.
std::string g_authorization; // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

http::request<http::string_body> make_request(http::verb verb, const std::string& target, int port,
                                              const std::string& body = {}) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::user_agent, "bench_api");
  if (!g_authorization.empty())
    req.set(http::field::authorization, g_authorization);
  req.keep_alive(true);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  return req;
}

class sync_client {
 public:
  explicit sync_client(int port) : port_(port), socket_(io_) {}

  reply send(http::verb verb, const std::string& target, const std::string& body = {}) {
    reply out;
    try {
      if (!open_) {
        socket_.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
        open_ = true;
      }
      auto req = make_request(verb, target, port_, body);
      http::write(socket_, req);
      http::response<http::string_body> res;
      http::read(socket_, buffer_, res);
      out.status = res.result_int();
      out.body = std::move(res.body());
      if (res.need_eof())
        reset();
    } catch (const std::exception& e) {
      out.error = e.what();
      reset();
    }
    return out;
  }

 private:
  void reset() {
    boost::system::error_code ec;
    socket_.close(ec);
    socket_ = tcp::socket(io_);
    buffer_.clear();
    open_ = false;
  }

  int port_;
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  bool open_ = false;
};

/// GET `target` until it answers `want` (or the deadline passes).
bool wait_for_status(int port, const std::string& target, unsigned want,
                     std::chrono::milliseconds within) {
  const auto deadline = clock_type::now() + within;
  while (clock_type::now() < deadline) {
    sync_client c{port};
    if (c.send(http::verb::get, target).status == want)
      return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::string vm_create_body(const std::string& id, const std::string& name) {
  json body = {{"spec", {{"name", name}, {"vcpus", 1}, {"memoryMib", 512}}}};
  if (!id.empty())
    body["id"] = id;
  return body.dump();
}

// ------------------------------------------------------------------------------------------
// wrk and the nginx reference

struct wrk_result {
  double per_s = -1;
  long non_2xx = 0;
  std::string socket_errors;
  std::string output;
  std::string command;
};

wrk_result parse_wrk(std::string output) {
  wrk_result r;
  std::stringstream in{output};
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(' ');
    const auto l = first == std::string::npos ? std::string{} : line.substr(first);
    if (l.rfind("Requests/sec:", 0) == 0)
      r.per_s = std::strtod(l.c_str() + 13, nullptr);
    else if (l.rfind("Non-2xx or 3xx responses:", 0) == 0)
      r.non_2xx = std::strtol(l.c_str() + 25, nullptr, 10);
    else if (l.rfind("Socket errors:", 0) == 0)
      r.socket_errors = l;
  }
  r.output = std::move(output);
  return r;
}

/// A wrk script that asks for each of `paths` in turn (each wrk thread from its own start), so
/// a figure is never the speed of one cached answer.
std::string write_paths_script(const std::string& file, const std::vector<std::string>& paths) {
  std::ofstream out{file};
  out << "local paths = {";
  for (const auto& p : paths)
    out << "\"" << p << "\",";
  out << "}\nlocal i = math.random(#paths)\n"
         "request = function()\n  i = i % #paths + 1\n"
         "  return wrk.format(\"GET\", paths[i])\nend\n";
  return file;
}

wrk_result run_wrk(const std::string& url, int seconds, const std::string& authorization = {},
                   const std::string& script = {}) {
  auto command = "wrk -t2 -c32 -d" + std::to_string(seconds) + "s " + url;
  if (!authorization.empty())
    command += " -H 'Authorization: " + authorization + "'";
  if (!script.empty())
    command += " -s " + script;
  auto r = parse_wrk(qx::test::run_shell(command + " 2>&1").out);
  r.command = command;
  return r;
}

/// A usable throughput figure: wrk printed one and every answer was 2xx. A refusal (401, 404,
/// 429, ...) is failed work, never throughput: the run is an error.
bool wrk_usable(const wrk_result& r, const char* who) {
  if (r.per_s <= 0) {
    std::printf("error: wrk against %s printed no Requests/sec:\n%s\n", who, r.output.c_str());
    return false;
  }
  if (r.non_2xx > 0) {
    std::printf("error: %s answered %ld non-2xx responses during wrk: not a throughput\n%s\n", who,
                r.non_2xx, r.output.c_str());
    return false;
  }
  if (!r.socket_errors.empty())
    std::printf("note: wrk against %s: %s\n", who, r.socket_errors.c_str());
  return true;
}

std::string nginx_config(const std::string& dir, int port, int workers) {
  std::string c;
  c += "daemon off;\n";
  c += workers > 1 ? "master_process on;\n" : "master_process off;\n";
  c += "worker_processes " + std::to_string(std::max(workers, 1)) + ";\n";
  if (geteuid() == 0)
    c += "user root;\n"; // workers must read the 0700 temp dir
  c += "pid " + dir + "/nginx.pid;\n";
  c += "error_log " + dir + "/error.log warn;\n";
  c += "events { worker_connections 4096; }\n";
  c += "http {\n  access_log off;\n  sendfile on;\n  keepalive_requests 1000000;\n";
  c += "  default_type application/json;\n";
  for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    c += std::string{"  "} + t + "_temp_path " + dir + "/tmp_" + t + ";\n";
  c += "  server {\n    listen 127.0.0.1:" + std::to_string(port) + ";\n";
  c += "    root " + dir + "/www;\n  }\n}\n";
  return c;
}

/// Serves each of `bodies` as a static file from nginx (vm-<i>.json) and runs the same wrk
/// command against them, in turn as the qvdc run asks for its VMs.
std::optional<wrk_result> nginx_reference(const std::string& base,
                                          const std::vector<std::string>& bodies, int seconds,
                                          int workers) {
  const auto dir = base + "/nginx";
  std::filesystem::create_directories(dir + "/www");
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    paths.push_back("/vm-" + std::to_string(i) + ".json");
    std::ofstream{dir + "/www" + paths.back(), std::ios::binary} << bodies[i];
  }
  const auto& body = bodies.front();
  std::ofstream{dir + "/www/vm.json", std::ios::binary} << body;
  const auto script = write_paths_script(dir + "/paths.lua", paths);
  const int port = free_port();
  std::ofstream{dir + "/nginx.conf"} << nginx_config(dir, port, workers);
  auto c = spawn({nginx_path, "-p", dir, "-c", dir + "/nginx.conf", "-e", dir + "/error.log"},
                 dir + "/stderr.log", false);
  g_nginx_pid = c.pid;
  std::optional<wrk_result> out;
  if (c.pid > 0 && wait_for_status(port, "/vm.json", 200, 5s)) {
    sync_client check{port};
    const auto r = check.send(http::verb::get, "/vm.json");
    if (r.body == body)
      out = run_wrk("http://127.0.0.1:" + std::to_string(port), seconds, {}, script);
    else
      std::printf("error: nginx served %zu bytes, expected %zu\n", r.body.size(), body.size());
  } else {
    std::printf("error: nginx did not start:\n%s\n%s\n",
                tail(read_file(dir + "/stderr.log"), 2000).c_str(),
                tail(read_file(dir + "/error.log"), 2000).c_str());
  }
  if (c.pid > 0)
    terminate(c.pid);
  g_nginx_pid = 0;
  return out;
}

// ------------------------------------------------------------------------------------------
// The open-loop HTTP client: requests scheduled at a fixed rate on keep-alive connections;
// a request waits for a free connection when all are busy, and that wait counts.

struct sample {
  clock_type::time_point scheduled;
  clock_type::time_point sent;
  clock_type::time_point done;
  unsigned status = 0; // 0: transport error, or never answered
  bool answered = false;
  bool was_sent = false;
};

class open_loop {
 public:
  using request = http::request<http::string_body>;
  using response = http::response<http::string_body>;
  using make_fn = std::function<request(std::size_t)>;
  using reply_fn = std::function<void(std::size_t, const response&)>;

  open_loop(int port, int connections, make_fn make, reply_fn on_reply)
      : endpoint_(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
        make_(std::move(make)), on_reply_(std::move(on_reply)) {
    for (int i = 0; i < connections; ++i)
      conns_.push_back(std::make_unique<conn>(io_));
  }

  /// Sends rate*seconds requests, then waits up to `drain` for the last answers.
  std::vector<sample> run(double rate, double seconds, std::chrono::seconds drain) {
    total_ = static_cast<std::size_t>(std::llround(rate * seconds));
    samples_.assign(total_, sample{});
    asio::co_spawn(io_, main_loop(rate, drain), asio::detached);
    io_.run();
    return std::move(samples_);
  }

  std::size_t transport_errors() const { return errors_; }
  const std::string& first_error() const { return first_error_; }

 private:
  struct conn {
    explicit conn(asio::io_context& io) : stream(io) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    bool open = false;
  };
  struct job {
    std::size_t k = 0;
    request req;
  };

  asio::awaitable<void> main_loop(double rate, std::chrono::seconds drain) {
    for (auto& c : conns_) {
      try {
        co_await connect(*c);
      } catch (const std::exception& e) {
        note_error(e); // exchange() connects it again
      }
      free_.push_back(c.get());
    }
    const auto start = clock_type::now() + 20ms;
    const auto period = std::chrono::duration<double>(1.0 / rate);
    asio::steady_timer timer{io_};
    for (std::size_t k = 0; k < total_; ++k) {
      const auto at =
          start + std::chrono::duration_cast<clock_type::duration>(period * static_cast<double>(k));
      timer.expires_at(at);
      co_await timer.async_wait(asio::use_awaitable);
      samples_[k].scheduled = at;
      dispatch(job{k, make_(k)});
    }
    co_await wait_for_answers(timer, drain);
  }

  asio::awaitable<void> wait_for_answers(asio::steady_timer& timer, std::chrono::seconds drain) {
    const auto deadline = clock_type::now() + drain;
    while (completed_ < total_ && clock_type::now() < deadline) {
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    queue_.clear(); // never sent: they stay unanswered
    for (auto& c : conns_)
      c->stream.close(); // cancels what is still in flight
  }

  asio::awaitable<void> connect(conn& c) {
    c.stream.expires_after(5s);
    co_await c.stream.async_connect(endpoint_, asio::use_awaitable);
    c.open = true;
  }

  void dispatch(job j) {
    if (free_.empty()) {
      queue_.push_back(std::move(j));
      return;
    }
    conn* c = free_.back();
    free_.pop_back();
    asio::co_spawn(io_, serve(c, std::move(j)), asio::detached);
  }

  /// Runs `j` on `c`, then whatever queued meanwhile, then returns `c` to the pool.
  asio::awaitable<void> serve(conn* c, job j) {
    for (;;) {
      co_await exchange(*c, j);
      if (queue_.empty())
        break;
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    free_.push_back(c);
  }

  asio::awaitable<void> exchange(conn& c, job& j) {
    auto& s = samples_[j.k];
    bool failed = false;
    try {
      if (!c.open)
        co_await connect(c);
      s.sent = clock_type::now();
      s.was_sent = true;
      c.stream.expires_after(30s);
      co_await http::async_write(c.stream, j.req, asio::use_awaitable);
      response res;
      co_await http::async_read(c.stream, c.buffer, res, asio::use_awaitable);
      s.done = clock_type::now();
      s.status = res.result_int();
      s.answered = true;
      if (on_reply_)
        on_reply_(j.k, res);
      if (res.need_eof())
        reset(c);
    } catch (const std::exception& e) {
      failed = true;
      note_error(e);
    }
    if (failed) {
      ++errors_;
      reset(c);
    }
    ++completed_;
  }

  void note_error(const std::exception& e) {
    if (first_error_.empty())
      first_error_ = e.what();
  }

  void reset(conn& c) {
    c.stream.close(); // async_connect opens the socket again
    c.buffer.clear();
    c.open = false;
  }

  asio::io_context io_;
  tcp::endpoint endpoint_;
  make_fn make_;
  reply_fn on_reply_;
  std::vector<std::unique_ptr<conn>> conns_;
  std::vector<conn*> free_;
  std::deque<job> queue_;
  std::vector<sample> samples_;
  std::size_t total_ = 0;
  std::size_t completed_ = 0;
  std::size_t errors_ = 0;
  std::string first_error_;
};

/// Latencies from the scheduled send time; a request never answered counts as infinite.
std::vector<double> latencies_ms(const std::vector<sample>& samples) {
  std::vector<double> v;
  v.reserve(samples.size());
  for (const auto& s : samples)
    v.push_back(s.answered ? ms_between(s.scheduled, s.done) : inf);
  return v;
}

std::string status_counts(const std::vector<sample>& samples) {
  std::unordered_map<unsigned, std::size_t> counts;
  for (const auto& s : samples)
    ++counts[s.status];
  std::vector<std::pair<unsigned, std::size_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [status, n] : sorted)
    out += (out.empty() ? "" : ", ") +
           (status == 0 ? std::string{"no answer"} : std::to_string(status)) + ": " +
           std::to_string(n);
  return out;
}

// ------------------------------------------------------------------------------------------
// Watch messages: a scanner cheap enough for 10^5..10^6 frames/s on the receiving thread (a
// full JSON walk cost the driver more CPU than the server it measures). It relies on what the
// server's JSON library guarantees: object keys in sorted order. So an event frame ends with
// "type":"event","version":V} and its top-level "position" and "stream" are the last ones
// before that tail (they follow "data", whatever "data" holds); an operation frame ends with
// "type":"operation"} and an overflow frame with "type":"overflow"}. A message is one frame,
// or with batch=N an array of them: the scanner finds each frame by its tail.

constexpr std::size_t npos = std::string_view::npos;

std::uint64_t to_u64(std::string_view v) {
  std::uint64_t out = 0;
  std::from_chars(v.data(), v.data() + v.size(), out);
  return out;
}

/// The number after `key` in s[from, to), searching backwards from `to`; npos when absent.
std::uint64_t number_before(std::string_view s, std::size_t from, std::size_t to,
                            std::string_view key, bool& ok) {
  const auto at = s.rfind(key, to);
  if (at == npos || at < from) {
    ok = false;
    return 0;
  }
  return to_u64(s.substr(at + key.size()));
}

struct message_counts {
  std::size_t events = 0;
  std::size_t operations = 0;
  std::size_t overflows = 0;
  std::size_t unparsed = 0;
};

/// Occurrences of a needle, found with Boyer-Moore-Horspool: the needles start with '"', which
/// is every few bytes of JSON, so a memchr-then-compare search spends its time on false starts.
class finder {
 public:
  explicit finder(std::string_view needle)
      : needle_(needle), searcher_(needle_.begin(), needle_.end()) {}
  [[nodiscard]] std::size_t size() const { return needle_.size(); }
  /// The first occurrence at or after `from`; npos when none.
  [[nodiscard]] std::size_t find(std::string_view s, std::size_t from) const {
    if (from >= s.size())
      return npos;
    const auto it = std::search(s.begin() + static_cast<std::ptrdiff_t>(from), s.end(), searcher_);
    return it == s.end() ? npos : static_cast<std::size_t>(it - s.begin());
  }
  template<class F>
  std::size_t for_each(std::string_view s, F&& f) const {
    std::size_t n = 0;
    for (auto at = find(s, 0); at != npos; at = find(s, at + needle_.size())) {
      f(at);
      ++n;
    }
    return n;
  }

 private:
  std::string_view needle_;
  std::boyer_moore_horspool_searcher<std::string_view::const_iterator> searcher_;
};

/// Calls on_event(position, version, stream) for every event frame of the message.
template<class OnEvent>
message_counts scan_message(std::string_view s, OnEvent&& on_event) {
  static const finder event_tail{R"("type":"event","version":)"};
  static const finder operation_tail{R"("type":"operation"})"};
  static const finder overflow_tail{R"("type":"overflow"})"};
  static constexpr std::string_view stream_key = R"("stream":")";
  static constexpr std::string_view position_key = R"("position":)";
  message_counts c;
  std::size_t frame_start = 0;
  event_tail.for_each(s, [&](std::size_t at) {
    bool ok = true;
    const auto position = number_before(s, frame_start, at, position_key, ok);
    const auto stream_at = s.rfind(stream_key, at);
    const auto version = to_u64(s.substr(at + event_tail.size()));
    if (!ok || stream_at == npos || stream_at < frame_start) {
      ++c.unparsed;
    } else {
      const auto begin = stream_at + stream_key.size();
      const auto end = s.find('"', begin);
      on_event(position, version, s.substr(begin, end - begin));
      ++c.events;
    }
    frame_start = at + event_tail.size();
  });
  // Operation and overflow frames are rare: skip the search when no such word is there.
  if (s.find("operation") != npos)
    c.operations = operation_tail.for_each(s, [](std::size_t) {});
  if (s.find("overflow") != npos)
    c.overflows = overflow_tail.for_each(s, [](std::size_t) {});
  if (c.events + c.operations + c.overflows == 0)
    ++c.unparsed;
  return c;
}

/// The resource id inside an event's stream name: the text after the last character that
/// cannot be part of the driver's alphanumeric ids ("vm-f10x3" -> "f10x3", "f10x3" -> itself).
std::string_view id_in_stream(std::string_view stream) {
  std::size_t i = stream.size();
  while (i > 0 && std::isalnum(static_cast<unsigned char>(stream[i - 1])) != 0)
    --i;
  return stream.substr(i);
}

// ------------------------------------------------------------------------------------------
// WebSocket watchers, all on one io_context thread

struct event_record {
  std::uint64_t position = 0;
  std::uint64_t version = 0;
  std::string id; // the resource id in the stream: short enough for no allocation (SSO)
  clock_type::time_point received;
};

struct watcher {
  explicit watcher(asio::io_context& io) : ws(io) {}
  websocket::stream<beast::tcp_stream> ws;
  beast::flat_buffer buffer;
  std::vector<event_record> events;
  std::size_t operations = 0;
  std::size_t overflows = 0;
  std::size_t unparsed = 0;
  bool connected = false;
  bool probe_seen = false;
  bool closing = false;  // we sent a close frame (lean reader)
  std::string fragments; // a fragmented message being assembled (lean reader)
  std::string error;     // handshake failure or how the stream ended
};

// The lean reader: the upgrade goes through Beast's HTTP parser, then the driver parses the
// server's frames itself from 64 KiB reads (Beast's websocket stream reads at most 1536 bytes
// per call, which made the 1000-watcher client cost as much CPU as the server it measures).

struct ws_header {
  unsigned opcode = 0;
  bool fin = false;
  bool masked = false;
  std::size_t header_bytes = 0;
  std::uint64_t payload_bytes = 0;
  unsigned char mask[4] = {0, 0, 0, 0};
};

/// Parses a frame header at the start of `d`; nullopt while it is incomplete.
std::optional<ws_header> parse_ws_header(std::string_view d) {
  if (d.size() < 2)
    return std::nullopt;
  ws_header h;
  const auto b0 = static_cast<unsigned char>(d[0]);
  const auto b1 = static_cast<unsigned char>(d[1]);
  h.fin = (b0 & 0x80U) != 0;
  h.opcode = b0 & 0x0FU;
  h.masked = (b1 & 0x80U) != 0;
  h.payload_bytes = b1 & 0x7FU;
  std::size_t at = 2;
  const std::size_t ext = h.payload_bytes == 126 ? 2 : h.payload_bytes == 127 ? 8 : 0;
  if (d.size() < at + ext + (h.masked ? 4 : 0))
    return std::nullopt;
  if (ext > 0) {
    h.payload_bytes = 0;
    for (std::size_t i = 0; i < ext; ++i)
      h.payload_bytes = (h.payload_bytes << 8) | static_cast<unsigned char>(d[at + i]);
    at += ext;
  }
  if (h.masked) {
    std::memcpy(h.mask, d.data() + at, 4);
    at += 4;
  }
  h.header_bytes = at;
  return h;
}

/// A masked client frame (control frames only here: payload under 126 bytes).
std::string client_frame(unsigned opcode, std::string_view payload) {
  static constexpr unsigned char mask[4] = {0x3a, 0x5c, 0x91, 0xe7};
  std::string f;
  f += static_cast<char>(0x80U | opcode);
  f += static_cast<char>(0x80U | static_cast<unsigned>(payload.size()));
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f += static_cast<char>(static_cast<unsigned char>(payload[i]) ^ mask[i % 4]);
  return f;
}

std::string close_payload(unsigned code) {
  return {static_cast<char>((code >> 8) & 0xFFU), static_cast<char>(code & 0xFFU)};
}

class fanout {
 public:
  fanout(int port, int n, std::string probe_id, std::size_t expected_events, bool lean,
         std::string target)
      : port_(port), probe_id_(std::move(probe_id)), lean_(lean), target_(std::move(target)) {
    for (int i = 0; i < n; ++i) {
      watchers_.push_back(std::make_unique<watcher>(io_));
      watchers_.back()->events.reserve(expected_events);
    }
  }
  fanout(const fanout&) = delete;
  fanout& operator=(const fanout&) = delete;
  ~fanout() { stop(); }

  /// Connects every watcher, at most 64 handshakes at a time, on a thread of its own.
  void start() {
    constexpr int lanes = 64;
    for (int i = 0; i < std::min<int>(lanes, static_cast<int>(watchers_.size())); ++i)
      asio::co_spawn(io_, connect_lane(), asio::detached);
    thread_ = std::thread([this] {
      io_.run();
      cpu_seconds_ = thread_cpu_seconds();
    });
  }

  /// Closes every stream (close handshake, forced after 3 s) and joins the thread.
  void stop() {
    if (!thread_.joinable())
      return;
    asio::post(io_, [this] { close_all(false); });
    const auto deadline = clock_type::now() + 3s;
    while (active_ > 0 && clock_type::now() < deadline)
      std::this_thread::sleep_for(10ms);
    asio::post(io_, [this] { close_all(true); });
    thread_.join();
  }

  int connected() const { return connected_; }
  int failed() const { return failed_; }
  int probe_seen() const { return probe_seen_; }
  double cpu_seconds() const { return cpu_seconds_; } // the watchers' thread, after stop()
  std::size_t events_received() const { return events_; }
  const std::vector<std::unique_ptr<watcher>>& watchers() const { return watchers_; }

 private:
  asio::awaitable<void> connect_lane() {
    while (next_ < watchers_.size()) {
      auto& w = *watchers_[next_++];
      if (lean_ ? co_await handshake_lean(w) : co_await handshake(w)) {
        w.connected = true;
        ++active_;
        ++connected_;
        asio::co_spawn(io_, lean_ ? read_loop_lean(w) : read_loop(w), asio::detached);
      } else {
        ++failed_;
      }
    }
  }

  asio::awaitable<bool> handshake(watcher& w) {
    websocket::response_type res;
    try {
      auto& lowest = beast::get_lowest_layer(w.ws);
      lowest.expires_after(10s);
      co_await lowest.async_connect(
          tcp::endpoint{asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)},
          asio::use_awaitable);
      lowest.expires_never();
      w.ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
      w.ws.read_message_max(16 * 1024 * 1024);
      co_await w.ws.async_handshake(res, "127.0.0.1:" + std::to_string(port_), target_,
                                    asio::use_awaitable);
      co_return true;
    } catch (const std::exception& e) {
      w.error = std::string{"handshake: "} + e.what() + " (HTTP " +
                std::to_string(res.result_int()) + ")";
    }
    co_return false;
  }

  asio::awaitable<void> read_loop(watcher& w) {
    for (;;) {
      boost::system::error_code ec;
      co_await w.ws.async_read(w.buffer, asio::redirect_error(asio::use_awaitable, ec));
      const auto now = clock_type::now();
      if (ec) {
        w.error = ec.message() + (w.ws.reason().code != 0
                                      ? " (close " + std::to_string(w.ws.reason().code) + " " +
                                            std::string{w.ws.reason().reason.c_str()} + ")"
                                      : std::string{});
        break;
      }
      const auto data = w.buffer.cdata();
      on_frame(w, {static_cast<const char*>(data.data()), data.size()}, now);
      w.buffer.consume(w.buffer.size());
    }
    --active_;
  }

  asio::awaitable<bool> handshake_lean(watcher& w) {
    auto& s = beast::get_lowest_layer(w.ws);
    http::response<http::string_body> res;
    try {
      s.expires_after(10s);
      co_await s.async_connect(
          tcp::endpoint{asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)},
          asio::use_awaitable);
      http::request<http::empty_body> req{http::verb::get, target_, 11};
      req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
      req.set(http::field::upgrade, "websocket");
      req.set(http::field::connection, "Upgrade");
      req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
      req.set(http::field::sec_websocket_version, "13");
      co_await http::async_write(s, req, asio::use_awaitable);
      co_await http::async_read(s, w.buffer, res, asio::use_awaitable);
      s.expires_never();
    } catch (const std::exception& e) {
      w.error = std::string{"handshake: "} + e.what();
      co_return false;
    }
    if (res.result() != http::status::switching_protocols)
      w.error = "handshake: HTTP " + std::to_string(res.result_int()) + " " + res.body();
    co_return res.result() == http::status::switching_protocols;
  }

  /// Reads 64 KiB at a time; every frame of one read gets that read's completion time.
  asio::awaitable<void> read_loop_lean(watcher& w) {
    auto& s = beast::get_lowest_layer(w.ws);
    auto now = clock_type::now(); // bytes that came with the 101 answer
    while (drain_frames(w, now)) {
      boost::system::error_code ec;
      const auto n = co_await s.socket().async_read_some(
          w.buffer.prepare(64 * 1024), asio::redirect_error(asio::use_awaitable, ec));
      now = clock_type::now();
      if (ec) {
        if (!w.closing)
          w.error = "read: " + ec.message();
        break;
      }
      w.buffer.commit(n);
    }
    s.close();
    --active_;
  }

  /// Handles the complete frames in the buffer; false once the stream is closed.
  bool drain_frames(watcher& w, clock_type::time_point now) {
    for (;;) {
      const auto data = w.buffer.cdata();
      const std::string_view d{static_cast<const char*>(data.data()), data.size()};
      const auto h = parse_ws_header(d);
      if (!h || d.size() - h->header_bytes < h->payload_bytes)
        return true;
      std::string_view payload = d.substr(h->header_bytes, h->payload_bytes);
      std::string unmasked;
      if (h->masked) { // servers must not mask; tolerate it
        unmasked.assign(payload);
        for (std::size_t i = 0; i < unmasked.size(); ++i)
          unmasked[i] = static_cast<char>(static_cast<unsigned char>(unmasked[i]) ^ h->mask[i % 4]);
        payload = unmasked;
        ++w.unparsed;
      }
      const bool open = on_ws_frame(w, *h, payload, now);
      w.buffer.consume(h->header_bytes + h->payload_bytes);
      if (!open)
        return false;
    }
  }

  bool on_ws_frame(watcher& w, const ws_header& h, std::string_view payload,
                   clock_type::time_point now) {
    auto& sock = beast::get_lowest_layer(w.ws).socket();
    boost::system::error_code ec;
    switch (h.opcode) {
    case 0x8: // close: answer it unless we started the closing handshake
      if (!w.closing) {
        const unsigned code = payload.size() >= 2 ? (static_cast<unsigned char>(payload[0]) << 8U) |
                                                        static_cast<unsigned char>(payload[1])
                                                  : 1005U;
        w.error = "closed by the server: " + std::to_string(code) + " " +
                  std::string{payload.size() > 2 ? payload.substr(2) : std::string_view{}};
        asio::write(sock, asio::buffer(client_frame(0x8, payload.substr(0, 2))), ec);
      }
      return false;
    case 0x9: // ping
      asio::write(sock, asio::buffer(client_frame(0xA, payload)), ec);
      return true;
    case 0xA: // pong
      return true;
    default:
      on_data_frame(w, h, payload, now);
      return true;
    }
  }

  /// Text frames, reassembled when the server fragments a message.
  void on_data_frame(watcher& w, const ws_header& h, std::string_view payload,
                     clock_type::time_point now) {
    if (h.fin && h.opcode != 0 && w.fragments.empty()) {
      on_frame(w, payload, now);
      return;
    }
    w.fragments.append(payload);
    if (h.fin) {
      on_frame(w, w.fragments, now);
      w.fragments.clear();
    }
  }

  /// One message: a frame, or with batch=N an array of frames.
  void on_frame(watcher& w, std::string_view text, clock_type::time_point now) {
    const auto c = scan_message(
        text, [&](std::uint64_t position, std::uint64_t version, std::string_view stream) {
          const auto id = id_in_stream(stream);
          w.events.push_back({position, version, std::string{id}, now});
          ++events_;
          if (!w.probe_seen && id == probe_id_) {
            w.probe_seen = true;
            ++probe_seen_;
          }
        });
    w.operations += c.operations;
    w.overflows += c.overflows;
    w.unparsed += c.unparsed;
  }

  void close_all(bool force) {
    for (auto& w : watchers_) {
      if (!w->connected)
        continue;
      auto& lowest = beast::get_lowest_layer(w->ws);
      if (force) {
        lowest.close();
        continue;
      }
      if (lean_) {
        if (!lowest.socket().is_open() || w->closing)
          continue;
        w->closing = true;
        boost::system::error_code ec;
        asio::write(lowest.socket(), asio::buffer(client_frame(0x8, close_payload(1000))), ec);
        continue;
      }
      if (w->ws.is_open())
        w->ws.async_close(websocket::close_code::normal, [](boost::system::error_code) {});
    }
  }

  int port_;
  std::string probe_id_;
  bool lean_;
  std::string target_;
  asio::io_context io_;
  std::vector<std::unique_ptr<watcher>> watchers_;
  std::size_t next_ = 0;
  std::thread thread_;
  std::atomic<int> connected_{0};
  std::atomic<int> failed_{0};
  std::atomic<int> active_{0};
  std::atomic<int> probe_seen_{0};
  std::atomic<std::size_t> events_{0};
  double cpu_seconds_ = 0;
};

// ------------------------------------------------------------------------------------------
// Phases

struct figures {
  double get_per_s = -1;
  double nginx_per_s = -1;
  double write_p99_ms = inf;
  double watch_p99_ms = inf;
  double auth_get_per_s = -1;     ///< [4] the same GET with a bearer token, authentication on
  double auth_write_p99_ms = inf; ///< [4] the same writes, each also audited
  double drs_pass_ms = inf;       ///< [5] the slowest DRS pass sampled
  double drs_get_p99_ms = inf;    ///< [5] GET p99 while DRS passes run
};

/// Creates the VM the GET phase reads; returns its id and its JSON as GET answers it.
std::optional<std::pair<std::string, std::string>> create_bench_vm(int port) {
  sync_client c{port};
  const auto r = c.send(http::verb::post, "/api/v1/vms", vm_create_body("", "bench"));
  if (r.status != 201) {
    std::printf("error: POST /api/v1/vms answered %u (expected 201): %s%s\n", r.status,
                r.body.c_str(), r.error.c_str());
    return std::nullopt;
  }
  const auto body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || !body.contains("id") || !body["id"].is_string()) {
    std::printf("error: POST /api/v1/vms answered 201 without a string \"id\": %s\n",
                r.body.c_str());
    return std::nullopt;
  }
  const auto id = body["id"].get<std::string>();
  const auto get = c.send(http::verb::get, "/api/v1/vms/" + id);
  if (get.status != 200) {
    std::printf("error: GET /api/v1/vms/%s answered %u: %s\n", id.c_str(), get.status,
                get.body.c_str());
    return std::nullopt;
  }
  return std::make_pair(id, get.body);
}

/// The VMs the GET phases read, each with its JSON as GET answers it.
struct bench_vms {
  std::vector<std::string> ids;
  std::vector<std::string> bodies;
  [[nodiscard]] std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (const auto& id : ids)
      out.push_back("/api/v1/vms/" + id);
    return out;
  }
};

constexpr std::size_t get_phase_vms = 64;

std::optional<bench_vms> create_bench_vms(int port) {
  bench_vms out;
  for (std::size_t i = 0; i < get_phase_vms; ++i) {
    auto vm = create_bench_vm(port);
    if (!vm)
      return std::nullopt;
    out.ids.push_back(vm->first);
    out.bodies.push_back(vm->second);
  }
  return out;
}

bool phase_get(const options& o, const temp_dir& dir, int port, const bench_vms& vms,
               figures& out) {
  const auto& vm_json = vms.bodies.front();
  std::printf("\n[1] GET /api/v1/vms/{id} over %zu VMs in turn (%zu-byte JSON bodies), "
              "wrk -t2 -c32 -d%ds\n",
              vms.ids.size(), vm_json.size(), o.seconds);
  const auto q = run_wrk("http://127.0.0.1:" + std::to_string(port), o.seconds, {},
                         write_paths_script(dir.path + "/qvdc-paths.lua", vms.paths()));
  std::printf("    $ %s\n", q.command.c_str());
  if (!wrk_usable(q, "qvdc"))
    return false;
  const auto n = nginx_reference(dir.path, vms.bodies, o.seconds, o.nginx_workers);
  if (!n || !wrk_usable(*n, "nginx"))
    return false;
  std::printf("    $ %s\n", n->command.c_str());
  out.get_per_s = q.per_s;
  out.nginx_per_s = n->per_s;
  std::printf("    qvdc  %10.0f req/s\n", q.per_s);
  const auto shape = o.nginx_workers > 1
                         ? "master + " + std::to_string(o.nginx_workers) + " worker processes"
                         : std::string{"one process"};
  std::printf("    nginx %10.0f req/s  (same-run reference: static %zu-byte file, %s)\n", n->per_s,
              vm_json.size(), shape.c_str());
  std::printf("    get_ratio %.3f  (toolchain.md: trivial Beast ~78 k, nginx ~69 k req/s)\n",
              q.per_s / n->per_s);
  return true;
}

/// The mutating mix: even k creates VM w<k>; odd k deletes a VM whose create was answered
/// (or creates another when none is left), so every write is one that succeeds.
struct write_mix {
  std::deque<std::string> created;
  std::vector<char> kinds; // 'c' create, 'd' delete
  int port = 0;

  http::request<http::string_body> make(std::size_t k) {
    if (k % 2 == 1 && !created.empty()) {
      const auto id = created.front();
      created.pop_front();
      kinds[k] = 'd';
      return make_request(http::verb::delete_, "/api/v1/vms/" + id, port);
    }
    const auto id = "w" + std::to_string(k);
    kinds[k] = 'c';
    return make_request(http::verb::post, "/api/v1/vms", port, vm_create_body(id, id));
  }

  void on_reply(std::size_t k, const http::response<http::string_body>& res) {
    if (kinds[k] == 'c' && res.result_int() == 201)
      created.push_back("w" + std::to_string(k));
  }
};

std::vector<double> latencies_of_kind(const std::vector<sample>& s, const std::vector<char>& kinds,
                                      char kind) {
  std::vector<double> v;
  for (std::size_t k = 0; k < s.size(); ++k)
    if (kinds[k] == kind)
      v.push_back(s[k].answered ? ms_between(s[k].scheduled, s[k].done) : inf);
  return v;
}

void print_latency(const char* what, const percentiles& p) {
  std::printf("    %-34s p50 %8s ms  p99 %8s ms  max %8s ms  (%zu)\n", what, fmt_ms(p.p50).c_str(),
              fmt_ms(p.p99).c_str(), fmt_ms(p.max).c_str(), p.count);
}

std::size_t count_non_2xx(const std::vector<sample>& samples) {
  return static_cast<std::size_t>(std::count_if(samples.begin(), samples.end(), [](const auto& s) {
    return !s.answered || s.status < 200 || s.status >= 300;
  }));
}

/// False (an error) when any write or reference read failed: failed work is never a figure.
bool phase_write(const options& o, int port, const std::string& vm_id, figures& out) {
  std::printf("\n[2] writes at %.0f/s for %.1f s, open loop over %d keep-alive connections "
              "(latency from the scheduled send time)\n",
              o.rate, o.write_seconds, o.connections);
  write_mix mix;
  mix.port = port;
  mix.kinds.assign(static_cast<std::size_t>(std::llround(o.rate * o.write_seconds)) + 1, 'c');
  open_loop writes{port, o.connections, [&](std::size_t k) { return mix.make(k); },
                   [&](std::size_t k, const auto& res) {
                     mix.on_reply(k, res);
                   }};
  const auto s = writes.run(o.rate, o.write_seconds, 15s);
  const auto all = percentiles_of(latencies_ms(s));
  print_latency("writes (create + delete)", all);
  print_latency("  creates POST /api/v1/vms", percentiles_of(latencies_of_kind(s, mix.kinds, 'c')));
  print_latency("  deletes DELETE /api/v1/vms/{id}",
                percentiles_of(latencies_of_kind(s, mix.kinds, 'd')));
  std::printf("    statuses: %s\n", status_counts(s).c_str());
  if (!writes.first_error().empty())
    std::printf("    transport errors: %zu, first: %s\n", writes.transport_errors(),
                writes.first_error().c_str());
  const auto bad_writes = count_non_2xx(s);
  if (bad_writes > 0)
    std::printf("    error: %zu of %zu writes did not answer 2xx\n", bad_writes, s.size());
  out.write_p99_ms = all.p99;

  const double ref_seconds = std::min(o.write_seconds, 5.0);
  const auto target = "/api/v1/vms/" + vm_id;
  open_loop reads{port, o.connections,
                  [&](std::size_t) { return make_request(http::verb::get, target, port); },
                  nullptr};
  const auto r = reads.run(o.rate, ref_seconds, 15s);
  print_latency("same-run reference: GET same rate", percentiles_of(latencies_ms(r)));
  const auto bad_reads = count_non_2xx(r);
  if (bad_reads > 0)
    std::printf("    error: %zu of %zu reference GETs did not answer 200 (%s)\n", bad_reads,
                r.size(), status_counts(r).c_str());
  return bad_writes == 0 && bad_reads == 0;
}

// --- fan-out ---

struct fan_write {
  std::string id;
  clock_type::time_point sent;
  std::uint64_t lo = 1;
  std::uint64_t hi = 0; // versions lo..hi are this write's events; hi < lo: none known
  bool ok = false;
};

struct fan_stats {
  std::vector<double> received_ms; // per frame received and matched
  std::size_t expected = 0;        // per watcher, summed over watchers
  std::size_t matched = 0;
  std::size_t duplicates = 0;
  std::size_t unmatched = 0;
  std::size_t operations = 0;
  std::size_t overflows = 0;
  std::size_t unparsed = 0;
  std::size_t ended_early = 0;
  std::string first_end;
  clock_type::time_point last_received;
};

std::size_t expected_events(const std::vector<fan_write>& writes) {
  std::size_t n = 0;
  for (const auto& w : writes)
    if (w.ok && w.hi >= w.lo)
      n += w.hi - w.lo + 1;
  return n;
}

void match_watcher(const watcher& w, const std::vector<fan_write>& writes,
                   const std::unordered_map<std::string, std::size_t>& by_id,
                   const std::string& probe_id, fan_stats& st) {
  std::unordered_set<std::uint64_t> positions;
  std::unordered_set<std::uint64_t> seen; // write index * 2^16 + version
  for (const auto& e : w.events) {
    if (!positions.insert(e.position).second) {
      ++st.duplicates;
      continue;
    }
    const auto& id = e.id;
    const auto it = by_id.find(id);
    if (it == by_id.end()) {
      st.unmatched += id == probe_id ? 0 : 1;
      continue;
    }
    const auto& wr = writes[it->second];
    if (!wr.ok || e.version < wr.lo || e.version > wr.hi) {
      ++st.unmatched;
      continue;
    }
    if (seen.insert((static_cast<std::uint64_t>(it->second) << 16) + e.version).second) {
      st.received_ms.push_back(ms_between(wr.sent, e.received));
      st.last_received = std::max(st.last_received, e.received);
    }
  }
  st.matched += seen.size();
}

fan_stats analyse(const fanout& f, const std::vector<fan_write>& writes,
                  const std::string& probe_id) {
  std::unordered_map<std::string, std::size_t> by_id;
  for (std::size_t k = 0; k < writes.size(); ++k)
    by_id.emplace(writes[k].id, k);
  fan_stats st;
  const auto per_watcher = expected_events(writes);
  for (const auto& w : f.watchers()) {
    if (!w->connected)
      continue;
    st.expected += per_watcher;
    match_watcher(*w, writes, by_id, probe_id, st);
    st.operations += w->operations;
    st.overflows += w->overflows;
    st.unparsed += w->unparsed;
  }
  return st;
}

/// Counts the streams the server ended before we closed them (overflow, errors).
void note_early_ends(const fanout& f, fan_stats& st) {
  for (const auto& w : f.watchers()) {
    if (w->connected && !w->error.empty()) {
      ++st.ended_early;
      if (st.first_end.empty())
        st.first_end = w->error;
    }
  }
}

/// Waits until every connected watcher has all expected frames, or 3 s pass without progress.
void wait_for_frames(const fanout& f, std::size_t target) {
  auto last = f.events_received();
  auto last_change = clock_type::now();
  const auto deadline = clock_type::now() + 30s;
  while (f.events_received() < target && clock_type::now() < deadline &&
         clock_type::now() - last_change < 3s) {
    std::this_thread::sleep_for(20ms);
    if (const auto now = f.events_received(); now != last) {
      last = now;
      last_change = clock_type::now();
    }
  }
}

/// Samples the server's qvdc_projection_lag_events gauge from /metrics every 200 ms: a lag
/// there is upstream of the watch hub (events not yet published to the watchers at all).
class lag_sampler {
 public:
  explicit lag_sampler(int port)
      : thread_([this, port] {
          sync_client c{port};
          while (!stop_) {
            const auto r = c.send(http::verb::get, "/metrics");
            if (const auto v = gauge(r.body, "qvdc_projection_lag_events"); v >= 0) {
              max_ = std::max(max_.load(), v);
              seen_ = true;
            }
            std::this_thread::sleep_for(200ms);
          }
        }) {}
  lag_sampler(const lag_sampler&) = delete;
  lag_sampler& operator=(const lag_sampler&) = delete;
  ~lag_sampler() { finish(); }

  /// The largest lag seen, -1 when the gauge never appeared.
  double finish() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
    return seen_ ? max_.load() : -1;
  }

 private:
  static double gauge(const std::string& text, const std::string& name) {
    std::stringstream in{text};
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(name + " ", 0) == 0)
        return std::strtod(line.c_str() + name.size() + 1, nullptr);
    return -1;
  }

  std::atomic<bool> stop_{false};
  std::atomic<double> max_{0};
  std::atomic<bool> seen_{false};
  std::thread thread_;
};

/// Connects, proves every watcher live with one write, and reports the idle memory cost.
/// Returns the probe's reply version (events per create), 0 on failure.
std::uint64_t connect_watchers(fanout& f, int n, pid_t server, int port,
                               const std::string& probe_id) {
  const long rss_before = rss_kib(server);
  const auto t0 = clock_type::now();
  f.start();
  const auto deadline = clock_type::now() + 60s;
  while (f.connected() + f.failed() < n && clock_type::now() < deadline)
    std::this_thread::sleep_for(10ms);
  std::printf("    %d of %d watchers connected in %.0f ms (%d failed)\n", f.connected(), n,
              ms_between(t0, clock_type::now()), f.failed());
  for (const auto& w : f.watchers())
    if (!w->error.empty() && !w->connected) {
      std::printf("    first failure: %s\n", w->error.c_str());
      break;
    }
  if (f.connected() == 0)
    return 0;
  std::this_thread::sleep_for(200ms);
  sync_client c{port};
  const auto r = c.send(http::verb::post, "/api/v1/vms", vm_create_body(probe_id, probe_id));
  const auto body = json::parse(r.body, nullptr, false);
  if (r.status != 201 || !body.is_object() || !body.contains("version")) {
    std::printf("error: probe create answered %u without \"version\": %s\n", r.status,
                r.body.c_str());
    return 0;
  }
  const auto probe_deadline = clock_type::now() + 10s;
  while (f.probe_seen() < f.connected() && clock_type::now() < probe_deadline)
    std::this_thread::sleep_for(10ms);
  std::printf("    probe event seen by %d of %d watchers\n", f.probe_seen(), f.connected());
  std::this_thread::sleep_for(300ms);
  const long rss_idle = rss_kib(server);
  std::printf("    server VmRSS %ld KiB before, %ld KiB with %d idle watchers: %.1f KiB per "
              "watcher (reference: the server's whole RSS before, %ld KiB)\n",
              rss_before, rss_idle, f.connected(),
              static_cast<double>(rss_idle - rss_before) / f.connected(), rss_before);
  return body["version"].get<std::uint64_t>();
}

/// Appends `rate` events/s as VM creates <prefix><k> for `seconds`; records each write.
std::vector<fan_write> append_events(const options& o, const std::string& prefix, int port,
                                     double write_rate, std::vector<sample>& samples) {
  const auto total = static_cast<std::size_t>(std::llround(write_rate * o.watch_seconds));
  std::vector<fan_write> writes(total);
  open_loop loop{port, o.connections,
                 [&](std::size_t k) {
                   writes[k].id = prefix + std::to_string(k);
                   return make_request(http::verb::post, "/api/v1/vms", port,
                                       vm_create_body(writes[k].id, writes[k].id));
                 },
                 [&](std::size_t k, const auto& res) {
                   const auto body = json::parse(res.body(), nullptr, false);
                   if (res.result_int() != 201 || !body.is_object() || !body.contains("version"))
                     return;
                   writes[k].ok = true;
                   writes[k].hi = body["version"].template get<std::uint64_t>();
                 }};
  samples = loop.run(write_rate, o.watch_seconds, 15s);
  for (std::size_t k = 0; k < total; ++k)
    writes[k].sent = samples[k].sent;
  return writes;
}

void report_fanout(const fan_stats& st, const std::vector<sample>& samples, int watchers,
                   double offered, double& strict_p99) {
  auto strict = st.received_ms;
  const auto missing = st.expected > st.matched ? st.expected - st.matched : 0;
  strict.insert(strict.end(), missing, inf);
  const auto received = percentiles_of(st.received_ms);
  const auto all = percentiles_of(strict);
  print_latency("append->receive, frames received", received);
  print_latency("append->receive, missing = inf", all);
  std::vector<double> reply_ms;
  auto first_sent = clock_type::time_point::max();
  for (const auto& s : samples) {
    reply_ms.push_back(s.answered ? ms_between(s.sent, s.done) : inf);
    if (s.was_sent)
      first_sent = std::min(first_sent, s.sent);
  }
  print_latency("same-run reference: write replies", percentiles_of(reply_ms));
  if (st.matched > 0 && st.last_received > first_sent)
    std::printf("    delivered %.0f frames/s from the first write to the last frame (offered "
                "%.0f/s: events/s x watchers)\n",
                static_cast<double>(st.matched) /
                    std::chrono::duration<double>(st.last_received - first_sent).count(),
                offered);
  std::printf("    frames: %zu expected over %d watchers, %zu matched, %zu missing, %zu "
              "duplicate, %zu unmatched, %zu operation, %zu overflow, %zu unparsed\n",
              st.expected, watchers, st.matched, missing, st.duplicates, st.unmatched,
              st.operations, st.overflows, st.unparsed);
  if (st.ended_early > 0)
    std::printf("    warning: the server ended %zu streams early; first: %s\n", st.ended_early,
                st.first_end.c_str());
  strict_p99 = all.p99;
}

bool phase_watch_one(const options& o, int n, int batch, pid_t server, int port,
                     double& watch_p99) {
  std::string target = "/api/v1/watch?from=now";
  if (batch > 1)
    target += "&batch=" + std::to_string(batch);
  std::printf("\n[3] fan-out: %d watchers on %s, %.0f events/s for %.1f s (%s)\n", n,
              target.c_str(), o.event_rate, o.watch_seconds,
              o.beast_watchers ? "Beast websocket::stream readers" : "lean 64 KiB frame readers");
  const auto probe_id = "probe" + std::to_string(n) + "b" + std::to_string(batch);
  const auto expected = static_cast<std::size_t>(o.event_rate * o.watch_seconds * 1.2) + 16;
  fanout f{port, n, probe_id, expected, !o.beast_watchers, target};
  const auto events_per_write = connect_watchers(f, n, server, port, probe_id);
  if (events_per_write == 0)
    return false;
  const double write_rate = o.event_rate / static_cast<double>(events_per_write);
  std::printf("    a VM create yields %llu event(s): %.0f creates/s\n",
              static_cast<unsigned long long>(events_per_write), write_rate);
  std::vector<sample> samples;
  const auto before = f.events_received();
  const auto t0 = clock_type::now();
  const double server_cpu0 = process_cpu_seconds(server);
  lag_sampler lag{port};
  const auto writes = append_events(o, "f" + std::to_string(n) + "b" + std::to_string(batch) + "x",
                                    port, write_rate, samples);
  const auto per_watcher = expected_events(writes);
  wait_for_frames(f, before + per_watcher * static_cast<std::size_t>(f.connected()));
  const double max_lag = lag.finish();
  const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double server_cpu = process_cpu_seconds(server) - server_cpu0;
  fan_stats st;
  note_early_ends(f, st);
  f.stop();
  auto analysed = analyse(f, writes, probe_id);
  analysed.ended_early = st.ended_early;
  analysed.first_end = st.first_end;
  std::printf("    write statuses: %s\n", status_counts(samples).c_str());
  std::printf("    CPU over the %.1f s of appends and delivery: server %.2f s, this driver's "
              "watcher thread %.2f s over its whole life (2 cores in all)\n",
              wall, server_cpu, f.cpu_seconds());
  std::printf("    largest qvdc_projection_lag_events seen on /metrics: %.0f (events not yet "
              "published to the watch hub)\n",
              max_lag);
  report_fanout(analysed, samples, f.connected(), o.event_rate * f.connected(), watch_p99);
  return true;
}

int watchdog_seconds(const options& o) {
  if (o.timeout > 0)
    return o.timeout;
  const double fan =
      static_cast<double>(o.watchers.size() + (o.batch > 1 ? 1 : 0)) * (o.watch_seconds + 90);
  return static_cast<int>(240 + 2 * o.seconds + 2 * o.write_seconds + fan);
}

bool tools_present() {
  bool ok = true;
  if (!on_path("wrk")) {
    std::printf("bench_api: wrk is not on PATH (apt-get install wrk); no figure measured\n");
    ok = false;
  }
  if (access(nginx_path, X_OK) != 0) {
    std::printf("bench_api: %s is missing (apt-get install nginx-light); no figure measured\n",
                nginx_path);
    ok = false;
  }
  return ok;
}

/// [4] The same GET and writes against a second server with authentication on: every request
/// carries a session token (an HS256 check and a read-model lookup of the user's live tokens
/// and grants), every write also appends its audit record before the answer. The reference is
/// phases [1] and [2] of this run, on the server without authentication.
bool phase_auth(const options& o, const temp_dir& dir, figures& out) {
  std::printf("\n[4] authentication on: a second server, every request with a bearer token\n");
  server_process server;
  if (!server.start(o.qvdc, dir.path + "/auth", {}, true)) {
    std::printf("error: the server with authentication did not start: %s\n",
                server.log_tail().c_str());
    return false;
  }
  std::string token;
  const auto deadline = clock_type::now() + 30s;
  while (token.empty() && clock_type::now() < deadline) {
    sync_client c{server.port()};
    const auto r = c.send(http::verb::post, "/api/v1/auth/login",
                          json{{"user", "admin"}, {"password", bench_admin_password}}.dump());
    if (r.status == 200)
      token = json::parse(r.body, nullptr, false).value("token", "");
    else
      std::this_thread::sleep_for(50ms); // the first admin appears once the read models caught up
  }
  if (token.empty()) {
    std::printf("error: no login within 30 s: %s\n", server.log_tail().c_str());
    return false;
  }
  g_authorization = "Bearer " + token;
  const auto vms = create_bench_vms(server.port());
  if (!vms) {
    g_authorization.clear();
    return false;
  }
  const auto q =
      run_wrk("http://127.0.0.1:" + std::to_string(server.port()), o.seconds, g_authorization,
              write_paths_script(dir.path + "/auth-paths.lua", vms->paths()));
  std::printf("    $ %s\n", q.command.c_str());
  if (!wrk_usable(q, "qvdc (authentication on)")) {
    g_authorization.clear();
    return false;
  }
  out.auth_get_per_s = q.per_s;
  std::printf("    qvdc, authentication on   %10.0f req/s\n", q.per_s);
  std::printf("    same-run reference, --no-auth %7.0f req/s ([1]); auth_get_ratio %.3f\n",
              out.get_per_s, q.per_s / out.get_per_s);
  figures writes;
  const qx::bench::pinned_apart apart{server.pid()};
  if (!phase_write(o, server.port(), vms->ids.front(), writes)) {
    g_authorization.clear();
    return false;
  }
  out.auth_write_p99_ms = writes.write_p99_ms;
  std::printf(
      "    writes p99 with authentication and audit %s ms; same-run reference ([2]) %s ms\n",
      fmt_ms(out.auth_write_p99_ms).c_str(), fmt_ms(out.write_p99_ms).c_str());
  g_authorization.clear();
  std::printf("    server: %s\n", server.stop().c_str());
  return true;
}

// --- [5] DRS inside the live server ---

/// The value of the unlabelled series `name` in a Prometheus text exposition; -1 when absent.
double metric_value(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos)
    return -1;
  return std::strtod(text.c_str() + at + name.size() + 2, nullptr);
}

/// [5] A DRS pass inside `qvdc serve`: `nodes` stand-in hosts in one cluster, `vms` VMs started
/// on a quarter of them (each measured 80 % busy), DRS manual with a pass a second. The pass's
/// compute time (qvdc_drs_last_pass_seconds, sampled after each pass) and GET p99 while the
/// passes run; reference: the same GETs at the same rate on the same server before DRS is on.
bool phase_drs(const options& o, const temp_dir& dir, figures& out) {
  const int nodes = o.quick ? 8 : 64;
  const int vms = o.quick ? 200 : 8000;
  const double seconds = o.quick ? 2 : 5;
  const double rate = 1000;
  std::printf("\n[5] DRS in the live server: %d stand-in nodes, %d VMs on %d of them, DRS manual, "
              "a pass a second; GET at %.0f/s for %.0f s without, then with, the passes\n",
              nodes, vms, nodes / 4, rate, seconds);
  server_process server;
  if (!server.start(
          o.qvdc, dir.path + "/drs",
          {"--hypervisor-stand-in", "--stand-in-demand", "0.8", "--drs-interval-s", "1"})) {
    std::printf("error: the DRS server did not start: %s\n", server.log_tail().c_str());
    return false;
  }
  std::printf("    server: pid %d\n", server.pid());
  const int port = server.port();
  sync_client c{port};
  const auto must = [&](http::verb verb, const std::string& target, const std::string& body,
                        unsigned want) {
    const auto r = c.send(verb, target, body);
    if (r.status != want)
      std::printf("error: %s answered %u (expected %u): %s%s\n", target.c_str(), r.status, want,
                  r.body.c_str(), r.error.c_str());
    return r.status == want;
  };
  if (!wait_for_status(port, "/ready", 200, 10s) ||
      !must(http::verb::post, "/api/v1/clusters",
            json{{"id", "c1"}, {"name", "c1"}, {"drs", {{"enabled", false}}}}.dump(), 201))
    return false;
  for (int n = 0; n < nodes; ++n) {
    const auto id = "n" + std::to_string(n);
    if (!must(http::verb::post, "/api/v1/nodes",
              json{{"id", id},
                   {"hostname", "host-" + id},
                   {"address", "10.1.0." + std::to_string(n + 1)},
                   {"hardware", {{"cpuThreads", 256}, {"cpuCores", 128}, {"memoryMib", 1 << 20}}}}
                  .dump(),
              201) ||
        !must(http::verb::post, "/api/v1/clusters/c1/nodes/" + id, "{}", 200))
      return false;
  }
  const auto setup_began = clock_type::now();
  for (int i = 0; i < vms; ++i) {
    const auto id = "d" + std::to_string(i);
    if (!must(http::verb::post, "/api/v1/vms",
              json{{"id", id}, {"spec", {{"name", id}, {"vcpus", 1}, {"memoryMib", 1024}}}}.dump(),
              201) ||
        !must(http::verb::post, "/api/v1/vms/" + id + "/start",
              json{{"nodeId", "n" + std::to_string(i % (nodes / 4))}}.dump(), 202))
      return false;
  }
  const auto last = "/api/v1/vms/d" + std::to_string(vms - 1);
  const auto running_by = clock_type::now() + 60s;
  while (json::parse(c.send(http::verb::get, last).body, nullptr, false).value("powerState", "") !=
         "running") {
    if (clock_type::now() > running_by) {
      std::printf("error: %s is not running 60 s after its start\n", last.c_str());
      return false;
    }
    std::this_thread::sleep_for(50ms);
  }
  std::printf("    set-up: %d VMs created and started in %.1f s\n", vms,
              ms_between(setup_began, clock_type::now()) / 1000);

  const auto gets = [&](const char* what) {
    open_loop reads{port, o.connections,
                    [&](std::size_t k) {
                      return make_request(http::verb::get,
                                          "/api/v1/vms/d" + std::to_string(k % vms), port);
                    },
                    nullptr};
    const auto r = reads.run(rate, seconds, 15s);
    const auto p = percentiles_of(latencies_ms(r));
    print_latency(what, p);
    const auto bad = count_non_2xx(r);
    if (bad > 0)
      std::printf("    error: %zu of %zu GETs did not answer 200 (%s)\n", bad, r.size(),
                  status_counts(r).c_str());
    return bad == 0 ? p.p99 : inf;
  };
  const qx::bench::pinned_apart apart{server.pid()};
  const double reference_p99 = gets("same-run reference: GET, no DRS");
  if (std::isinf(reference_p99) ||
      !must(http::verb::patch, "/api/v1/clusters/c1",
            json{{"drs",
                  {{"enabled", true},
                   {"automation", "manual"},
                   {"migrationThreshold", 4},
                   {"holdSeconds", 1},
                   // A VM is a small share of a big host: a single move's gain is far below
                   // the default minimum (0.01) that keeps DRS from moving for nothing.
                   {"minGain", 0.0001}}}}
                .dump(),
            200))
    return false;
  // The passes' compute times, read from /metrics after each pass while the GETs run.
  std::atomic<bool> sampling{true};
  std::vector<double> pass_ms;
  std::vector<double> pass_cpu_ms;
  double passes_seen = -1;
  std::thread sampler([&] {
    sync_client m{port};
    while (sampling.load()) {
      const auto text = m.send(http::verb::get, "/metrics").body;
      const double passes = metric_value(text, "qvdc_drs_passes_total");
      if (passes > 0 && passes != passes_seen) {
        if (passes_seen >= 0) {
          pass_ms.push_back(1000 * metric_value(text, "qvdc_drs_last_pass_seconds"));
          pass_cpu_ms.push_back(1000 * metric_value(text, "qvdc_drs_last_pass_cpu_seconds"));
        }
        passes_seen = passes;
      }
      std::this_thread::sleep_for(100ms);
    }
  });
  std::this_thread::sleep_for(1200ms); // the first pass with DRS on, before the GETs
  const double drs_p99 = gets("GET while DRS passes run");
  sampling = false;
  sampler.join();
  const auto status =
      json::parse(c.send(http::verb::get, "/api/v1/clusters/c1/drs").body, nullptr, false);
  const auto pass = percentiles_of(pass_ms);
  const auto pass_cpu = percentiles_of(pass_cpu_ms);
  std::printf("    DRS passes over %d nodes / %d VMs: %zu sampled, p50 %s ms, max %s ms "
              "(goal < 100 ms); imbalance %.3f (target %.3f), %d recommendations pending\n",
              nodes, vms, pass.count, fmt_ms(pass.p50).c_str(), fmt_ms(pass.max).c_str(),
              status.value("imbalance", -1.0), status.value("targetImbalance", -1.0),
              status.value("pendingRecommendations", 0));
  std::printf("    the same passes' CPU time on their thread: p50 %s ms, max %s ms\n",
              fmt_ms(pass_cpu.p50).c_str(), fmt_ms(pass_cpu.max).c_str());
  std::printf("    GET p99 during the passes %s ms (goal < 10 ms); same-run reference without "
              "DRS %s ms\n",
              fmt_ms(drs_p99).c_str(), fmt_ms(reference_p99).c_str());
  std::printf("    server: %s\n", server.stop().c_str());
  if (pass.count == 0) {
    std::printf("error: no DRS pass was seen while the GETs ran\n");
    return false;
  }
  if (status.value("pendingRecommendations", 0) == 0) {
    std::printf("error: the passes recommended nothing: they did no work\n");
    return false;
  }
  out.drs_pass_ms = pass.max;
  out.drs_get_p99_ms = drs_p99;
  return !std::isinf(drs_p99);
}

int run(const options& o) {
  temp_dir dir;
  dir.keep = o.keep_temp;
  if (o.only_drs) {
    figures fig;
    if (!phase_drs(o, dir, fig))
      return 1;
    std::printf("RESULT drs_pass_ms=%s drs_get_p99_ms=%s\n", fmt_ms(fig.drs_pass_ms).c_str(),
                fmt_ms(fig.drs_get_p99_ms).c_str());
    return 0;
  }
  server_process server;
  std::vector<std::string> server_args;
  if (o.batch_window_ms > 0)
    server_args = {"--watch-batch-window-ms", std::to_string(o.batch_window_ms)};
  if (!server.start(o.qvdc, dir.path, server_args)) {
    std::printf("error: `%s serve --listen 127.0.0.1:0 --data-dir %s/data` printed no "
                "\"qvdc serve: listening on 127.0.0.1:<port>\" line on stdout (it exited, or 30 s "
                "passed)\nstdout: %s\n"
                "stderr: %s\n",
                o.qvdc.c_str(), dir.path.c_str(), server.stdout_seen().c_str(),
                server.log_tail().c_str());
    return 1;
  }
  std::printf("server: pid %d, port %d, data dir %s/data; load average %s\n", server.pid(),
              server.port(), dir.path.c_str(), load_average().c_str());
  if (!wait_for_status(server.port(), "/ready", 200, 10s))
    std::printf("warning: GET /ready did not answer 200 within 10 s\n");
  const auto vms = create_bench_vms(server.port());
  if (!vms)
    return 1;
  figures fig;
  if (!phase_get(o, dir, server.port(), *vms, fig))
    return 1;
  { // From here the figures are latencies: the server and this driver on different cores.
    const qx::bench::pinned_apart apart{server.pid()};
    if (!phase_write(o, server.port(), vms->ids.front(), fig))
      return 1;
    // Every count of watchers with one frame per message; then the most watchers again with
    // batch=N, the mode for clients that follow everything. The headline watch figure is that
    // last run (the run with the most watchers when --batch 1).
    const int most = *std::max_element(o.watchers.begin(), o.watchers.end());
    for (const int n : o.watchers) {
      double p99 = inf;
      if (!phase_watch_one(o, n, 1, server.pid(), server.port(), p99))
        return 1;
      if (n == most)
        fig.watch_p99_ms = p99;
    }
    if (o.batch > 1) {
      double p99 = inf;
      if (!phase_watch_one(o, most, o.batch, server.pid(), server.port(), p99))
        return 1;
      fig.watch_p99_ms = p99;
    }
  }
  std::printf("\nserver: %s; load average now %s\n", server.stop().c_str(), load_average().c_str());
  if (!phase_auth(o, dir, fig))
    return 1;
  if (!phase_drs(o, dir, fig))
    return 1;
  std::printf("RESULT get_ratio=%.3f get_per_s=%.0f nginx_per_s=%.0f write_p99_ms=%s "
              "watch_p99_ms=%s auth_get_ratio=%.3f auth_write_p99_ms=%s drs_pass_ms=%s "
              "drs_get_p99_ms=%s\n",
              fig.get_per_s / fig.nginx_per_s, fig.get_per_s, fig.nginx_per_s,
              fmt_ms(fig.write_p99_ms).c_str(), fmt_ms(fig.watch_p99_ms).c_str(),
              fig.auth_get_per_s / fig.get_per_s, fmt_ms(fig.auth_write_p99_ms).c_str(),
              fmt_ms(fig.drs_pass_ms).c_str(), fmt_ms(fig.drs_get_p99_ms).c_str());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  const auto o = parse_options(argc, argv);
  if (!o) {
    usage();
    return 1;
  }
  if (!tools_present())
    return exit_missing_tool;
  if (access(o->qvdc.c_str(), X_OK) != 0) {
    std::printf("bench_api: qvdc not found at %s (build the qvdc target or pass --qvdc)\n",
                o->qvdc.c_str());
    return 1;
  }
  const int max_watchers = *std::max_element(o->watchers.begin(), o->watchers.end());
  raise_nofile(static_cast<rlim_t>(2 * max_watchers + 4 * o->connections + 1024));
  install_watchdog(watchdog_seconds(*o));
  std::printf("bench_api: qvdc serve over loopback, %s run (wrk %d s, writes %.0f/s for %.1f s, "
              "fan-out %.0f events/s for %.1f s)\n",
              o->quick ? "quick" : "default", o->seconds, o->rate, o->write_seconds, o->event_rate,
              o->watch_seconds);
  return run(*o);
}
