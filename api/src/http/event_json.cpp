#include "event_json.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>

#include <charconv>
#include <cstdint>
#include <ctime>
#include <memory>
#include <qx/events/text_fields.hpp>

namespace qx::api {

namespace {

json payload_json(const events::recorded_event& e) {
  const auto* d = google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(e.type);
  if (d == nullptr)
    return json{{"undecodable", true}};
  const auto* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(d);
  if (prototype == nullptr)
    return json{{"undecodable", true}};
  std::unique_ptr<google::protobuf::Message> m{prototype->New()};
  if (!qx::events::parse_message(*m, e.payload))
    return json{{"undecodable", true}};
  return to_json(*m);
}

bool digits(std::string_view s, std::size_t from, std::size_t n, int& out) {
  if (from + n > s.size())
    return false;
  const auto* b = s.data() + from;
  const auto r = std::from_chars(b, b + n, out);
  return r.ec == std::errc{} && r.ptr == b + n;
}

} // namespace

json event_to_json(const events::recorded_event& e) {
  return json{{"position", e.position},
              {"stream", e.stream},
              {"version", e.version},
              {"type", e.type},
              {"time", rfc3339(e.time_unix_ns)},
              {"principal", e.metadata.actor},
              {"correlationId", e.metadata.correlation_id},
              {"causationId", e.metadata.causation_id},
              {"data", payload_json(e)}};
}

std::string rfc3339(std::int64_t unix_ns) {
  const std::time_t secs = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  const auto nanos = static_cast<long>(unix_ns % 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%09ldZ", nanos);
  return std::string{buf, n} + frac;
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (s.size() < 20 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return std::nullopt;
  std::size_t i = 19;
  std::int64_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    std::size_t n = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++n)
      if (n < 9)
        nanos = nanos * 10 + (s[i] - '0');
    if (n == 0)
      return std::nullopt;
    for (; n < 9; ++n)
      nanos *= 10;
  }
  std::int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0;
    if (!digits(s, i + 1, 2, oh) || s[i + 3] != ':' || !digits(s, i + 4, 2, om) || oh > 23 ||
        om > 59)
      return std::nullopt;
    offset = (s[i] == '+' ? 1 : -1) * (std::int64_t{oh} * 3600 + std::int64_t{om} * 60);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size())
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  const std::int64_t secs = timegm(&tm) - offset;
  // Nanoseconds since 1970 fit in 64 bits from 1677 to 2262; times beyond clamp to the ends.
  constexpr std::int64_t limit = INT64_MAX / 1'000'000'000 - 1;
  if (secs > limit)
    return INT64_MAX;
  if (secs < -limit)
    return INT64_MIN;
  return secs * 1'000'000'000 + nanos;
}

} // namespace qx::api
