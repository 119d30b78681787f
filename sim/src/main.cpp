// qvdc-sim: plays a scenario on the real actors, deterministically.
//   qvdc-sim run SCENARIO.yaml [--seed N] [--out DIR]
// Prints a summary and, last, `log_hash=<hex>`; exits 1 when an invariant was violated or an
// expectation of the scenario's `expect` was not met (each listed), 2 for unusable input.
#include "qx/sim/run.hpp"

#include <CLI/CLI.hpp>
#include <qx/base/paths.hpp>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"qvdc-sim: the deterministic simulator of Quantix vDC"};
  app.require_subcommand(1);
  auto* run = app.add_subcommand("run", "play a scenario and write its log, metrics and report");
  std::string file;
  std::uint64_t seed = 1;
  std::string out;
  run->add_option("scenario", file, "the scenario file (YAML)")->required();
  run->add_option("--seed", seed, "the seed of the workloads")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  run->add_option("--out", out, "folder for events.jsonl, metrics.csv, report.html, notes.txt")
      ->transform(qx::absolute_path, "", "PATH");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Unusable input exits 2, as a scenario that does not load does (help exits 0).
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto s = qx::sim::load_scenario(file);
  if (!s) {
    std::cerr << "qvdc-sim: " << s.error().to_string() << '\n';
    return 2;
  }
  qx::sim::run_options opts;
  opts.seed = seed;
  opts.out_dir = out;
  auto r = qx::sim::run_scenario(*s, opts);
  if (!r) {
    std::cerr << "qvdc-sim: " << r.error().to_string() << '\n';
    return 2;
  }
  const auto& sum = r->summary;
  std::cout << "scenario: " << sum.scenario << "\nseed: " << sum.seed
            << "\nsimulated_s: " << sum.duration.count() / 1000 << "\nwall_s: " << sum.wall_seconds
            << "\nevents: " << sum.events << "\nmigrations: " << sum.migrations
            << "\nrestarts: " << sum.restarts << "\nviolations: " << sum.violations.size() << '\n';
  for (const auto& v : sum.violations)
    std::cout << "  violation: " << v << '\n';
  const auto unmet = qx::sim::unmet_expectations(*s, *r);
  std::cout << "unmet_expectations: " << unmet.size() << '\n';
  for (const auto& u : unmet)
    std::cout << "  unmet: " << u << '\n';
  std::cout << "log_hash=" << sum.log_hash << '\n';
  return sum.violations.empty() && unmet.empty() ? 0 : 1;
}
