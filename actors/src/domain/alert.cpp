#include "qx/actors/domain/alert.hpp"

#include "overloaded.hpp"

namespace qx::domain::alert {

namespace {

using namespace events::v1;
using detail::overloaded;

status check_comment(const std::string& comment) {
  return check_text("comment", comment, 1024);
}

} // namespace

state initial(std::string_view id) {
  return initial_state<state>(id);
}

std::string_view name_of(const command& c) {
  static constexpr const char* names[] = {"acknowledge", "resolve"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[c.index()];
}

decision<event> decide(const state& s, const command& c) {
  if (s.resolved())
    return refused("ALERT_RESOLVED", "alert " + s.id() + " is resolved already");
  return std::visit(overloaded{[&](const acknowledge& cmd) -> decision<event> {
                                 if (auto ok = check_comment(cmd.comment); !ok)
                                   return ok.error();
                                 if (s.acknowledged())
                                   return std::vector<event>{};
                                 AlertAcknowledged ev;
                                 ev.set_id(s.id());
                                 ev.set_comment(cmd.comment);
                                 return std::vector<event>{ev};
                               },
                               [&](const resolve& cmd) -> decision<event> {
                                 if (auto ok = check_comment(cmd.comment); !ok)
                                   return ok.error();
                                 AlertResolved ev;
                                 ev.set_id(s.id());
                                 ev.set_comment(cmd.comment);
                                 return std::vector<event>{ev};
                               }},
                    c);
}

void evolve(state& s, const event& e) {
  std::visit(overloaded{[&](const AlertAcknowledged&) { s.set_acknowledged(true); },
                        [&](const AlertResolved&) {
                          s.set_resolved(true);
                        }},
             e);
}

} // namespace qx::domain::alert
