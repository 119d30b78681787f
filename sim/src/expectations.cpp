// A scenario's `expect` held against a run (run.hpp: unmet_expectations): what qvdc-sim
// reports and exits 1 for, and what the scenario library's test checks.
#include "qx/sim/run.hpp"

#include <algorithm>
#include <utility>

namespace qx::sim {

std::vector<std::string> unmet_expectations(const scenario& s, const run_result& r) {
  std::vector<std::string> out;
  const auto& placement = r.placement;
  const auto& e = s.expect;
  for (const auto& [vm, host] : e.running_on) {
    const auto it = placement.find(vm);
    if (it == placement.end() || it->second != host) {
      auto line = vm;
      line.append(" should run on ").append(host).append(", runs on ");
      line.append(it == placement.end() ? std::string{"nothing"} : it->second);
      out.push_back(std::move(line));
    }
  }
  for (const auto& vm : e.running)
    if (placement.count(vm) == 0)
      out.push_back(vm + " should be running");
  for (const auto& vm : e.not_running)
    if (placement.count(vm) != 0)
      out.push_back(vm + " should not be running");
  // Down at the end although nobody scripted it (a refused start, a restart that never came):
  // a failure unless the scenario says so.
  for (const auto& vm : r.meant_to_run)
    if (placement.count(vm) == 0 &&
        std::find(e.not_running.begin(), e.not_running.end(), vm) == e.not_running.end())
      out.push_back(vm + " is meant to run and is down at the end (notes.txt says why)");
  const auto count = [&](const std::string& type) {
    const auto it = r.event_counts.find("qx.events.v1." + type);
    return it == r.event_counts.end() ? std::uint64_t{0} : it->second;
  };
  for (const auto& type : e.events)
    if (count(type) == 0)
      out.push_back(type + " should occur");
  for (const auto& type : e.no_events)
    if (count(type) != 0)
      out.push_back(type + " should not occur (" + std::to_string(count(type)) + " times)");
  return out;
}

} // namespace qx::sim
