// Actions the control plane refused, as the run records them: a structured refusal in the
// run's summary (for tests and the report) and a line in notes.txt, both with the simulated
// time, the step's action and target, and the error's code.
#include "engine.hpp"

namespace qx::sim {

void engine::refuse(const std::string& action, const std::string& target, const qx::error& e) {
  refusal r;
  r.at = now_;
  r.action = action;
  r.target = target;
  r.code = std::string{to_string(e.code)};
  if (const auto it = e.details.find("reason"); it != e.details.end())
    r.reason = it->second;
  r.message = e.message;
  auto line = action + " " + target + " refused: " + r.code;
  if (!r.reason.empty())
    line += " (" + r.reason + ")";
  note(line + ": " + r.message);
  refusals_.push_back(std::move(r));
}

std::function<void(actors::command_outcome&)> engine::on_refusal(std::string action,
                                                                 std::string target) {
  return [this, action = std::move(action), target = std::move(target)](auto& r) {
    if (!r)
      refuse(action, target, r.error());
  };
}

std::function<void(actors::placement_outcome&)> engine::on_placement_refusal(std::string action,
                                                                             std::string target) {
  return [this, action = std::move(action), target = std::move(target)](auto& r) {
    if (!r)
      refuse(action, target, r.error());
  };
}

} // namespace qx::sim
