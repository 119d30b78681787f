// qvdc: the Quantix vDC control plane. Subcommands: `log` (inspect the event log), `serve` (the
// API), `replay` (the state as it was).
#include "log_command.hpp"
#include "replay_command.hpp"
#include "serve_command.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"qvdc: the Quantix vDC control plane"};
  app.require_subcommand(1);
  int exit_code = 0;
  qx::app::add_log_command(app, exit_code);
  qx::app::add_serve_command(app, exit_code);
  qx::app::add_replay_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const auto code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
