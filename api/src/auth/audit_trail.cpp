#include "audit_trail.hpp"

#include <qx/events/v1/access.pb.h>

#include <algorithm>
#include <qx/events/text_fields.hpp>

namespace qx::api {

void audit_trail::apply(const events::recorded_event& e) {
  if (e.stream != audit_stream || e.type != "qx.events.v1.AuditRecorded")
    return;
  events::v1::AuditRecorded a;
  if (!qx::events::parse_message(a, e.payload))
    return;
  audit_row r{e.position,
              e.time_unix_ns,
              a.principal(),
              a.remote(),
              a.method(),
              a.path(),
              a.object(),
              a.action(),
              a.status(),
              a.code(),
              a.request_id(),
              a.privilege(),
              std::max<std::uint64_t>(a.count(), 1),
              a.first_unix_ns() != 0 ? a.first_unix_ns() : e.time_unix_ns};
  const std::lock_guard lock{mutex_};
  rows_.push_back(std::move(r));
}

std::vector<audit_row> audit_trail::query(const audit_query& q) const {
  std::vector<audit_row> out;
  const std::lock_guard lock{mutex_};
  auto it = std::upper_bound(rows_.begin(), rows_.end(), q.after_position,
                             [](std::uint64_t p, const audit_row& r) { return p < r.position; });
  for (; it != rows_.end() && out.size() <= q.limit; ++it) {
    if (!q.principal.empty() && it->principal != q.principal)
      continue;
    if (!q.object.empty() && it->object != q.object)
      continue;
    if (q.from_ns && it->time_unix_ns < *q.from_ns)
      continue;
    if (q.to_ns && it->time_unix_ns > *q.to_ns)
      continue;
    out.push_back(*it);
  }
  return out;
}

} // namespace qx::api
