// The simulator's scenario YAML (sim/src/scenario.cpp), as `qvdc-sim run` reads it.
//
// Input: the YAML text. Trace and folder paths resolve against a scratch folder holding
// trace.csv and traces/ (so the seeds' workloads are accepted), which the harness makes once.
//
// Properties: parse_scenario answers a value or an error and never throws; a refusal names a
// field (details["field"] is present, maybe empty for the whole file); parse_duration of
// what it accepts is not negative.

#include "fuzz_common.hpp"

#include <qx/sim/scenario.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

const fs::path& scratch() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("qx-fuzz-scenario-" + std::to_string(::getpid()));
    fs::create_directories(d / "traces");
    std::ofstream{d / "trace.csv"} << "minute,cpu,memory\n0,0.5,0.5\n1,0.6,0.5\n";
    std::ofstream{d / "traces" / "vm-1.csv"} << "minute,cpu,memory\n0,0.5,0.5\n";
    return d;
  }();
  return dir;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static_cast<void>(scratch());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = qx::fuzz::as_text(data, size);
  qx::sim::scenario_limits limits;
  limits.max_file_bytes = 1U << 20U;
  auto s = qx::sim::parse_scenario(text, scratch(), limits);
  if (!s)
    qx::fuzz::check(s.error().details.contains("field"), "parse_scenario: a refusal names a field",
                    s.error().to_string());

  const auto [line, rest] = qx::fuzz::first_line(text);
  if (auto d = qx::sim::parse_duration(line))
    qx::fuzz::check(d->count() >= 0, "parse_duration: never negative");
  return 0;
}
