#include "serve_command.hpp"

#include "console_default.hpp"
#include "demo_datacenter.hpp"

#include <qx/api/server.hpp>
#include <qx/base/paths.hpp>

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

namespace qx::app {

namespace {

struct serve_args {
  std::string listen = "127.0.0.1:8080";
  api::server_options opts;
  bool demo = false;
  std::string qx_node;
  serve_args() {
    // Where scripts/build-console puts the console of this build; started without it, `/`
    // says how to build it.
    opts.console_dir = default_console_dir;
  }
};

/// "host:port" with a numeric port (0: any free one).
bool parse_listen(const std::string& text, api::server_options& opts) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return false;
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port > 65535)
      return false;
  } catch (const std::exception&) {
    return false;
  }
  opts.listen_host = text.substr(0, colon);
  if (opts.listen_host.size() > 2 && opts.listen_host.front() == '[')
    opts.listen_host = opts.listen_host.substr(1, opts.listen_host.size() - 2);
  opts.listen_port = static_cast<std::uint16_t>(port);
  return true;
}

int run(serve_args& args) {
  args.opts.data_dir = absolute_path(args.opts.data_dir); // the default too
  if (!parse_listen(args.listen, args.opts)) {
    std::fprintf(stderr, "qvdc serve: --listen must be host:port, e.g. 127.0.0.1:8080\n");
    return 2;
  }
  // Signals are taken by sigwait below; blocked before any thread starts so none gets them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (args.demo && args.opts.auth) {
    // The demo drives its own API to set itself up, and is meant for loopback.
    std::fprintf(stderr, "qvdc serve --demo: authentication is off in the demo (--no-auth)\n");
    args.opts.auth = false;
  }
  if (!args.opts.tls_cert_file.empty() || !args.opts.tls_key_file.empty())
    args.opts.tls = true;
  if (args.demo && args.opts.tls) {
    std::fprintf(stderr, "qvdc serve: --demo runs on loopback without TLS\n");
    return 2;
  }
  auto server = api::server::start(args.opts);
  if (!server) {
    std::fprintf(stderr, "qvdc serve: %s\n", server.error().to_string().c_str());
    return 1;
  }
  if (const auto pin = (*server)->tls_pin(); !pin.empty())
    std::printf("qvdc serve: TLS certificate pin %s (hosts joining check it)\n", pin.c_str());
  std::printf("qvdc serve: listening on %s:%u\n", args.opts.listen_host.c_str(),
              static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);
  demo_datacenter demo;
  if (args.demo) {
    const auto url = "http://" + args.opts.listen_host + ":" + std::to_string((*server)->port());
    if (auto ok = demo.start(demo_options{args.opts.data_dir, url, args.qx_node}); !ok) {
      std::fprintf(stderr, "qvdc serve --demo: %s\n", ok.error().to_string().c_str());
      demo.stop();
      (*server)->stop();
      return 1;
    }
  }
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "{\"msg\":\"stopping\",\"signal\":%d}\n", sig);
  demo.stop();
  (*server)->stop();
  return 0;
}

} // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<serve_args>();
  auto* cmd = app.add_subcommand("serve", "Serve the REST and WebSocket API");
  cmd->add_option("--listen", args->listen, "Address and port (port 0: any free one)")
      ->capture_default_str();
  cmd->add_option("--data-dir", args->opts.data_dir, "Data directory (the log lives in log/)")
      ->transform(qx::absolute_path, "", "PATH")
      ->capture_default_str();
  cmd->add_option("--io-threads", args->opts.io_threads, "HTTP I/O threads")
      ->check(CLI::Range(1U, 64U))
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", args->opts.limits.max_body_bytes, "Largest request body")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64} << 20U))
      ->capture_default_str();
  cmd->add_option("--max-upload-bytes", args->opts.limits.max_upload_bytes,
                  "Largest image upload body")
      ->check(CLI::Range(std::uint64_t{1}, (std::uint64_t{1} << 40U) + (std::uint64_t{1} << 20U)))
      ->capture_default_str();
  cmd->add_option("--max-connections", args->opts.limits.max_connections,
                  "Open connections before new ones get 503")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  cmd->add_option("--max-in-flight", args->opts.limits.max_in_flight,
                  "Commands waiting for the actors before new ones get 429")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  cmd->add_option("--watch-queue", args->opts.limits.watch_queue_events,
                  "Events a watcher may lag behind before it is told to resume")
      ->check(CLI::Range(std::size_t{16}, std::size_t{1'000'000}))
      ->capture_default_str();
  cmd->add_option_function<unsigned>(
         "--watch-batch-window-ms",
         [args](unsigned ms) {
           args->opts.limits.watch_batch_window = std::chrono::milliseconds{ms};
         },
         "How often watchers with batch=N get what was published meanwhile (ms)")
      ->check(CLI::Range(1U, 1000U))
      ->default_str("20");
  cmd->add_option_function<unsigned>(
         "--ha-lease-ms",
         [args](unsigned ms) { args->opts.ha_lease = std::chrono::milliseconds{ms}; },
         "How long a heartbeat keeps a node alive for HA (ms)")
      ->check(CLI::Range(1000U, 600'000U))
      ->default_str("15000");
  cmd->add_option_function<unsigned>(
         "--ha-fence-bound-ms",
         [args](unsigned ms) { args->opts.ha_fence_bound = std::chrono::milliseconds{ms}; },
         "How long a fenced agent may take to stop its VMs; HA restarts after lease + this (ms)")
      ->check(CLI::Range(0U, 600'000U))
      ->default_str("10000");
  cmd->add_option_function<unsigned>(
         "--drs-interval-s",
         [args](unsigned s) { args->opts.drs_interval = std::chrono::seconds{s}; },
         "Seconds between DRS passes")
      ->check(CLI::Range(1U, 86400U))
      ->default_str("300");
  cmd->add_option("--advertise-url", args->opts.advertise_url,
                  "This control plane's URL as node agents reach it (default http://<listen>)");
  cmd->add_flag("--demo", args->demo,
                "Also start three qx-node agents on libvirt test-driver hosts, registered by "
                "token, with a cluster, a pool and a network");
  cmd->add_option("--qx-node", args->qx_node, "The qx-node executable for --demo")
      ->transform(qx::absolute_path, "", "PATH");
  cmd->add_flag_function(
      "--no-auth", [args](std::int64_t) { args->opts.auth = false; },
      "No authentication, authorization or audit: every request is anonymous and allowed "
      "(tests and demos on loopback only)");
  cmd->add_option("--admin-password-file", args->opts.admin_password_file,
                  "First start: the first admin's password (first line of FILE); default a "
                  "random one, printed once")
      ->transform(qx::absolute_path, "", "PATH");
  cmd->add_option("--rate-limit", args->opts.rate_limit,
                  "Requests per second per principal (0: unlimited)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  cmd->add_option("--rate-burst", args->opts.rate_burst, "Burst per principal")
      ->check(CLI::Range(1.0, 1e7))
      ->capture_default_str();
  cmd->add_option("--anonymous-rate-limit", args->opts.anonymous_rate_limit,
                  "Requests per second per address without a valid token (0: unlimited)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  cmd->add_option("--anonymous-rate-burst", args->opts.anonymous_rate_burst,
                  "Burst per address without a valid token")
      ->check(CLI::Range(1.0, 1e7))
      ->capture_default_str();
  cmd->add_option_function<unsigned>(
         "--operation-timeout",
         [args](unsigned s) { args->opts.operation_timeout = std::chrono::seconds{s}; },
         "Seconds an operation may run before it fails with TIMED_OUT")
      ->check(CLI::Range(1U, 86400U))
      ->default_str("600");
  cmd->add_option_function<std::string>(
         "--console-dir",
         [args](const std::string& dir) {
           args->opts.console_dir = qx::absolute_path(dir);
           args->opts.console_required = !dir.empty();
         },
         "The built web console to serve at / (scripts/build-console); \"\" for none")
      ->default_str(default_console_dir);
  cmd->add_flag("--metrics-public", args->opts.metrics_public,
                "Serve /metrics without a token (default: a token with read on the datacenter)");
  cmd->add_flag("--tls", args->opts.tls,
                "HTTPS and WSS only; without --tls-cert/--tls-key a self-signed pair is made in "
                "<data-dir>/tls at first start");
  cmd->add_option("--tls-cert", args->opts.tls_cert_file, "PEM certificate (chain) for --tls")
      ->transform(qx::absolute_path, "", "PATH");
  cmd->add_option("--tls-key", args->opts.tls_key_file, "PEM private key for --tls")
      ->transform(qx::absolute_path, "", "PATH");
  cmd->add_flag("--hypervisor-stand-in", args->opts.hypervisor_stand_in,
                "Confirm VM power transitions at once (until node agents exist)");
  cmd->add_option("--stand-in-demand", args->opts.stand_in_demand,
                  "With --hypervisor-stand-in: each VM it starts is measured busy on this share "
                  "of its vCPUs (DRS's demand; benchmarks and tests)")
      ->check(CLI::Range(0.0, 1.0))
      ->needs("--hypervisor-stand-in");
  cmd->callback([args, &exit_code] { exit_code = run(*args); });
}

} // namespace qx::app
