#pragma once

// What every aggregate's pure domain logic shares: the decision type, the event codec between
// a variant of payload messages and the log's (type, bytes), and the error makers. No CAF,
// no RocksDB, no HTTP here.

#include <qx/base/error.hpp>
#include <qx/events/text_fields.hpp>
#include <qx/events/types.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace qx::domain {

/// What decide() answers: the events to append (possibly none), or why the command is refused.
template<class Event>
using decision = result<std::vector<Event>>;

/// The decision of exactly one event. `Variant` is the aggregate's event variant; a decider
/// names it once (`constexpr auto one = &one_event<event>;`) so that a message converts.
template<class Variant>
[[nodiscard]] decision<Variant> one_event(Variant e) {
  std::vector<Variant> out;
  out.push_back(std::move(e));
  return out;
}

/// A variant alternative as the log stores it: its full protobuf name and its bytes.
template<class Variant>
[[nodiscard]] events::new_event encode_event(const Variant& ev) {
  return std::visit(
      [](const auto& msg) {
        using msg_type = std::decay_t<decltype(msg)>;
        return events::new_event{std::string{msg_type::descriptor()->full_name()},
                                 events::serialize_deterministic(msg)};
      },
      ev);
}

namespace detail {

template<class Variant, std::size_t I = 0>
result<Variant> decode_alternative(std::string_view type, std::string_view payload) {
  if constexpr (I == std::variant_size_v<Variant>) {
    return error{
        errc::corrupted, "unknown event type " + std::string{type}, {{"type", std::string{type}}}};
  } else {
    using msg_type = std::variant_alternative_t<I, Variant>;
    if (type != msg_type::descriptor()->full_name())
      return decode_alternative<Variant, I + 1>(type, payload);
    msg_type msg;
    if (!events::parse_message(msg, payload))
      return error{errc::corrupted,
                   "payload does not decode as " + std::string{type},
                   {{"type", std::string{type}}}};
    return Variant{std::move(msg)};
  }
}

} // namespace detail

/// The variant alternative named by `type`, parsed from `payload`.
template<class Variant>
[[nodiscard]] result<Variant> decode_event(std::string_view type, std::string_view payload) {
  return detail::decode_alternative<Variant>(type, payload);
}

// A malformed field of a command: qx::invalid_field (qx/base/error.hpp).

/// The command is not allowed now; `reason` is a stable upper-case token.
[[nodiscard]] inline error refused(std::string reason, std::string message,
                                   std::map<std::string, std::string> details = {}) {
  details["reason"] = std::move(reason);
  return error{errc::failed_precondition, std::move(message), std::move(details)};
}

[[nodiscard]] inline error not_found(std::string_view kind, std::string_view id) {
  return error{errc::not_found,
               std::string{kind} + " " + std::string{id} + " does not exist",
               {{"id", std::string{id}}}};
}

[[nodiscard]] inline error already_exists(std::string_view kind, std::string_view id) {
  return error{errc::already_exists,
               std::string{kind} + " " + std::string{id} + " exists already",
               {{"id", std::string{id}}}};
}

/// A fresh, not yet created state of an aggregate (any state message with an `id`).
template<class State>
[[nodiscard]] State initial_state(std::string_view id) {
  State s;
  s.set_id(std::string{id});
  return s;
}

/// The refusal every aggregate with `created`/`deleted` flags shares: create twice is
/// ALREADY_EXISTS, anything before create is NOT_FOUND, anything after delete is DELETED.
template<class State>
[[nodiscard]] std::optional<error> lifecycle_refusal(std::string_view kind, const State& s,
                                                     bool is_create) {
  if (is_create)
    return s.created() ? std::optional<error>{already_exists(kind, s.id())} : std::nullopt;
  if (!s.created())
    return not_found(kind, s.id());
  if (s.deleted())
    return refused("DELETED", std::string{kind} + " " + s.id() + " is deleted");
  return std::nullopt;
}

/// Free text (descriptions, reasons, settings): at most `max` bytes of valid UTF-8 that XML
/// 1.0 and libvirt accept and a terminal shows as text: no control character (C0, DEL, C1;
/// CR, LF and NUL included), no U+FFFE or U+FFFF. 400 naming `field` otherwise.
[[nodiscard]] status check_text(std::string_view field, std::string_view value, std::size_t max);

/// The one rule for every user-given name and id (VMs, snapshots, volumes, pools, ...):
/// check_text, 1..max bytes, not "." or "..", none of / \ < > & " ' (names become file
/// names, XML and URL segments), no white space at either end (docs/decisions/0017).
[[nodiscard]] status check_name(std::string_view field, std::string_view value,
                                std::size_t max = 128);

} // namespace qx::domain
