#include "qx/security/verified_tokens.hpp"

#include <mutex>

namespace qx::security {

result<token_claims> verified_tokens::verify(std::string_view token, std::int64_t now) {
  {
    std::shared_lock lock{mutex_};
    if (const auto it = claims_.find(std::string{token}); it != claims_.end()) {
      if (auto valid = check_validity(it->second, now); !valid)
        return std::move(valid).error();
      return it->second;
    }
  }
  auto claims = signer_.verify(token, now);
  if (!claims)
    return claims;
  std::unique_lock lock{mutex_};
  if (claims_.size() >= capacity_) {
    std::erase_if(claims_, [&](const auto& kv) { return !check_validity(kv.second, now); });
    if (claims_.size() >= capacity_)
      claims_.clear();
  }
  claims_.emplace(std::string{token}, *claims);
  return claims;
}

std::size_t verified_tokens::size() const {
  std::shared_lock lock{mutex_};
  return claims_.size();
}

} // namespace qx::security
