// The server of `qvdc serve` with its log on power_cut_fs, for the whole server's power-loss
// test (power_loss_test.cpp): the same api::server as `qvdc serve --no-auth
// --hypervisor-stand-in --listen 127.0.0.1:0 --data-dir DATA_DIR`, printing the same
// "listening on" line. SIGUSR2 cuts the power: every later write of the log fails, what the
// disk would not have kept (unsynced tails, unsynced directory entries) is dropped from the
// files, and the process ends at once, no shutdown, with status 80 (81: the drop failed).
// SIGTERM stops it cleanly.
//
// usage: qvdc_power_cut_server DATA_DIR
#include <qx/api/server.hpp>
#include <qx/events/power_cut_fs.hpp>

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
    return 2;
  }
  // Taken by sigwait below; blocked before any thread starts so none gets them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto fs = std::make_shared<qx::events::power_cut_fs>();
  qx::api::server_options opts;
  opts.listen_port = 0;
  opts.data_dir = argv[1];
  opts.auth = false;
  opts.hypervisor_stand_in = true;
  opts.log_file_system = fs;
  auto server = qx::api::server::start(opts);
  if (!server) {
    std::fprintf(stderr, "power_cut_server: %s\n", server.error().to_string().c_str());
    return 1;
  }
  std::printf("power_cut_server: listening on 127.0.0.1:%u\n",
              static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  if (sig == SIGUSR2) {
    fs->cut_power();
    const auto dropped = fs->drop_unsynced();
    if (!dropped)
      std::fprintf(stderr, "power_cut_server: %s\n", dropped.error().to_string().c_str());
    std::_Exit(dropped ? 80 : 81);
  }
  (*server)->stop();
  return 0;
}
