#pragma once

// How the DRS and HA controllers write a decision: one event on the reactor's stream of a
// cluster, typed by its protobuf message (so the type name cannot drift from the payload).

#include <qx/events/text_fields.hpp>
#include <qx/events/types.hpp>

#include <string>

namespace qx::actors {

template<class Message>
events::append_request decision(std::string stream, const Message& m, std::string actor) {
  events::append_request req;
  req.stream = std::move(stream);
  req.expected = events::expected_version::any(); // the reactor is its streams' only writer
  req.events.push_back(
      {std::string{Message::descriptor()->full_name()}, events::serialize_deterministic(m)});
  req.metadata.actor = std::move(actor);
  return req;
}

} // namespace qx::actors
