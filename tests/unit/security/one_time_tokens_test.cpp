// One-time registration tokens: TTL on an injected clock, single use, hashes only, hostile input.
#include "qx/security/one_time_tokens.hpp"

#include "qx/security/secrets.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using qx::errc;
using qx::security::one_time_tokens;
using time_point = std::chrono::system_clock::time_point;

/// A clock the test moves by hand.
struct manual_time {
  std::shared_ptr<time_point> now =
      std::make_shared<time_point>(std::chrono::sys_days{std::chrono::year{2030} / 1 / 1});
  [[nodiscard]] one_time_tokens::clock_fn fn() const {
    return [n = now] {
      return *n;
    };
  }
  void advance(std::chrono::seconds d) const { *now += d; }
};

template<class T>
std::string reason_of(const qx::result<T>& r) {
  if (r)
    return "accepted";
  EXPECT_EQ(r.error().code, errc::unauthenticated) << r.error().to_string();
  const auto it = r.error().details.find("reason");
  return it == r.error().details.end() ? "no reason" : it->second;
}

TEST(one_time_tokens, an_issued_token_checks_with_its_expiry_and_is_good_once) {
  manual_time t;
  one_time_tokens tokens{1h, t.fn()};
  const auto issued = tokens.issue();
  EXPECT_EQ(issued.token.size(), 43U);
  EXPECT_EQ(issued.expires_at, *t.now + 1h);
  EXPECT_EQ(tokens.active(), 1U);

  const auto checked = tokens.check(issued.token);
  ASSERT_TRUE(checked) << checked.error().to_string();
  EXPECT_EQ(*checked, issued.expires_at);
  // check() does not use it up.
  EXPECT_TRUE(tokens.check(issued.token));

  EXPECT_TRUE(tokens.consume(issued.token));
  EXPECT_EQ(tokens.active(), 0U);
  EXPECT_EQ(reason_of(tokens.consume(issued.token)), "TOKEN_INVALID");
  EXPECT_EQ(reason_of(tokens.check(issued.token)), "TOKEN_INVALID");
}

TEST(one_time_tokens, default_ttl_is_one_hour) {
  one_time_tokens defaults;
  const auto before = std::chrono::system_clock::now();
  const auto issued = defaults.issue();
  EXPECT_GE(issued.expires_at, before + 1h);
  EXPECT_LE(issued.expires_at, std::chrono::system_clock::now() + 1h);
}

TEST(one_time_tokens, tokens_are_distinct_and_independent) {
  manual_time t;
  one_time_tokens tokens{1h, t.fn()};
  const auto a = tokens.issue();
  const auto b = tokens.issue();
  EXPECT_NE(a.token, b.token);
  EXPECT_TRUE(tokens.consume(a.token));
  EXPECT_TRUE(tokens.check(b.token));
  EXPECT_TRUE(tokens.consume(b.token));
}

TEST(one_time_tokens, expiry_is_told_apart_from_invalid_for_a_day) {
  manual_time t;
  one_time_tokens tokens{10min, t.fn()};
  const auto issued = tokens.issue();
  t.advance(10min - 1s);
  EXPECT_TRUE(tokens.check(issued.token));
  t.advance(1s); // exactly at expires_at: no longer valid
  EXPECT_EQ(reason_of(tokens.check(issued.token)), "TOKEN_EXPIRED");
  EXPECT_EQ(reason_of(tokens.consume(issued.token)), "TOKEN_EXPIRED");
  EXPECT_EQ(tokens.active(), 0U);
  t.advance(24h - 1s);
  EXPECT_EQ(reason_of(tokens.consume(issued.token)), "TOKEN_EXPIRED");
  t.advance(1s);
  EXPECT_EQ(reason_of(tokens.check(issued.token)), "TOKEN_INVALID");
  EXPECT_EQ(reason_of(tokens.consume(issued.token)), "TOKEN_INVALID");
}

TEST(one_time_tokens, an_expired_token_cannot_be_consumed_even_once) {
  manual_time t;
  one_time_tokens tokens{1s, t.fn()};
  const auto issued = tokens.issue();
  t.advance(2s);
  EXPECT_EQ(reason_of(tokens.consume(issued.token)), "TOKEN_EXPIRED");
  EXPECT_EQ(reason_of(tokens.consume(issued.token)), "TOKEN_EXPIRED");
}

TEST(one_time_tokens, zero_ttl_issues_tokens_that_are_expired_at_once) {
  manual_time t;
  one_time_tokens tokens{0s, t.fn()};
  const auto issued = tokens.issue();
  EXPECT_EQ(reason_of(tokens.check(issued.token)), "TOKEN_EXPIRED");
  EXPECT_EQ(tokens.active(), 0U);
}

TEST(one_time_tokens, issuing_beyond_max_active_drops_the_oldest) {
  manual_time t;
  one_time_tokens tokens{1h, t.fn(), 3};
  std::vector<one_time_tokens::issued_token> issued;
  for (int i = 0; i < 5; ++i) {
    issued.push_back(tokens.issue());
    t.advance(1s);
  }
  EXPECT_EQ(tokens.active(), 3U);
  EXPECT_EQ(reason_of(tokens.check(issued[0].token)), "TOKEN_INVALID");
  EXPECT_EQ(reason_of(tokens.check(issued[1].token)), "TOKEN_INVALID");
  for (int i = 2; i < 5; ++i)
    EXPECT_TRUE(tokens.check(issued[static_cast<std::size_t>(i)].token)) << i;
}

