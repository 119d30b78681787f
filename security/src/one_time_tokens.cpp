#include "qx/security/one_time_tokens.hpp"

#include "qx/security/secrets.hpp"

#include <algorithm>
#include <utility>

namespace qx::security {

namespace {

using time_point = std::chrono::system_clock::time_point;

qx::error refusal(std::string_view reason, std::string message) {
  return {errc::unauthenticated, std::move(message), {{"reason", std::string{reason}}}};
}

bool blank(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  });
}

bool printable_ascii(std::string_view text) noexcept {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

bool expired(time_point expires_at, time_point now) noexcept {
  return now >= expires_at;
}

} // namespace

one_time_tokens::one_time_tokens(std::chrono::seconds ttl, clock_fn clock, std::size_t max_active)
    : ttl_(ttl), clock_(std::move(clock)), max_active_(std::max<std::size_t>(max_active, 1)) {
  if (!clock_)
    clock_ = std::chrono::system_clock::now;
}

one_time_tokens::issued_token one_time_tokens::issue() {
  std::lock_guard lock{mutex_};
  const auto now = clock_();
  prune_locked(now);
  auto live =
      static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [&](const entry& e) {
        return !expired(e.expires_at, now);
      }));
  while (live >= max_active_) {
    const auto oldest = std::find_if(entries_.begin(), entries_.end(),
                                     [&](const entry& e) { return !expired(e.expires_at, now); });
    entries_.erase(oldest);
    --live;
  }
  issued_token issued{random_token(), now + ttl_};
  entries_.push_back(entry{sha256_hex(issued.token), issued.expires_at});
  return issued;
}

result<std::chrono::system_clock::time_point>
one_time_tokens::check(std::string_view presented) const {
  std::lock_guard lock{mutex_};
  auto found = find_locked(presented, clock_());
  if (!found)
    return std::move(found).error();
  return entries_[*found].expires_at;
}

status one_time_tokens::consume(std::string_view presented) {
  std::lock_guard lock{mutex_};
  const auto now = clock_();
  auto found = find_locked(presented, now);
  if (found)
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(*found));
  prune_locked(now);
  if (!found)
    return std::move(found).error();
  return {};
}

std::size_t one_time_tokens::active() const {
  std::lock_guard lock{mutex_};
  const auto now = clock_();
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(),
                    [&](const entry& e) { return !expired(e.expires_at, now); }));
}

result<std::size_t> one_time_tokens::find_locked(std::string_view presented, time_point now) const {
  if (blank(presented))
    return refusal("TOKEN_MISSING", "no token was presented");
  // Neither the length nor the characters of a refused token appear in the message: it may be
  // a secret pasted into the wrong place.
  if (presented.size() > max_token_bytes)
    return refusal("TOKEN_INVALID", "the token is longer than any token issued here");
  if (!printable_ascii(presented))
    return refusal("TOKEN_INVALID", "the token holds characters no token issued here has");
  const auto hash = sha256_hex(presented);
  // Every kept hash is compared, whatever matched before: the time taken tells nothing about
  // which hash (if any) is the one.
  std::size_t found = entries_.size();
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const std::size_t match =
        0U - static_cast<std::size_t>(constant_time_equal(entries_[i].hash, hash));
    found = (i & match) | (found & ~match);
  }
  if (found == entries_.size())
    return refusal("TOKEN_INVALID", "the token is not one issued here, or it was used already");
  const auto expires_at = entries_[found].expires_at;
  if (expired(expires_at + expired_memory, now))
    return refusal("TOKEN_INVALID", "the token is not one issued here, or it was used already");
  if (expired(expires_at, now))
    return refusal("TOKEN_EXPIRED", "the token has expired; ask for a new one");
  return found;
}

void one_time_tokens::prune_locked(time_point now) {
  std::erase_if(entries_,
                [&](const entry& e) { return expired(e.expires_at + expired_memory, now); });
  auto kept_expired =
      static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [&](const entry& e) {
        return expired(e.expires_at, now);
      }));
  while (kept_expired > max_expired()) {
    const auto oldest = std::find_if(entries_.begin(), entries_.end(),
                                     [&](const entry& e) { return expired(e.expires_at, now); });
    entries_.erase(oldest);
    --kept_expired;
  }
}

} // namespace qx::security
