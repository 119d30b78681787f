#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace qx {

/// Error codes shared across component borders. Each maps to one API error code.
enum class errc : std::uint8_t {
  /// A field of the request is malformed; `details["field"]` names it.
  invalid_argument = 1,
  /// The expected version did not match; `details["current_version"]` holds the actual one.
  conflict,
  /// A payload or request exceeds a configured limit; `details["limit"]` holds it.
  too_large,
  /// The thing asked for does not exist.
  not_found,
  /// Stored data failed an integrity check; `details["position"]` names the record.
  corrupted,
  /// The disk or the database failed; the operation may not have happened.
  io_error,
  /// The component is closed or has failed and accepts no more work.
  unavailable,
  /// The thing to create exists already.
  already_exists,
  /// The command is not allowed in the current state; `details["reason"]` says why, as a
  /// stable upper-case token (e.g. "INVALID_POWER_STATE").
  failed_precondition,
  /// Not enough capacity (CPU, memory, storage, addresses) for the command.
  resource_exhausted,
  /// The caller did not prove who it is (no, a wrong or an expired credential); details["reason"]
  /// says which ("TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_EXPIRED").
  unauthenticated,
  /// The caller is known but may not do this (or not from where it asks).
  permission_denied,
};

/// The stable upper-case token of a code, as the API shows it ("CONFLICT").
[[nodiscard]] std::string_view to_string(errc code) noexcept;

/// An error value: a code, a human message and machine-readable details.
struct error {
  errc code = errc::invalid_argument;
  std::string message;
  std::map<std::string, std::string> details;

  error() = default;
  error(errc c, std::string msg, std::map<std::string, std::string> d = {})
      : code(c), message(std::move(msg)), details(std::move(d)) {}

  /// "CONFLICT: message {key=value, ...}"
  [[nodiscard]] std::string to_string() const;
};

/// An input field at fault: invalid_argument, with details["field"] naming it.
[[nodiscard]] error invalid_field(std::string_view field, std::string message);
/// What `field` names exists already: already_exists, with details["field"].
[[nodiscard]] error exists_at(std::string_view field, std::string message);

/// A value or an error, in the manner of std::expected (C++23), which g++ 12 lacks in C++20.
template<class T>
class [[nodiscard]] result {
 public:
  result(T value) : data_(std::in_place_index<0>, std::move(value)) {}     // NOLINT: implicit
  result(qx::error err) : data_(std::in_place_index<1>, std::move(err)) {} // NOLINT: implicit

  [[nodiscard]] bool has_value() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & { return std::get<0>(data_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(data_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(data_)); }
  [[nodiscard]] const qx::error& error() const& { return std::get<1>(data_); }
  [[nodiscard]] qx::error&& error() && { return std::get<1>(std::move(data_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, qx::error> data_;
};

/// Success or an error, for operations that return nothing.
template<>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(qx::error err) : error_(std::move(err)), failed_(true) {} // NOLINT: implicit

  [[nodiscard]] bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return !failed_; }
  [[nodiscard]] const qx::error& error() const& { return error_; }
  [[nodiscard]] qx::error&& error() && { return std::move(error_); }

 private:
  qx::error error_;
  bool failed_ = false;
};

using status = result<void>;

/// The one place where an error is dropped on purpose; grep for it.
template<class T>
void permit_unchecked_error(const result<T>&) noexcept {}

} // namespace qx
