#include "demo_datacenter.hpp"

#include <qx/net/http_fetch.hpp>
#include <qx/node/test_host.hpp>

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

extern char** environ; // NOLINT: POSIX

namespace qx::app {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct demo_host {
  const char* name;
  std::uint32_t cpus;
  std::uint64_t memory_mib;
};

constexpr demo_host hosts[] = {
    {"demo-node-1", 8, 32768}, {"demo-node-2", 16, 65536}, {"demo-node-3", 4, 16384}};

std::string find_qx_node(const std::string& given) {
  if (!given.empty())
    return given;
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (const auto& candidate : {self / "qx-node", self / ".." / "node" / "qx-node"})
    if (fs::exists(candidate, ec))
      return candidate.lexically_normal().string();
  return "qx-node";
}

/// One HTTP call that must succeed (2xx) or be `tolerated` (e.g. 409 for what exists).
result<json> call(const std::string& method, const std::string& url, const json& body,
                  unsigned tolerated = 0) {
  net::fetch_request r;
  r.method = method;
  r.url = url;
  if (!body.is_null())
    r.body = body.dump();
  r.timeout = std::chrono::seconds{10};
  auto res = net::http_fetch(r);
  if (!res)
    return std::move(res).error();
  if ((res->status < 200 || res->status >= 300) && res->status != tolerated)
    return error{errc::unavailable, method + " " + url + " answered " +
                                        std::to_string(res->status) + ": " + res->body};
  auto j = json::parse(res->body, nullptr, false);
  return j.is_discarded() ? json{} : j;
}

/// Spawns qx-node with stdout and stderr in `log`, and reads its port from the line
/// "listening on host:port" there.
result<std::pair<pid_t, std::string>>
spawn_agent(const std::string& exe, std::vector<std::string> args, const std::string& log) {
  args.insert(args.begin(), exe);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // qvdc blocks SIGTERM and SIGINT for sigwait: the agents must not inherit that.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    return error{errc::unavailable, "cannot start " + exe + " (use --qx-node PATH)"};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in{log};
    std::string line;
    while (std::getline(in, line)) {
      const auto at = line.find("listening on ");
      if (at != std::string::npos)
        return std::pair{pid, "http://" + line.substr(at + 13)};
    }
    if (waitpid(pid, nullptr, WNOHANG) == pid)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return error{errc::unavailable, exe + " did not start; see " + log};
}

/// What to open and what to try, on every start (a restart finds the datacenter as it was).
void print_what_to_try(const std::string& cp, const fs::path& dir) {
  std::printf(
      "\ndemo: the datacenter is ready: cluster demo, three hosts, pool demo-pool, network "
      "demo-net.\n"
      "  open      %s/api/v1/nodes   (also /vms, /clusters, /events, /watch; docs/api/README.md)\n"
      "  try       curl -X POST %s/api/v1/volumes -H 'Content-Type: application/json' \\\n"
      "              -d '{\"id\":\"disk-1\",\"name\":\"disk\",\"poolId\":\"demo-pool\","
      "\"sizeBytes\":1073741824}'\n"
      "            curl -X POST %s/api/v1/vms -H 'Content-Type: application/json' \\\n"
      "              -d '{\"id\":\"vm-1\",\"spec\":{\"name\":\"web\",\"vcpus\":2,"
      "\"memoryMib\":1024,\"volumeIds\":[\"disk-1\"],\"networkIds\":[\"demo-net\"]}}'\n"
      "            curl -X POST %s/api/v1/vms/vm-1/start\n"
      "            curl %s/api/v1/nodes/demo-node-2/agent\n"
      "  DRS, HA   curl %s/api/v1/clusters/demo/drs   (also /drs/recommendations, /ha, /rules)\n"
      "  agents    logs and configs in %s; each VM's CPU demand in its demand.txt\n"
      "  Ctrl-C stops the control plane and its agents; the next start finds everything as it "
      "was.\n\n",
      cp.c_str(), cp.c_str(), cp.c_str(), cp.c_str(), cp.c_str(), cp.c_str(), dir.string().c_str());
  std::fflush(stdout);
}

} // namespace

demo_datacenter::~demo_datacenter() {
  stop();
}

