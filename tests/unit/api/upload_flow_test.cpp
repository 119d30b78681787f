#include "upload_flow.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <type_traits>
#include <variant>

namespace qx::api {

template<class T, class Variant>
struct is_alternative_of : std::false_type {};
template<class T, class... Alternatives>
struct is_alternative_of<T, std::variant<Alternatives...>>
    : std::bool_constant<(std::is_same_v<T, Alternatives> || ...)> {};

// GoogleTest prints an action by name, not by its bytes.
template<class Action>
requires is_alternative_of<Action, upload_flow::action>::value void PrintTo(const Action& a,
                                                                            std::ostream* os) {
  *os << to_string(upload_flow::action{a});
}

namespace {

using flow = upload_flow;
using action = upload_flow::action;

constexpr std::uint64_t mib = std::uint64_t{1} << 20U;

const action wait = flow::wait{};
const action complete = flow::send_complete{};
const action begin_operation = flow::begin_operation{};
const action check_file = flow::check_file{};
const action answer_failure = flow::answer_now{.failure = true};
const action answer_create_error = flow::answer_now{.create_error = true};

action progress(std::uint64_t amount) {
  return flow::send_progress{amount};
}

action fail(std::string reason) {
  return flow::send_fail{std::move(reason)};
}

/// A flow whose image exists and whose operation began: the body streams.
flow streaming(std::uint64_t declared) {
  flow f;
  f.create_sent(declared);
  EXPECT_EQ(f.create_replied(true), begin_operation);
  EXPECT_EQ(f.operation_begun(), wait);
  return f;
}

// --- Progress while the body streams.

TEST(upload_flow, progress_every_percent_of_a_large_file) {
  auto f = streaming(1000 * mib); // a step of 10 MiB
  EXPECT_EQ(f.progress_step(), 10 * mib);
  EXPECT_EQ(f.bytes_received(10 * mib - 1), wait);
  EXPECT_EQ(f.bytes_received(1), progress(10 * mib));
  EXPECT_EQ(f.progress_replied(), wait);
  EXPECT_EQ(f.reported(), 10 * mib);
  EXPECT_EQ(f.bytes_received(9 * mib), wait);
  EXPECT_EQ(f.bytes_received(2 * mib), progress(21 * mib));
}

TEST(upload_flow, progress_at_least_every_mebibyte_of_a_small_file) {
  auto f = streaming(10 * mib); // 1 % is 100 KiB: 1 MiB wins
  EXPECT_EQ(f.progress_step(), mib);
  EXPECT_EQ(f.bytes_received(mib / 2), wait);
  EXPECT_EQ(f.bytes_received(mib / 2), progress(mib));
}

TEST(upload_flow, one_progress_in_flight_at_a_time) {
  auto f = streaming(100 * mib);
  EXPECT_EQ(f.bytes_received(mib), progress(mib));
  EXPECT_EQ(f.bytes_received(5 * mib), wait); // due, but one is in flight
  EXPECT_EQ(f.in_flight(), mib);
  // The reply does not send by itself: the next bytes do.
  EXPECT_EQ(f.progress_replied(), wait);
  EXPECT_EQ(f.reported(), mib);
  EXPECT_EQ(f.bytes_received(1), progress(6 * mib + 1));
}

TEST(upload_flow, a_refused_progress_is_not_sent_again) {
  auto f = streaming(100 * mib);
  EXPECT_EQ(f.bytes_received(mib), progress(mib));
  EXPECT_EQ(f.progress_replied(), wait); // recorded or refused alike
  EXPECT_EQ(f.reported(), mib);
  EXPECT_EQ(f.bytes_received(mib - 1), wait);
}

TEST(upload_flow, no_progress_before_the_image_exists) {
  flow f;
  f.create_sent(100 * mib);
  EXPECT_EQ(f.bytes_received(5 * mib), wait);
  EXPECT_EQ(f.create_replied(true), begin_operation);
  EXPECT_EQ(f.operation_begun(), progress(5 * mib)); // the bytes that came meanwhile
}

TEST(upload_flow, progress_before_the_operation_began) {
  flow f;
  f.create_sent(100 * mib);
  EXPECT_EQ(f.create_replied(true), begin_operation);
  EXPECT_EQ(f.bytes_received(2 * mib), progress(2 * mib));
  EXPECT_EQ(f.operation_begun(), wait); // in flight already
}

// --- The end of the body.

TEST(upload_flow, last_progress_then_complete) {
  auto f = streaming(3 * mib + 5);
  EXPECT_EQ(f.bytes_received(3 * mib + 5), progress(3 * mib + 5));
  EXPECT_EQ(f.progress_replied(), wait);
  EXPECT_EQ(f.body_finished(), check_file);
  EXPECT_EQ(f.file_ready(), complete); // nothing left to report
  EXPECT_TRUE(f.settled());
}

TEST(upload_flow, the_bytes_not_reported_go_before_the_complete) {
  auto f = streaming(100 * mib);
  EXPECT_EQ(f.bytes_received(mib), progress(mib));
  EXPECT_EQ(f.progress_replied(), wait);
  EXPECT_EQ(f.bytes_received(99 * mib - 1), progress(100 * mib - 1));
  EXPECT_EQ(f.progress_replied(), wait);
  EXPECT_EQ(f.bytes_received(1), wait); // under a step
  EXPECT_EQ(f.body_finished(), check_file);
  EXPECT_EQ(f.file_ready(), progress(100 * mib));
  EXPECT_FALSE(f.settled());
  EXPECT_EQ(f.progress_replied(), complete);
  EXPECT_TRUE(f.settled());
}

TEST(upload_flow, a_small_file_has_one_progress) {
  auto f = streaming(10);
  EXPECT_EQ(f.bytes_received(10), wait);
  EXPECT_EQ(f.body_finished(), check_file);
  EXPECT_EQ(f.file_ready(), progress(10));
  EXPECT_EQ(f.progress_replied(), complete);
}

TEST(upload_flow, an_empty_file_completes_at_once) {
  auto f = streaming(0);
  EXPECT_EQ(f.body_finished(), check_file);
  EXPECT_EQ(f.file_ready(), complete);
}

TEST(upload_flow, progress_reply_after_the_finish) {
  auto f = streaming(100 * mib);
  EXPECT_EQ(f.bytes_received(mib), progress(mib));
  EXPECT_EQ(f.bytes_received(99 * mib), wait);
  EXPECT_EQ(f.body_finished(), check_file);
  EXPECT_EQ(f.file_ready(), wait); // the progress in flight goes first
  EXPECT_EQ(f.progress_replied(), progress(100 * mib));
  EXPECT_EQ(f.progress_replied(), complete);
  EXPECT_TRUE(f.settled());
}

TEST(upload_flow, progress_reply_after_the_finish_with_everything_reported) {
  auto f = streaming(mib);
  EXPECT_EQ(f.bytes_received(mib), progress(mib));
  EXPECT_EQ(f.body_finished(), check_file);
  EXPECT_EQ(f.file_ready(), wait);
  EXPECT_EQ(f.progress_replied(), complete);
}

// --- Races with the create's reply.

TEST(upload_flow, finish_before_the_create_reply) {
  flow f;
  f.create_sent(mib);
  EXPECT_EQ(f.bytes_received(mib), wait);
  EXPECT_EQ(f.body_finished(), wait); // held
  EXPECT_EQ(f.create_replied(true), begin_operation);
  EXPECT_EQ(f.operation_begun(), check_file);
  EXPECT_EQ(f.file_ready(), progress(mib));
  EXPECT_EQ(f.progress_replied(), complete);
}

TEST(upload_flow, finish_after_the_create_reply_before_the_operation) {
  flow f;
  f.create_sent(mib);
  EXPECT_EQ(f.create_replied(true), begin_operation);
  EXPECT_EQ(f.bytes_received(mib), progress(mib));
  EXPECT_EQ(f.body_finished(), check_file);
  EXPECT_EQ(f.file_ready(), wait);
  EXPECT_EQ(f.operation_begun(), wait); // nothing held, progress in flight
  EXPECT_EQ(f.progress_replied(), complete);
}

TEST(upload_flow, failure_before_the_create_reply_is_held) {
  flow f;
  f.create_sent(100 * mib);
  EXPECT_EQ(f.bytes_received(5 * mib), wait);
  EXPECT_EQ(f.failed("the upload was refused: bad part"), wait);
  EXPECT_TRUE(f.settled());
  EXPECT_EQ(f.create_replied(true), fail("the upload was refused: bad part"));
  // Nothing more goes to the image.
  EXPECT_EQ(f.operation_begun(), wait);
  EXPECT_EQ(f.bytes_received(5 * mib), wait);
  EXPECT_EQ(f.failed("again"), answer_failure);
}

TEST(upload_flow, failure_before_a_refused_create_is_answered) {
  flow f;
  f.create_sent(mib);
  EXPECT_EQ(f.failed("the connection ended"), wait);
  EXPECT_EQ(f.create_replied(false), answer_failure);
  EXPECT_EQ(f.created(), flow::creation::refused);
}

TEST(upload_flow, create_refused_answers_the_waiting_finish) {
  flow f;
  f.create_sent(mib);
  EXPECT_EQ(f.bytes_received(mib), wait);
  EXPECT_EQ(f.body_finished(), wait);
  EXPECT_EQ(f.create_replied(false), answer_create_error);
  EXPECT_EQ(f.created(), flow::creation::refused);
}

TEST(upload_flow, create_refused_before_the_finish) {
  flow f;
  f.create_sent(mib);
  EXPECT_EQ(f.create_replied(false), wait); // nobody to answer yet: feed() asks created()
  EXPECT_EQ(f.created(), flow::creation::refused);
  EXPECT_EQ(f.bytes_received(mib), wait);
  EXPECT_EQ(f.body_finished(), answer_create_error);
  EXPECT_EQ(f.failed("the connection ended"), answer_failure);
}

// --- Failures once the image exists.

TEST(upload_flow, failure_fails_the_image_once) {
  auto f = streaming(100 * mib);
  EXPECT_EQ(f.bytes_received(mib), progress(mib));
  EXPECT_EQ(f.failed("the connection ended after 1 of 100 bytes"),
            fail("the connection ended after 1 of 100 bytes"));
  EXPECT_TRUE(f.settled());
  EXPECT_EQ(f.progress_replied(), wait);
  EXPECT_EQ(f.bytes_received(10 * mib), wait);
  EXPECT_EQ(f.failed("again"), answer_failure);
}

TEST(upload_flow, failed_check_fails_the_image) {
  auto f = streaming(mib);
  EXPECT_EQ(f.bytes_received(mib - 1), wait);
  EXPECT_EQ(f.body_finished(), check_file);
  EXPECT_EQ(f.failed("checksum mismatch"), fail("checksum mismatch"));
  EXPECT_EQ(f.file_ready(), wait);
}

TEST(upload_flow, nothing_goes_to_the_image_after_complete) {
  auto f = streaming(mib);
  EXPECT_EQ(f.body_finished(), check_file);
  EXPECT_EQ(f.file_ready(), complete);
  EXPECT_EQ(f.bytes_received(mib), wait);
  EXPECT_EQ(f.failed("the connection ended"), answer_failure);
}

TEST(upload_flow, failure_with_no_image_is_answered) {
  flow f; // the body was refused before the file part
  EXPECT_EQ(f.failed("the upload was refused: unknown field"), answer_failure);
}

// --- Properties over many uploads.

TEST(upload_flow, progress_is_monotone_one_at_a_time_and_never_ahead) {
  std::mt19937_64 rng{20240611};
  for (int run = 0; run < 200; ++run) {
    const auto declared = std::uniform_int_distribution<std::uint64_t>{0, 300 * mib}(rng);
    flow f;
    f.create_sent(declared);
    std::uint64_t last = 0;
    bool in_flight = false;
    bool completed = false;
    bool created = false;
    bool finished = false;
    // Every action the flow asks for: checks what it sends, and does what it asks.
    std::function<void(const action&)> take;
    take = [&](const action& a) {
      if (const auto* p = std::get_if<flow::send_progress>(&a)) {
        ASSERT_FALSE(in_flight) << "run " << run;
        ASSERT_FALSE(completed) << "run " << run;
        ASSERT_GT(p->amount, last) << "run " << run;
        ASSERT_LE(p->amount, f.received()) << "run " << run;
        last = p->amount;
        in_flight = true;
      } else if (std::holds_alternative<flow::send_complete>(a)) {
        ASSERT_FALSE(in_flight) << "run " << run;
        ASSERT_EQ(last, f.received()) << "run " << run; // the last progress went first
        completed = true;
      } else if (std::holds_alternative<flow::check_file>(a)) {
        take(f.file_ready());
      } else if (std::holds_alternative<flow::begin_operation>(a)) {
        take(f.operation_begun());
      } else {
        ASSERT_EQ(a, wait) << "run " << run;
      }
    };
    std::uint64_t left = declared;
    while (!completed) {
      // Random interleaving of the body, the create's reply and progress replies.
      switch (std::uniform_int_distribution<int>{0, 3}(rng)) {
      case 0:
        if (!created) {
          created = true;
          take(f.create_replied(true));
        }
        break;
      case 1:
        if (in_flight) {
          in_flight = false;
          take(f.progress_replied());
        }
        break;
      default:
        if (left > 0) {
          const auto n =
              std::min(left, std::uniform_int_distribution<std::uint64_t>{1, 8 * mib}(rng));
          left -= n;
          take(f.bytes_received(n));
        } else if (!finished) {
          finished = true;
          take(f.body_finished());
        }
        break;
      }
      if (::testing::Test::HasFatalFailure())
        return;
    }
    EXPECT_EQ(f.received(), declared);
    EXPECT_TRUE(f.settled());
  }
}

TEST(upload_flow, to_string_names_the_action) {
  EXPECT_EQ(to_string(progress(42)), "send_progress{42}");
  EXPECT_EQ(to_string(fail("why")), "send_fail{why}");
  EXPECT_EQ(to_string(flow::answer_now{.create_error = true, .failure = true}),
            "answer_now{create_error,failure}");
  EXPECT_EQ(to_string(wait), "wait");
}

} // namespace
} // namespace qx::api
