#include "qx/actors/domain/image.hpp"

#include "overloaded.hpp"

namespace qx::domain::image {

namespace {

using namespace events::v1;
using detail::overloaded;

constexpr auto one = &one_event<event>;

bool is_sha256(const std::string& s) {
  if (s.size() != 64)
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

error not_uploading(const state& s, std::string_view command) {
  return refused("IMAGE_NOT_UPLOADING",
                 "image " + s.id() + " cannot " + std::string{command} + " while " + s.state(),
                 {{"state", s.state()}});
}

} // namespace

state initial(std::string_view id) {
  return initial_state<state>(id);
}

std::string_view name_of(const command& c) {
  static constexpr const char* names[] = {"create", "progress", "complete", "fail", "remove"};
  static_assert(std::size(names) == std::variant_size_v<command>);
  return names[c.index()];
}

decision<event> decide(const state& s, const command& c) {
  if (auto refusal = lifecycle_refusal(kind, s, std::holds_alternative<create>(c)))
    return *refusal;
  return std::visit(
      overloaded{
          [&](const create& cmd) -> decision<event> {
            if (auto ok = check_name("name", cmd.name, 128); !ok)
              return ok.error();
            if (cmd.format != "raw" && cmd.format != "qcow2" && cmd.format != "iso")
              return invalid_field("format", "format must be raw, qcow2 or iso");
            if (cmd.size_bytes == 0 || cmd.size_bytes > max_size)
              return invalid_field("size_bytes", "size must be between 1 byte and 1 TiB");
            ImageCreated ev;
            ev.set_id(s.id());
            ev.set_name(cmd.name);
            ev.set_format(cmd.format);
            ev.set_size_bytes(cmd.size_bytes);
            return one(std::move(ev));
          },
          [&](const progress& cmd) -> decision<event> {
            if (s.state() != phase::uploading)
              return not_uploading(s, "progress");
            if (cmd.received_bytes > s.size_bytes())
              return invalid_field("received_bytes", "more bytes than the image's size");
            if (cmd.received_bytes < s.received_bytes())
              return refused("PROGRESS_BACKWARDS", "progress only moves forward",
                             {{"field", "received_bytes"}});
            if (cmd.received_bytes == s.received_bytes())
              return std::vector<event>{};
            ImageUploadProgressed ev;
            ev.set_id(s.id());
            ev.set_received_bytes(cmd.received_bytes);
            return one(std::move(ev));
          },
          [&](const complete& cmd) -> decision<event> {
            if (s.state() != phase::uploading)
              return not_uploading(s, "complete");
            if (!is_sha256(cmd.sha256))
              return invalid_field("sha256", "sha256 must be 64 lower-case hex digits");
            if (s.received_bytes() != s.size_bytes())
              return refused("UPLOAD_INCOMPLETE", std::to_string(s.received_bytes()) + " of " +
                                                      std::to_string(s.size_bytes()) +
                                                      " bytes received");
            ImageReady ev;
            ev.set_id(s.id());
            ev.set_sha256(cmd.sha256);
            return one(std::move(ev));
          },
          [&](const fail& cmd) -> decision<event> {
            if (s.state() != phase::uploading)
              return not_uploading(s, "fail");
            ImageFailed ev;
            ev.set_id(s.id());
            ev.set_reason(cmd.reason.substr(0, 1024));
            return one(std::move(ev));
          },
          [&](const remove&) -> decision<event> {
            ImageDeleted ev;
            ev.set_id(s.id());
            return one(std::move(ev));
          },
      },
      c);
}

void evolve(state& s, const event& e) {
  std::visit(
      overloaded{
          [&](const ImageCreated& ev) {
            s.set_created(true);
            s.set_name(ev.name());
            s.set_format(ev.format());
            s.set_size_bytes(ev.size_bytes());
            s.set_state(phase::uploading);
          },
          [&](const ImageUploadProgressed& ev) { s.set_received_bytes(ev.received_bytes()); },
          [&](const ImageReady& ev) {
            s.set_state(phase::ready);
            s.set_sha256(ev.sha256());
          },
          [&](const ImageFailed& ev) {
            s.set_state(phase::in_error);
            s.set_error(ev.reason());
          },
          [&](const ImageDeleted&) { s.set_deleted(true); },
      },
      e);
}

} // namespace qx::domain::image
