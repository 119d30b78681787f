#pragma once

// The protocol between an upload's body and its image, as a pure state machine: no I/O, no
// locks, no callbacks. image_upload.cpp keeps one under its mutex, tells it what happened (the
// create sent and replied, bytes written, a progress replied, the body's end, the file checked,
// a failure) and does what each input returns. The rules it keeps:
//
// - Progress goes every 1 % of the declared size, at least every 1 MiB, one command in flight
//   at a time. A progress is never sent twice: once replied (recorded or refused) it counts.
// - Once the file is checked, the bytes not reported yet go as a last progress, then the
//   complete.
// - A finish before the create's reply waits for it: a created image completes (after its
//   operation began), a refused create answers the finish with the create's error.
// - A failure before the create's reply is held: once the image exists it is failed and then
//   the failure answered; when the create is refused the failure is answered at once.
// - Once complete or fail is sent the upload is settled: nothing more goes to the image, and a
//   later failure is only answered.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace qx::api {

class upload_flow {
 public:
  // --- What to do next: one action per input.

  /// Nothing now: a reply will bring the next step. After an input that brought something to
  /// answer (body_finished, file_ready, failed), `wait` means: hold it.
  struct wait {
    bool operator==(const wait&) const = default;
  };
  /// Send progress{amount} to the image, then call progress_replied() however it is answered.
  struct send_progress {
    std::uint64_t amount = 0;
    bool operator==(const send_progress&) const = default;
  };
  /// Send complete{sha256} to the image; its reply answers the finish.
  struct send_complete {
    bool operator==(const send_complete&) const = default;
  };
  /// Send fail{reason} to the image; its reply answers the failure.
  struct send_fail {
    std::string reason;
    bool operator==(const send_fail&) const = default;
  };
  /// The image was created: once that is applied, begin its operation, then operation_begun().
  struct begin_operation {
    bool operator==(const begin_operation&) const = default;
  };
  /// The body is in and the image exists: check the file and make it durable, then call
  /// file_ready() or failed().
  struct check_file {
    bool operator==(const check_file&) const = default;
  };
  /// Answer without a word to the image (it does not exist, or is settled).
  struct answer_now {
    bool create_error = false; ///< The finish gets the create's error.
    bool failure = false;      ///< The failure gets its own answer.
    bool operator==(const answer_now&) const = default;
  };
  using action = std::variant<wait, send_progress, send_complete, send_fail, begin_operation,
                              check_file, answer_now>;

  /// The image's creation, as the upload knows it.
  enum class creation : std::uint8_t { none, waiting, done, refused };

  /// Progress goes at least every this many bytes, and at most every 1 % of the file.
  static constexpr std::uint64_t min_progress_step = std::uint64_t{1} << 20U;

  // --- Inputs.

  /// The create went out, for a file of `declared` bytes.
  void create_sent(std::uint64_t declared);
  /// The create's reply: the image exists (`ok`) or was refused.
  [[nodiscard]] action create_replied(bool ok);
  /// The upload's operation began (after begin_operation).
  [[nodiscard]] action operation_begun();
  /// `n` more bytes of the file are written.
  [[nodiscard]] action bytes_received(std::uint64_t n);
  /// The progress in flight was answered, recorded or refused.
  [[nodiscard]] action progress_replied();
  /// The whole body was read.
  [[nodiscard]] action body_finished();
  /// The file passed its checks and is durable (after check_file).
  [[nodiscard]] action file_ready();
  /// The upload failed: the body was refused, the file failed its checks, or the connection
  /// ended.
  [[nodiscard]] action failed(std::string reason);

  // --- State.

  [[nodiscard]] creation created() const noexcept { return created_; }
  [[nodiscard]] std::uint64_t declared() const noexcept { return declared_; }
  /// Bytes of the file written so far.
  [[nodiscard]] std::uint64_t received() const noexcept { return received_; }
  /// Bytes of the file the last replied progress reported.
  [[nodiscard]] std::uint64_t reported() const noexcept { return reported_; }
  /// The amount of the progress in flight, if one is.
  [[nodiscard]] std::optional<std::uint64_t> in_flight() const noexcept { return in_flight_; }
  /// Complete or fail was sent (or a failure is held for the create's reply).
  [[nodiscard]] bool settled() const noexcept { return settled_; }
  /// Bytes between two progress commands while the body streams.
  [[nodiscard]] std::uint64_t progress_step() const noexcept;

 private:
  /// A progress when one is due: `last` sends any bytes not reported yet.
  [[nodiscard]] action report(bool last);
  /// The file is ready and nothing is in flight: the last progress, else the complete.
  [[nodiscard]] action last_progress_or_complete();

  creation created_ = creation::none;
  std::uint64_t declared_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t reported_ = 0;
  std::optional<std::uint64_t> in_flight_;
  bool finish_held_ = false;                ///< body_finished() before the operation began.
  std::optional<std::string> failure_held_; ///< failed() before the create's reply.
  bool complete_after_progress_ = false;    ///< file_ready(): the progress in flight goes first.
  bool settled_ = false;
};

/// For logs and test failures: "send_progress{1048576}".
[[nodiscard]] std::string to_string(const upload_flow::action& a);

} // namespace qx::api
