#pragma once

// `qvdc replay`: the datacenter (or one object) as it was at a log position or a time.

namespace CLI {
class App;
} // namespace CLI

namespace qx::app {

/// Adds the `replay` subcommand; its exit code lands in `exit_code`.
void add_replay_command(CLI::App& app, int& exit_code);

} // namespace qx::app
