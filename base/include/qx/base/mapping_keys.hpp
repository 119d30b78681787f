#pragma once

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace qx {

/// The keys of one mapping read from an untrusted file (a scenario, the node agent's config),
/// checked as they come: each must be one of the allowed names and appear once. YAML parsers
/// keep one of two equal keys silently, so a reader that does not ask would act on half of
/// what was written.
class key_set {
 public:
  explicit key_set(std::initializer_list<std::string_view> allowed);

  /// nullopt when `key` is allowed and new; otherwise why not: "unknown field <key>" or
  /// "appears twice".
  [[nodiscard]] std::optional<std::string> add(std::string_view key);

 private:
  std::vector<std::string> allowed_;
  std::set<std::string, std::less<>> seen_;
};

} // namespace qx
