#include "qx/actors/dropped_outcome.hpp"

#include <qx/base/log.hpp>

#include <algorithm>
#include <mutex>

namespace qx::actors {

namespace {

std::mutex counts_mutex;
std::map<std::string, std::uint64_t, std::less<>>& counts() {
  static std::map<std::string, std::uint64_t, std::less<>> c;
  return c;
}

} // namespace

void drop_failure(std::string_view component, std::string_view what, const error* failure,
                  std::initializer_list<errc> quiet) {
  if (failure == nullptr)
    return;
  {
    std::lock_guard lock{counts_mutex};
    auto it = counts().find(component);
    if (it == counts().end())
      it = counts().emplace(std::string{component}, 0).first;
    ++it->second;
  }
  if (std::find(quiet.begin(), quiet.end(), failure->code) != quiet.end())
    return;
  log::warn(component, "a command nobody waits for failed",
            {{"what", std::string{what}}, {"error", failure->to_string()}});
}

std::map<std::string, std::uint64_t, std::less<>> dropped_failures() {
  std::lock_guard lock{counts_mutex};
  return counts();
}

} // namespace qx::actors
