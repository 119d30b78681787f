#include "replay_command.hpp"

#include "open_log.hpp"

#include <qx/api/replay.hpp>
#include <qx/base/paths.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <memory>

namespace qx::app {

namespace {

struct replay_args {
  std::string data_dir = "./var/qvdc";
  std::string until;
  std::string stream;
};

int run_replay(const replay_args& args) {
  // The tail check on open stays on: an auditor's replay must not fold a torn record.
  auto store = open_log(args.data_dir, true, true);
  if (!store)
    return report_failure("replay", store.error());
  auto bound = api::parse_replay_bound(args.until, "until", (*store)->head().position);
  if (!bound)
    return report_failure("replay", bound.error());
  if (!args.stream.empty()) {
    auto out = api::replay_stream(**store, *bound, args.stream);
    if (!out)
      return report_failure("replay", out.error());
    std::cout << *out << "\n";
    return exit_ok;
  }
  auto last_report = std::chrono::steady_clock::now();
  auto out = api::replay_datacenter(**store, *bound, [&](std::uint64_t done, std::uint64_t head) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_report > std::chrono::seconds{2}) {
      last_report = now;
      std::cerr << "replay: " << done << " of " << head << " records\n";
    }
  });
  if (!out)
    return report_failure("replay", out.error());
  std::cout << *out << "\n";
  return exit_ok;
}

} // namespace

void add_replay_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<replay_args>();
  auto* replay = app.add_subcommand(
      "replay", "print the state of the datacenter (or of one stream) as it was, as JSON");
  replay->add_option("--data-dir", args->data_dir, "the event log's folder")
      ->transform(qx::absolute_path, "", "PATH")
      ->capture_default_str();
  replay
      ->add_option("--until", args->until,
                   "a log position (the state after it) or an RFC 3339 time")
      ->required();
  replay->add_option("--stream", args->stream, "only this object's stream, e.g. vm-web1");
  replay->callback([args, &exit_code] { exit_code = run_replay(*args); });
}

} // namespace qx::app
