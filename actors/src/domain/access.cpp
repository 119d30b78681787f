#include "qx/actors/domain/access.hpp"

#include "qx/actors/domain/decider.hpp"

#include <algorithm>
#include <array>

namespace qx::domain::access {

namespace {

bool lower_or_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

} // namespace

const std::vector<std::string>& all_privileges() {
  static const std::vector<std::string> all{"read",           "vm.power",       "vm.manage",
                                            "volume.manage",  "image.manage",   "alert.manage",
                                            "node.manage",    "cluster.manage", "storage.manage",
                                            "network.manage", "access.manage",  "audit.read"};
  return all;
}

bool is_privilege(std::string_view p) {
  const auto& all = all_privileges();
  return std::find(all.begin(), all.end(), p) != all.end();
}

std::optional<std::vector<std::string>> builtin_role(std::string_view name) {
  if (name == "admin")
    return all_privileges();
  if (name == "operator")
    return std::vector<std::string>{"read",          "vm.power",     "vm.manage",
                                    "volume.manage", "image.manage", "alert.manage"};
  if (name == "viewer")
    return std::vector<std::string>{"read"};
  return std::nullopt;
}

status check_role_name(std::string_view field, std::string_view name) {
  const bool ok = !name.empty() && name.size() <= 64 && name.front() >= 'a' &&
                  name.front() <= 'z' && std::all_of(name.begin(), name.end(), [](char c) {
                    return lower_or_digit(c) || c == '_' || c == '-';
                  });
  if (!ok)
    return invalid_field(std::string{field}, "a role name is [a-z][a-z0-9_-]{0,63}");
  return {};
}

status check_object(std::string_view field, std::string_view object) {
  if (object == "datacenter")
    return {};
  static constexpr std::array<std::string_view, 5> kinds{"cluster", "node", "vm", "pool",
                                                         "network"};
  const auto slash = object.find('/');
  const auto kind = object.substr(0, slash);
  const auto id = slash == std::string_view::npos ? std::string_view{} : object.substr(slash + 1);
  const bool kind_ok = std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
  const bool id_ok =
      !id.empty() && id.size() <= 64 &&
      std::all_of(id.begin(), id.end(), [](char c) { return c > ' ' && c < 127 && c != '/'; });
  if (slash == std::string_view::npos || !kind_ok || !id_ok)
    return invalid_field(std::string{field},
                         "an object is \"datacenter\" or <cluster|node|vm|pool|network>/<id>");
  return {};
}

status check_user_id(std::string_view field, std::string_view id) {
  const bool ok = !id.empty() && id.size() <= 64 && lower_or_digit(id.front()) &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return lower_or_digit(c) || c == '.' || c == '_' || c == '-';
                  });
  if (!ok)
    return invalid_field(std::string{field}, "a user id is [a-z0-9][a-z0-9._-]{0,63}");
  return {};
}

} // namespace qx::domain::access
