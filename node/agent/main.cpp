// qx-node: the node agent. Opens libvirt, serves the host API, and, once the host is a member
// of a control plane, keeps its session open. Prints "listening on HOST:PORT" when ready and,
// while standalone, a registration token for the console.
#include <qx/base/paths.hpp>
#include <qx/node/agent_config.hpp>
#include <qx/node/host_api.hpp>
#include <qx/node/libvirt_hypervisor.hpp>

#include "host_server.hpp"

#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>
#include <thread>

namespace {

volatile std::sig_atomic_t stop_requested = 0; // NOLINT: a signal handler's flag

extern "C" void on_signal(int) {
  stop_requested = 1;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"qx-node: the Quantix vDC node agent"};
  std::string config_path = "/etc/qx-node/config.yaml";
  std::string listen;
  std::string libvirt_uri;
  std::string pools_root;
  std::string advertise;
  int token_ttl = 3600;
  int heartbeat_ms = 1000;
  std::string fence_action = "stop-vms";
  std::string test_demand;
  bool no_token = false;
  qx::node::libvirt_options libvirt;
  app.add_option("--config", config_path, "the agent's YAML config (written on registration)")
      ->transform(qx::absolute_path, "", "PATH");
  app.add_option("--listen", listen, "host API address host:port (port 0: any free port)");
  app.add_option("--libvirt-uri", libvirt_uri, "libvirt connection (qemu:///system, test:///...)");
  app.add_option("--pools-root", pools_root, "folder under which new storage pools are created")
      ->transform(qx::absolute_path, "", "PATH");
  app.add_option("--advertise-url", advertise,
                 "the host API's URL as the control plane reaches it (default http://<listen>)");
  app.add_option("--token-ttl", token_ttl, "registration token lifetime in seconds")
      ->check(CLI::Range(1, 86400));
  app.add_option("--heartbeat-ms", heartbeat_ms, "heartbeat and telemetry period")
      ->check(CLI::Range(50, 60000));
  app.add_option("--fence-action", fence_action,
                 "when the control plane stops acknowledging heartbeats for HA's lease: stop-vms "
                 "(destroy the HA-protected VMs) or none (a hardware watchdog's job)")
      ->check(CLI::IsMember({"stop-vms", "none"}))
      ->capture_default_str();
  app.add_option("--test-demand", test_demand,
                 "libvirt's test driver only: each VM's CPU demand from FILE, lines '<vm id or *> "
                 "constant F | diurnal BASE AMPLITUDE PEAK_HOUR | spikes BASE PEAK EVERY_S "
                 "LENGTH_S', read again when it changes")
      ->transform(qx::absolute_path, "", "FILE");
  app.add_option("--domain-type", libvirt.domain_type,
                 "libvirt domain type to define (kvm, qemu; default: kvm when offered)");
  app.add_option("--serial-log-dir", libvirt.serial_log_dir,
                 "give every VM a serial console logged to DIR/<vm>.serial.log")
      ->transform(qx::absolute_path, "", "PATH");
  app.add_flag("--no-token", no_token, "do not issue a registration token at start");
  CLI11_PARSE(app, argc, argv);

  auto cfg = qx::node::load_agent_config(config_path);
  if (!cfg) {
    std::cerr << "qx-node: " << config_path << ": " << cfg.error().to_string() << '\n';
    return 2;
  }
  if (!listen.empty())
    cfg->listen = listen;
  if (!libvirt_uri.empty())
    cfg->libvirt_uri = libvirt_uri;
  if (!pools_root.empty())
    cfg->pools_root = pools_root;
  const auto colon = cfg->listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "qx-node: listen must be host:port\n";
    return 2;
  }
  auto host = cfg->listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[')
    host = host.substr(1, host.size() - 2);
  const auto port = static_cast<std::uint16_t>(std::stoul(cfg->listen.substr(colon + 1)));

  auto hv = qx::node::open_libvirt(cfg->libvirt_uri, libvirt);
  if (!hv) {
    std::cerr << "qx-node: libvirt " << cfg->libvirt_uri << ": " << hv.error().to_string() << '\n';
    return 1;
  }
  qx::node::agent_options opts;
  opts.config_path = config_path;
  opts.config = *cfg;
  opts.token_ttl = std::chrono::seconds{token_ttl};
  opts.heartbeat = std::chrono::milliseconds{heartbeat_ms};
  opts.fence_action = fence_action;
  opts.test_demand_file = test_demand;
  auto agent = qx::node::agent::open(std::move(opts), **hv);
  if (!agent) {
    std::cerr << "qx-node: " << agent.error().to_string() << '\n';
    return 2;
  }
  auto server = qx::node::host_server::start(
      host, port, [&a = **agent](const qx::node::host_request& r) { return a.handle(r); });
  if (!server) {
    std::cerr << "qx-node: " << server.error().to_string() << '\n';
    return 1;
  }
  const auto bound = (*server)->port();
  (*agent)->set_advertise_url(advertise.empty() ? "http://" + host + ":" + std::to_string(bound)
                                                : advertise);
  std::signal(SIGPIPE, SIG_IGN); // a closed stdout or peer is an error value, not a death
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::cout << "qx-node " << (*agent)->cluster_status() << ", listening on " << host << ":" << bound
            << std::endl;
  if (!no_token && (*agent)->cluster_status() == "standalone")
    (void)(*agent)->issue_token();
  while (stop_requested == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  (*server)->stop();
  (*agent)->stop();
  return 0;
}
