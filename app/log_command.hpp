#pragma once

namespace CLI {
class App;
} // namespace CLI

namespace qx::app {

/// Adds `qvdc log verify|dump|stats|demo` to the command line; the chosen one sets `exit_code`.
void add_log_command(CLI::App& app, int& exit_code);

} // namespace qx::app
