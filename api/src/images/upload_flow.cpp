#include "upload_flow.hpp"

#include <algorithm>
#include <utility>

namespace qx::api {

void upload_flow::create_sent(std::uint64_t declared) {
  created_ = creation::waiting;
  declared_ = declared;
}

upload_flow::action upload_flow::create_replied(bool ok) {
  if (!ok) {
    created_ = creation::refused;
    const answer_now a{.create_error = finish_held_, .failure = failure_held_.has_value()};
    finish_held_ = false;
    failure_held_.reset();
    if (!a.create_error && !a.failure)
      return wait{};
    return a;
  }
  created_ = creation::done;
  if (failure_held_) {
    // Only a broken connection fails after the body's end: a finish held too goes unanswered.
    auto reason = std::move(*failure_held_);
    failure_held_.reset();
    finish_held_ = false;
    return send_fail{std::move(reason)};
  }
  return begin_operation{};
}

upload_flow::action upload_flow::operation_begun() {
  if (finish_held_) {
    finish_held_ = false;
    return check_file{};
  }
  return report(false);
}

upload_flow::action upload_flow::bytes_received(std::uint64_t n) {
  received_ += n;
  return report(false);
}

upload_flow::action upload_flow::progress_replied() {
  if (!in_flight_)
    return wait{};
  // Recorded or refused, it is not sent again: a refusal shows at complete.
  reported_ = *in_flight_;
  in_flight_.reset();
  if (!complete_after_progress_)
    return wait{}; // the next bytes bring the next progress
  complete_after_progress_ = false;
  if (settled_)
    return wait{};
  return last_progress_or_complete();
}

upload_flow::action upload_flow::body_finished() {
  switch (created_) {
  case creation::waiting:
    finish_held_ = true; // the create's reply goes on
    return wait{};
  case creation::refused:
    return answer_now{.create_error = true};
  case creation::none:
  case creation::done:
    break;
  }
  return check_file{};
}

upload_flow::action upload_flow::file_ready() {
  if (settled_)
    return wait{};
  if (in_flight_) {
    complete_after_progress_ = true; // progress_replied() goes on
    return wait{};
  }
  return last_progress_or_complete();
}

upload_flow::action upload_flow::failed(std::string reason) {
  if (created_ == creation::waiting && !settled_) {
    // The create is on its way: its reply fails the image, then answers.
    failure_held_ = std::move(reason);
    settled_ = true;
    return wait{};
  }
  const bool tell_image = created_ == creation::done && !settled_;
  settled_ = true;
  if (tell_image)
    return send_fail{std::move(reason)};
  return answer_now{.failure = true};
}

std::uint64_t upload_flow::progress_step() const noexcept {
  return std::max(declared_ / 100, min_progress_step);
}

upload_flow::action upload_flow::report(bool last) {
  if (created_ != creation::done || settled_ || in_flight_)
    return wait{};
  const bool due = last ? received_ > reported_ : received_ - reported_ >= progress_step();
  if (!due)
    return wait{};
  in_flight_ = received_;
  return send_progress{received_};
}

upload_flow::action upload_flow::last_progress_or_complete() {
  auto progress = report(true);
  if (std::holds_alternative<send_progress>(progress)) {
    complete_after_progress_ = true;
    return progress;
  }
  settled_ = true;
  return send_complete{};
}

std::string to_string(const upload_flow::action& a) {
  struct namer {
    std::string operator()(const upload_flow::wait&) const { return "wait"; }
    std::string operator()(const upload_flow::send_progress& p) const {
      return "send_progress{" + std::to_string(p.amount) + "}";
    }
    std::string operator()(const upload_flow::send_complete&) const { return "send_complete"; }
    std::string operator()(const upload_flow::send_fail& f) const {
      return "send_fail{" + f.reason + "}";
    }
    std::string operator()(const upload_flow::begin_operation&) const { return "begin_operation"; }
    std::string operator()(const upload_flow::check_file&) const { return "check_file"; }
    std::string operator()(const upload_flow::answer_now& n) const {
      return std::string{"answer_now{"} + (n.create_error ? "create_error" : "") +
             (n.create_error && n.failure ? "," : "") + (n.failure ? "failure" : "") + "}";
    }
  };
  return std::visit(namer{}, a);
}

} // namespace qx::api
