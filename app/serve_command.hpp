#pragma once

// `qvdc serve`: the control plane's HTTP and WebSocket API over one data directory.

namespace CLI {
class App;
} // namespace CLI

namespace qx::app {

/// Adds the `serve` subcommand; its exit code lands in `exit_code`.
void add_serve_command(CLI::App& app, int& exit_code);

} // namespace qx::app