TEST(one_time_tokens, default_max_active_is_64) {
  manual_time t;
  one_time_tokens tokens{1h, t.fn()};
  const auto first = tokens.issue();
  for (int i = 0; i < 63; ++i)
    (void)tokens.issue();
  EXPECT_EQ(tokens.active(), 64U);
  EXPECT_TRUE(tokens.check(first.token));
  (void)tokens.issue();
  EXPECT_EQ(tokens.active(), 64U);
  EXPECT_EQ(reason_of(tokens.check(first.token)), "TOKEN_INVALID");
}

TEST(one_time_tokens, expired_tokens_do_not_count_as_active_nor_push_out_live_ones) {
  manual_time t;
  one_time_tokens tokens{1min, t.fn(), 2};
  (void)tokens.issue();
  (void)tokens.issue();
  t.advance(2min);
  const auto a = tokens.issue();
  const auto b = tokens.issue();
  EXPECT_EQ(tokens.active(), 2U);
  EXPECT_TRUE(tokens.check(a.token));
  EXPECT_TRUE(tokens.check(b.token));
}

TEST(one_time_tokens, memory_of_expired_tokens_is_bounded) {
  manual_time t;
  one_time_tokens tokens{1s, t.fn(), 2};
  std::vector<std::string> all;
  for (std::size_t i = 0; i < 3 * tokens.max_expired(); ++i) {
    all.push_back(tokens.issue().token);
    t.advance(2s);
  }
  (void)tokens.issue(); // prunes
  // The newest expired ones still answer TOKEN_EXPIRED, the oldest are forgotten.
  EXPECT_EQ(reason_of(tokens.check(all.back())), "TOKEN_EXPIRED");
  EXPECT_EQ(reason_of(tokens.check(all.front())), "TOKEN_INVALID");
  std::size_t remembered = 0;
  for (const auto& token : all)
    remembered += reason_of(tokens.check(token)) == "TOKEN_EXPIRED" ? 1 : 0;
  EXPECT_EQ(remembered, tokens.max_expired());
}

TEST(one_time_tokens, missing_tokens_are_told_apart) {
  manual_time t;
  one_time_tokens tokens{1h, t.fn()};
  (void)tokens.issue();
  for (const std::string blank : {"", " ", "\t", "  \r\n ", "\v\f"}) {
    EXPECT_EQ(reason_of(tokens.check(blank)), "TOKEN_MISSING") << "'" << blank << "'";
    EXPECT_EQ(reason_of(tokens.consume(blank)), "TOKEN_MISSING");
  }
}

TEST(one_time_tokens, hostile_input_is_invalid_and_changes_nothing) {
  manual_time t;
  one_time_tokens tokens{1h, t.fn()};
  const auto issued = tokens.issue();
  const std::vector<std::string> hostile{
      "x",
      issued.token.substr(0, 42),                    // a prefix
      issued.token + "A",                            // an extension
      " " + issued.token,                            // padded
      issued.token + "\n",                           // a trailing newline
      std::string(issued.token).insert(10, 1, '\0'), // NUL inside
      issued.token + std::string(1, '\0'),
      "\xc3\xa9" + issued.token, // non-ASCII
      std::string(513, 'A'),
      std::string(1 << 20, 'A'),              // a megabyte
      qx::security::sha256_hex(issued.token), // the stored hash is not the token
      "' OR 1=1 --",
      "%00",
  };
  for (const auto& h : hostile) {
    EXPECT_EQ(reason_of(tokens.check(h)), "TOKEN_INVALID") << h.size() << " bytes";
    EXPECT_EQ(reason_of(tokens.consume(h)), "TOKEN_INVALID");
  }
  EXPECT_EQ(tokens.active(), 1U);
  EXPECT_TRUE(tokens.consume(issued.token));
}

TEST(one_time_tokens, a_token_of_exactly_512_printable_bytes_is_looked_up) {
  manual_time t;
  one_time_tokens tokens{1h, t.fn()};
  // Not issued, so invalid either way; the point is that 512 is inside the limit and a
  // longer one is refused before hashing with the same answer.
  EXPECT_EQ(reason_of(tokens.check(std::string(512, '~'))), "TOKEN_INVALID");
  EXPECT_EQ(reason_of(tokens.check(std::string(513, '~'))), "TOKEN_INVALID");
  EXPECT_EQ(one_time_tokens::max_token_bytes, 512U);
}

TEST(one_time_tokens, refusals_never_echo_the_presented_token) {
  manual_time t;
  one_time_tokens tokens{1h, t.fn()};
  const std::string guess = "guessed-secret-value";
  const auto r = tokens.check(guess);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().to_string().find(guess), std::string::npos);
}

TEST(one_time_tokens, only_one_of_many_concurrent_consumers_wins) {
  one_time_tokens tokens;
  const auto issued = tokens.issue();
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int k = 0; k < 50; ++k)
        if (tokens.consume(issued.token))
          ++wins;
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(tokens.active(), 0U);
}

} // namespace
