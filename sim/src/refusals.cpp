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

void engine::check_maintenance(const std::string& host) {
  const auto node = view_.nodes().find(host);
  if (node == view_.nodes().end() || node->second.state == "connected" ||
      node->second.state == "maintenance")
    return;
  // The node aggregate's own answer to enter_maintenance in this state (DRS would be refused
  // it once the node is empty, without telling anyone).
  refuse("maintenance_enable", host,
         error{errc::failed_precondition,
               "node " + host + " cannot enter_maintenance while " + node->second.state,
               {{"reason", "INVALID_NODE_STATE"}}});
}

} // namespace qx::sim