status demo_datacenter::start(const demo_options& opts) {
  const auto dir = fs::path{opts.data_dir} / "demo";
  std::error_code ec;
  fs::create_directories(dir / "pools", ec);
  if (ec)
    return error{errc::io_error, "cannot create " + dir.string() + ": " + ec.message()};
  const auto exe = find_qx_node(opts.qx_node_path);
  const auto& cp = opts.control_plane_url;
  // Test-driver hosts measure no real CPU: each VM's demand comes from this file (edit it to
  // script a spike; the agents read it again when it changes), so DRS has work to do.
  const auto demand = dir / "demand.txt";
  if (!fs::exists(demand))
    std::ofstream{demand} << "# <vm id or *> constant F | diurnal BASE AMPLITUDE PEAK_HOUR | "
                             "spikes BASE PEAK EVERY_S LENGTH_S\n"
                             "* diurnal 0.3 0.2 14\n";
  std::vector<std::string> registered;
  for (const auto& h : hosts) {
    auto uri = node::write_test_host(dir / (std::string{h.name} + ".xml"),
                                     node::test_host_spec{h.cpus, h.memory_mib, "x86_64", 2400});
    if (!uri)
      return uri.error();
    auto agent = spawn_agent(exe,
                             {"--config", (dir / (std::string{h.name} + ".yaml")).string(),
                              "--listen", "127.0.0.1:0", "--libvirt-uri", *uri, "--pools-root",
                              (dir / "pools" / h.name).string(), "--no-token", "--test-demand",
                              demand.string()},
                             (dir / (std::string{h.name} + ".log")).string());
    if (!agent)
      return agent.error();
    children_.push_back(agent->first);
    const auto& url = agent->second;
    auto state = call("GET", url + "/api/v1/cluster/status", nullptr);
    if (!state)
      return state.error();
    if (state->value("status", "") != "standalone") {
      std::printf("demo: %s is node %s already (agent at %s)\n", h.name,
                  state->value("nodeId", "").c_str(), url.c_str());
      continue;
    }
    // The real token flow: the host issues a token (as its console would), the control plane
    // checks and registers the host with it.
    auto token = call("POST", url + "/api/v1/registration/token", json::object());
    if (!token)
      return token.error();
    auto node = call("POST", cp + "/api/v1/nodes/discover",
                     json{{"hostUrl", url},
                          {"token", token->value("token", "")},
                          {"register", true},
                          {"nodeId", h.name}});
    if (!node)
      return node.error();
    registered.emplace_back(h.name);
    std::printf("demo: registered %s (%u CPUs, %llu MiB) from its agent at %s\n", h.name, h.cpus,
                static_cast<unsigned long long>(h.memory_mib), url.c_str());
  }
  if (registered.empty()) {
    print_what_to_try(cp, dir);
    return {};
  }
  for (const auto& [method, path, body] :
       std::initializer_list<std::tuple<const char*, std::string, json>>{
           {"POST", "/api/v1/clusters",
            json{{"id", "demo"},
                 {"name", "Demo cluster"},
                 {"ha", {{"enabled", true}}},
                 {"drs", {{"enabled", true}, {"automation", "manual"}}}}},
           {"POST", "/api/v1/storage/pools",
            json{{"id", "demo-pool"},
                 {"name", "Demo pool"},
                 {"type", "dir"},
                 {"settings", {{"path", (dir / "pools" / "demo-pool").string()}}},
                 {"capacityBytes", std::uint64_t{1} << 40U}}},
           {"POST", "/api/v1/networks",
            json{{"id", "demo-net"},
                 {"name", "Demo network"},
                 {"type", "overlay"},
                 {"cidr", "10.10.0.0/24"}}}}) {
    if (auto ok = call(method, cp + path, body, 409); !ok)
      return ok.error();
  }
  for (const auto& n : registered) {
    for (std::string path :
         {"/api/v1/clusters/demo/nodes/", "/api/v1/storage/pools/demo-pool/nodes/"}) {
      path += n;
      if (auto ok = call("POST", cp + path, json::object(), 409); !ok)
        return ok.error();
    }
  }
  print_what_to_try(cp, dir);
  return {};
}

void demo_datacenter::stop() {
  for (const auto pid : children_)
    kill(pid, SIGTERM);
  for (const auto pid : children_)
    waitpid(pid, nullptr, 0);
  children_.clear();
}

} // namespace qx::app
