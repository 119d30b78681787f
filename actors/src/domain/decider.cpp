#include "qx/actors/domain/decider.hpp"

namespace qx::domain {

status check_name(std::string_view field, std::string_view value, std::size_t max) {
  if (value.empty())
    return invalid_field(std::string{field}, std::string{field} + " is empty");
  if (value.size() > max)
    return invalid_field(std::string{field},
                         std::string{field} + " is longer than " + std::to_string(max) + " bytes");
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7F)
      return invalid_field(std::string{field}, std::string{field} + " holds a control character");
  return {};
}

} // namespace qx::domain
