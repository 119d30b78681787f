#include "qx/base/mapping_keys.hpp"

#include <algorithm>

namespace qx {

key_set::key_set(std::initializer_list<std::string_view> allowed)
    : allowed_(allowed.begin(), allowed.end()) {}

std::optional<std::string> key_set::add(std::string_view key) {
  if (std::find(allowed_.begin(), allowed_.end(), key) == allowed_.end())
    return "unknown field " + std::string{key};
  if (!seen_.emplace(key).second)
    return std::string{"appears twice"};
  return std::nullopt;
}

} // namespace qx
