#include "qx/events/verify.hpp"

#include "record_codec.hpp"

namespace qx::events {

namespace {

constexpr std::size_t verify_batch = 4096;

verify_report broken(verify_report r, std::uint64_t position, std::string problem) {
  r.ok = false;
  r.break_position = position;
  r.problem = std::move(problem);
  return r;
}

} // namespace

result<verify_report> verify_log(event_store& store, std::uint64_t from,
                                 const verify_progress& progress) {
  from = std::max<std::uint64_t>(from, 1);
  const auto head = store.head();
  verify_report report;
  hash256 prev{};
  if (from > 1) {
    // The hash the first checked record must link to is the stored hash of its predecessor.
    auto before = store.read_raw(from - 1, 1);
    if (!before)
      return std::move(before).error();
    if (before->empty() || before->front().position != from - 1)
      return broken(report, from - 1, "missing record");
    auto h = detail::stored_hash(from - 1, before->front().bytes);
    if (!h)
      return broken(report, from - 1, h.error().message);
    prev = *h;
  }
  auto expected = from;
  for (;;) {
    auto batch = store.read_raw(expected, verify_batch);
    if (!batch) {
      if (batch.error().code == errc::corrupted)
        return broken(report, expected, batch.error().message);
      return std::move(batch).error();
    }
    if (batch->empty())
      break;
    for (const auto& rec : *batch) {
      if (rec.position != expected)
        return broken(report, expected,
                      "missing record (the next one is " + std::to_string(rec.position) + ")");
      auto ev = detail::decode_record(rec.position, rec.bytes);
      if (!ev)
        return broken(report, rec.position, ev.error().message);
      if (ev->prev_hash != prev)
        return broken(report, rec.position,
                      "record " + std::to_string(rec.position) +
                          ": does not link to the hash of the record before it");
      prev = *detail::stored_hash(rec.position, rec.bytes);
      report.records++;
      report.last_position = rec.position;
      ++expected;
    }
    if (progress)
      progress(report.last_position, head.position);
  }
  if (report.last_position > head.position)
    return broken(report, head.position + 1,
                  "record beyond the chain head (" + std::to_string(head.position) + ")");
  if (report.last_position < head.position && head.position >= from)
    return broken(report, report.last_position + 1,
                  "missing record (the chain head is at " + std::to_string(head.position) + ")");
  if (head.position >= from && report.last_position == head.position && prev != head.hash)
    return broken(report, head.position,
                  "record " + std::to_string(head.position) +
                      ": does not match the chain head's hash");
  return report;
}

} // namespace qx::events
