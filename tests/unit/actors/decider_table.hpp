#pragma once

// The harness of the table-driven decider tests: what a row expects, and a check that
// decides, compares the outcome, and replays the events through the log codec to prove they
// rebuild the same state.

#include <qx/actors/aggregates.hpp>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace qx::test::decider_table {

struct expect {
  bool accepted = false;
  std::size_t events = 0;
  std::string after; // describe() after, when accepted with events
  errc code = errc::invalid_argument;
  std::string reason; // details["reason"], "" when there is none
  std::string field;  // details["field"], "" when there is none
};

inline expect ok(std::string after) {
  expect e;
  e.accepted = true;
  e.events = 1;
  e.after = std::move(after);
  return e;
}
inline expect unchanged() {
  expect e;
  e.accepted = true;
  return e;
}
inline expect refusal(errc code, std::string reason = {}, std::string field = {}) {
  expect e;
  e.code = code;
  e.reason = std::move(reason);
  e.field = std::move(field);
  return e;
}
inline expect refused_for(std::string reason, std::string field = {}) {
  return refusal(errc::failed_precondition, std::move(reason), std::move(field));
}
inline const expect missing = refusal(errc::not_found);
inline const expect exists = refusal(errc::already_exists);
inline const expect gone = refused_for("DELETED");

inline std::string detail_of(const error& e, const std::string& key) {
  auto it = e.details.find(key);
  return it == e.details.end() ? std::string{} : it->second;
}

/// Decides `c` on `before` for aggregate A and checks the outcome against `want`; accepted
/// events must rebuild the same state when replayed through the log codec.
template<class A>
void check(const typename A::state& before, const typename A::command& c, const expect& want,
           const std::function<std::string(const typename A::state&)>& describe) {
  auto d = A::decide(before, c);
  if (!want.accepted) {
    ASSERT_FALSE(d) << "accepted, expected " << to_string(want.code);
    EXPECT_EQ(to_string(d.error().code), to_string(want.code)) << d.error().to_string();
    EXPECT_EQ(detail_of(d.error(), "reason"), want.reason) << d.error().to_string();
    EXPECT_EQ(detail_of(d.error(), "field"), want.field) << d.error().to_string();
    return;
  }
  ASSERT_TRUE(d) << d.error().to_string();
  ASSERT_EQ(d->size(), want.events);
  auto after = before;
  auto replayed = before;
  for (const auto& ev : *d) {
    A::evolve(after, ev);
    auto rec = domain::encode_event(ev);
    auto back = domain::decode_event<typename A::event>(rec.type, rec.payload);
    ASSERT_TRUE(back) << back.error().to_string();
    A::evolve(replayed, *back);
  }
  EXPECT_EQ(describe(after), want.events == 0 ? describe(before) : want.after);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(after, replayed));
}

} // namespace qx::test::decider_table
