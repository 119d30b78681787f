#include "image_upload.hpp"

#include "handlers_common.hpp"
#include "multipart.hpp"
#include "upload_flow.hpp"

#include <openssl/evp.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

namespace qx::api {

namespace {

using actors::image_aggregate;
namespace image = domain::image;

/// The fields a client may send besides the file.
constexpr std::array<std::string_view, 5> upload_fields = {"name", "format", "id", "sizeBytes",
                                                           "sha256"};

/// The format a file name suggests, when the client names none.
std::string format_of_filename(std::string_view filename) {
  const auto dot = filename.rfind('.');
  const auto ext = dot == std::string_view::npos ? std::string_view{} : filename.substr(dot + 1);
  if (ext == "iso")
    return "iso";
  if (ext == "qcow2")
    return "qcow2";
  if (ext == "raw" || ext == "img")
    return "raw";
  return {};
}

std::string hex(const unsigned char* d, unsigned n) {
  static constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{n} * 2);
  for (unsigned i = 0; i < n; ++i) {
    out += digits[d[i] >> 4U];
    out += digits[d[i] & 0x0FU];
  }
  return out;
}

http_response refusal(unsigned status, std::string_view code, std::string message,
                      std::string_view field = {}) {
  return error_response(status, code, message,
                        field.empty() ? json::object() : json{{"field", field}});
}

/// An operation's goal: the image reaches ready; progress follows the bytes received.
goal image_ready(std::string id) {
  return [id = std::move(id)](const projections::inventory& inv) {
    const auto r = inv.get<image_aggregate>(id, true);
    if (!r)
      return verdict{verdict::kind::failed, 0, "NOT_FOUND", "image " + id + " is gone"};
    const auto& s = r->state;
    if (s.state() == image::phase::ready)
      return verdict{verdict::kind::succeeded, 100, "", ""};
    if (s.state() == image::phase::in_error || s.deleted())
      return verdict{verdict::kind::failed, 0, "UPLOAD_FAILED",
                     "image " + id + ": " + (s.error().empty() ? "deleted" : s.error())};
    const auto size = std::max<std::uint64_t>(s.size_bytes(), 1);
    return verdict{verdict::kind::pending, static_cast<int>(s.received_bytes() * 99 / size), "",
                   ""};
  };
}

} // namespace

struct image_upload::impl : std::enable_shared_from_this<impl> {
  impl(image_context& c, http_request h) : ctx(c), head(std::move(h)) {}
  ~impl() {
    if (fd >= 0)
      ::close(fd);
    if (sha != nullptr)
      EVP_MD_CTX_free(sha);
    if (!kept && !temp_path.empty()) {
      std::error_code ec;
      std::filesystem::remove(temp_path, ec);
    }
  }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  image_context& ctx;
  http_request head;
  std::optional<std::uint64_t> content_length;
  std::unique_ptr<multipart_reader> reader;
  std::string boundary;
  json fields = json::object();
  std::optional<http_response> refused; ///< Set by a handler that stopped the reader.

  // The file part.
  std::string id;
  std::uint64_t declared = 0;
  std::string expected_sha;
  std::filesystem::path temp_path;
  std::filesystem::path final_path;
  int fd = -1;
  EVP_MD_CTX* sha = nullptr;
  bool kept = false; ///< The file became the image: keep it.

  // Shared with the gateway's callbacks (actor threads), under `mutex`.
  std::mutex mutex;
  upload_flow flow;                  ///< What went to the image, what comes next (upload_flow.hpp).
  std::optional<error> create_error; ///< Why the create was refused.
  std::string operation_id;
  std::string digest;              ///< The file's SHA-256, for the complete.
  responder held_finish;           ///< finish() came before the create's reply.
  http_response held_answer;       ///< Failed before the create's reply: answer this
  responder held_respond;          ///< through this, once the image heard of it.
  responder finish_after_progress; ///< The finish, once the last progress is replied.

  /// What the flow's next action may need: the finish's responder, a failure's answer and
  /// where it goes.
  struct at_hand {
    responder finish{};
    http_response answer{};
    responder respond{};
  };

  [[nodiscard]] actors::command_meta later_meta() const {
    auto m = create_meta;
    m.command_id.clear(); // one id per request: the create's; the rest must not dedupe on it
    m.expected_version.reset();
    return m;
  }
  actors::command_meta create_meta;

  bool on_field(const std::string& name, std::string value) {
    if (std::find(upload_fields.begin(), upload_fields.end(), name) == upload_fields.end()) {
      refused = refusal(400, "INVALID_ARGUMENT", "unknown field " + name, name);
      return false;
    }
    if (name == "sizeBytes") {
      std::uint64_t v = 0;
      const auto r = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || r.ec != std::errc{} || r.ptr != value.data() + value.size()) {
        refused =
            refusal(400, "INVALID_ARGUMENT", "sizeBytes must be a number of bytes", "sizeBytes");
        return false;
      }
      fields[name] = v;
    } else {
      fields[name] = std::move(value);
    }
    return true;
  }

  bool on_file_begin(const std::string& filename) {
    if (!fields.contains("name") && !filename.empty())
      fields["name"] = filename;
    if (!fields.contains("format"))
      if (auto f = format_of_filename(filename); !f.empty())
        fields["format"] = f;
    if (!fields.contains("sizeBytes")) {
      // The file is the last part: what is left of the body, less the close delimiter
      // ("\r\n--" boundary "--\r\n", as curl, browsers and HTTP libraries send it).
      if (!content_length) {
        refused = refusal(411, "LENGTH_REQUIRED",
                          "without Content-Length the sizeBytes field must precede the file",
                          "sizeBytes");
        return false;
      }
      const auto trailer = boundary.size() + 8;
      const auto consumed = reader->consumed();
      if (*content_length < consumed + trailer) {
        refused = refusal(400, "INVALID_MULTIPART", "the body is shorter than its own framing");
        return false;
      }
      fields["sizeBytes"] = *content_length - consumed - trailer;
    }
    image::create c;
    auto new_image = new_id(fields, head);
    status ok =
        new_image ? read_string(fields, "name", c.name, true, 256) : status{new_image.error()};
    if (ok)
      ok = read_string(fields, "format", c.format, true, 16);
    if (ok)
      ok = read_u64(fields, "sizeBytes", c.size_bytes, true);
    if (ok)
      ok = read_string(fields, "sha256", expected_sha, false, 64);
    if (ok && !expected_sha.empty() &&
        (expected_sha.size() != 64 ||
         expected_sha.find_first_not_of("0123456789abcdef") != std::string::npos))
      ok = status{error{errc::invalid_argument,
                        "sha256 must be 64 lower-case hex digits",
                        {{"field", "sha256"}}}};
    if (!ok) {
      refused = error_response(ok.error());
      return false;
    }
    auto meta = meta_of(head);
    if (!meta) {
      refused = error_response(meta.error());
      return false;
    }
    create_meta = *meta;
    id = *new_image;
    declared = c.size_bytes;
    if (!open_file())
      return false;
    {
      std::lock_guard lock{mutex};
      flow.create_sent(declared);
    }
    // The callbacks hold the upload: it lives until the image has heard its end.
    ctx.gw.send(
        actors::command_request<image_aggregate>{id, std::move(c), create_meta},
        [self = shared_from_this()](actors::command_outcome o) { self->on_created(std::move(o)); });
    return true;
  }

  bool open_file() {
    const std::filesystem::path dir = ctx.images_dir;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    final_path = dir / id;
    static std::atomic<std::uint64_t> uploads{0};
    temp_path = dir / (".incoming-" + id + "-" + std::to_string(::getpid()) + "-" +
                       std::to_string(uploads.fetch_add(1)));
    fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    sha = EVP_MD_CTX_new();
    if (fd < 0 || sha == nullptr || EVP_DigestInit_ex(sha, EVP_sha256(), nullptr) != 1) {
      refused =
          refusal(500, "IO_ERROR",
                  "the image file could not be created: " + std::string{std::strerror(errno)});
      return false;
    }
    return true;
  }

  bool on_file_data(const char* data, std::size_t n) {
    if (received_bytes() + n > declared) {
      refused =
          refusal(400, "SIZE_MISMATCH",
                  "the file is larger than the " + std::to_string(declared) + " bytes declared",
                  "sizeBytes");
      return false;
    }
    for (std::size_t done = 0; done < n;) {
      const auto w = ::write(fd, data + done, n - done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        refused = refusal(500, "IO_ERROR",
                          "writing the image failed: " + std::string{std::strerror(errno)});
        return false;
      }
      done += static_cast<std::size_t>(w);
    }
    EVP_DigestUpdate(sha, data, n);
    upload_flow::action next;
    {
      std::lock_guard lock{mutex};
      next = flow.bytes_received(n);
    }
    perform(std::move(next), {});
    return true;
  }

  /// Does what the flow decided, outside the mutex. `begin_operation` is on_created's.
  void perform(upload_flow::action next, at_hand h) {
    if (const auto* p = std::get_if<upload_flow::send_progress>(&next)) {
      send_progress(p->amount);
    } else if (std::holds_alternative<upload_flow::send_complete>(next)) {
      send_complete(std::move(h.finish));
    } else if (auto* f = std::get_if<upload_flow::send_fail>(&next)) {
      send_fail(std::move(f->reason), std::move(h.answer), std::move(h.respond));
    } else if (std::holds_alternative<upload_flow::check_file>(next)) {
      complete(std::move(h.finish));
    } else if (const auto* a = std::get_if<upload_flow::answer_now>(&next)) {
      if (a->create_error && h.finish)
        h.finish(*create_refusal());
      if (a->failure && h.respond)
        h.respond(std::move(h.answer));
    }
  }

  void send_progress(std::uint64_t amount) {
    ctx.gw.send(
        actors::command_request<image_aggregate>{id, image::progress{amount}, later_meta()},
        [self = shared_from_this()](actors::command_outcome) { self->on_progress_replied(); });
  }

  void on_progress_replied() {
    upload_flow::action next;
    at_hand h;
    {
      std::lock_guard lock{mutex};
      next = flow.progress_replied();
      if (std::holds_alternative<upload_flow::send_complete>(next))
        h.finish = std::move(finish_after_progress);
    }
    perform(std::move(next), std::move(h));
  }

  void on_created(actors::command_outcome o) {
    upload_flow::action next;
    at_hand h;
    {
      std::lock_guard lock{mutex};
      if (!o)
        create_error = o.error();
      next = flow.create_replied(o.has_value());
      h = {std::move(held_finish), std::move(held_answer), std::move(held_respond)};
    }
    if (!std::holds_alternative<upload_flow::begin_operation>(next)) {
      perform(std::move(next), std::move(h));
      return;
    }
    // Watchers see the upload as an operation from its first byte.
    ctx.proj.when_applied(
        last_position(*o), [self = shared_from_this(), finish = std::move(h.finish)]() mutable {
          auto op = self->ctx.ops.begin("image.upload", image_aggregate::stream(self->id),
                                        image_ready(self->id),
                                        json{{"imageId", self->id}, {"sizeBytes", self->declared}});
          upload_flow::action then;
          {
            std::lock_guard lock{self->mutex};
            self->operation_id = op.id;
            then = self->flow.operation_begun();
          }
          self->perform(std::move(then), {.finish = std::move(finish)});
        });
  }

  /// The create failed: the answer to give instead of reading on.
  std::optional<http_response> create_refusal() {
    std::lock_guard lock{mutex};
    if (flow.created() == upload_flow::creation::refused)
      return error_response(*create_error);
    return std::nullopt;
  }

  std::uint64_t received_bytes() {
    std::lock_guard lock{mutex};
    return flow.received();
  }

  /// The body is in: make the file durable, record the last progress and complete.
  void complete(responder respond) {
    const auto received = received_bytes();
    if (received != declared) {
      fail_then("the body held " + std::to_string(received) + " bytes of file, not the " +
                    std::to_string(declared) + " declared",
                refusal(400, "SIZE_MISMATCH",
                        "the file has " + std::to_string(received) + " bytes, " +
                            std::to_string(declared) +
                            " were declared (send sizeBytes when the body ends without CRLF)",
                        "sizeBytes"),
                std::move(respond));
      return;
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest_bytes{};
    unsigned length = 0;
    EVP_DigestFinal_ex(sha, digest_bytes.data(), &length);
    const auto sum = hex(digest_bytes.data(), length);
    if (!expected_sha.empty() && expected_sha != sum) {
      fail_then("checksum mismatch: expected " + expected_sha + ", got " + sum,
                refusal(422, "CHECKSUM_MISMATCH",
                        "the file's SHA-256 is " + sum + ", not " + expected_sha, "sha256"),
                std::move(respond));
      return;
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      fd = -1;
      fail_then("the image file could not be made durable",
                refusal(500, "IO_ERROR", "the image file could not be made durable"),
                std::move(respond));
      return;
    }
    fd = -1;
    std::error_code ec;
    std::filesystem::rename(temp_path, final_path, ec);
    if (ec) {
      fail_then("the image file could not be put in place",
                refusal(500, "IO_ERROR", "the image file could not be put in place"),
                std::move(respond));
      return;
    }
    kept = true;
    upload_flow::action next;
    at_hand h;
    {
      std::lock_guard lock{mutex};
      digest = sum;
      next = flow.file_ready();
      if (std::holds_alternative<upload_flow::send_complete>(next))
        h.finish = std::move(respond);
      else
        finish_after_progress = std::move(respond); // the last progress's reply completes
    }
    perform(std::move(next), std::move(h));
  }

  void send_complete(responder respond) {
    std::string sum;
    {
      std::lock_guard lock{mutex};
      sum = digest;
    }
    ctx.gw.send(
        actors::command_request<image_aggregate>{id, image::complete{std::move(sum)}, later_meta()},
        [self = shared_from_this(), respond](actors::command_outcome o) mutable {
          if (!o) {
            respond(error_response(o.error()));
            return;
          }
          self->ctx.proj.when_applied(last_position(*o), [self, respond]() mutable {
            std::string op_id;
            {
              std::lock_guard lock{self->mutex};
              op_id = self->operation_id;
            }
            const auto op = self->ctx.ops.get(op_id);
            auto resp = json_response(202, op ? to_json(*op) : json::object());
            resp.headers.emplace_back("Location", "/api/v1/operations/" + op_id);
            respond(std::move(resp));
          });
        });
  }

  /// Records the failure on the image (when it exists), then answers `answer`.
  void fail_then(std::string reason, http_response answer, responder respond) {
    upload_flow::action next;
    {
      std::lock_guard lock{mutex};
      next = flow.failed(std::move(reason));
      if (std::holds_alternative<upload_flow::wait>(next)) {
        // The create is on its way: on_created fails the image, then answers.
        held_answer = std::move(answer);
        held_respond = std::move(respond);
        return;
      }
    }
    perform(std::move(next), {.answer = std::move(answer), .respond = std::move(respond)});
  }

  void send_fail(std::string reason, http_response answer, responder respond) {
    ctx.gw.send(
        actors::command_request<image_aggregate>{id, image::fail{std::move(reason)}, later_meta()},
        [self = shared_from_this(), answer = std::move(answer),
         respond](actors::command_outcome o) mutable {
          if (!respond)
            return;
          if (!o) {
            respond(std::move(answer));
            return;
          }
          self->ctx.proj.when_applied(
              last_position(*o),
              [answer = std::move(answer), respond]() mutable { respond(std::move(answer)); });
        });
  }
};

image_upload::image_upload(std::shared_ptr<impl> i) : impl_(std::move(i)) {}
image_upload::~image_upload() = default;

std::variant<std::shared_ptr<image_upload>, http_response>
image_upload::start(image_context& ctx, http_request head,
                    std::optional<std::uint64_t> content_length, std::uint64_t max_bytes) {
  if (!ctx.proj.caught_up())
    return error_response(503, "NOT_READY", "the read models are replaying the log");
  if (content_length && *content_length > max_bytes)
    return error_response(413, "TOO_LARGE", "the upload exceeds the limit",
                          json{{"limit", max_bytes}});
  auto boundary = multipart_boundary(head.content_type);
  if (!boundary)
    return error_response(415, "UNSUPPORTED_MEDIA_TYPE",
                          "an upload is multipart/form-data with a boundary",
                          json{{"contentType", head.content_type}});
  auto i = std::make_shared<impl>(ctx, std::move(head));
  i->content_length = content_length;
  i->boundary = *boundary;
  impl* raw = i.get();
  multipart_reader::handlers h;
  h.field = [raw](const std::string& name, std::string value) {
    return raw->on_field(name, std::move(value));
  };
  h.file_begin = [raw](const std::string& filename) {
    return raw->on_file_begin(filename);
  };
  h.file_data = [raw](const char* d, std::size_t n) {
    return raw->on_file_data(d, n);
  };
  h.file_end = [] {
    return true;
  };
  i->reader = std::make_unique<multipart_reader>(*boundary, std::move(h));
  return std::shared_ptr<image_upload>(new image_upload(std::move(i)));
}

bool image_upload::feed(const char* data, std::size_t n, const responder& on_refusal) {
  auto& i = *impl_;
  if (auto r = i.create_refusal()) {
    on_refusal(std::move(*r));
    return false;
  }
  if (const auto err = i.reader->feed(data, n)) {
    auto answer =
        i.refused ? std::move(*i.refused) : refusal(400, err->code, err->message, err->field);
    auto j = json::parse(answer.body, nullptr, false);
    const auto reason =
        "the upload was refused: " + (j.is_object() && j["error"].is_object()
                                          ? j["error"].value("message", err->message)
                                          : err->message);
    i.fail_then(reason, std::move(answer), on_refusal);
    return false;
  }
  return true;
}

void image_upload::finish(responder respond) {
  auto& i = *impl_;
  if (const auto err = i.reader->finish()) {
    i.fail_then("the upload was refused: " + err->message,
                refusal(400, err->code, err->message, err->field), std::move(respond));
    return;
  }
  if (i.id.empty()) {
    respond(refusal(400, "INVALID_ARGUMENT", "the upload has no part named file", "file"));
    return;
  }
  upload_flow::action next;
  {
    std::lock_guard lock{i.mutex};
    next = i.flow.body_finished();
    if (std::holds_alternative<upload_flow::wait>(next)) {
      i.held_finish = std::move(respond); // on_created goes on
      return;
    }
  }
  i.perform(std::move(next), {.finish = std::move(respond)});
}

void image_upload::abort(const std::string& why) {
  impl_->fail_then(why + " after " + std::to_string(impl_->received_bytes()) + " of " +
                       std::to_string(impl_->declared) + " bytes",
                   http_response{}, {});
}

void abandon_interrupted_uploads(image_context& ctx, std::uint64_t last_position_before) {
  // An upload in progress has a file .incoming-<id>-<pid>-<n>; another process's files are
  // what a crash left. Only their images are failed: an image created without an upload
  // (POST /images) has no file and is left alone.
  const auto mine = "-" + std::to_string(::getpid()) + "-";
  std::vector<std::string> cut;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator{ctx.images_dir, ec}) {
    const auto name = e.path().filename().string();
    if (!name.starts_with(".incoming-") || name.find(mine) != std::string::npos)
      continue;
    std::filesystem::remove(e.path(), ec);
    const auto n_at = name.rfind('-');
    const auto pid_at =
        n_at == std::string::npos || n_at == 0 ? std::string::npos : name.rfind('-', n_at - 1);
    if (pid_at != std::string::npos && pid_at > 10)
      cut.push_back(name.substr(10, pid_at - 10));
  }
  actors::command_meta meta;
  meta.principal = "system:qvdc";
  for (const auto& id : cut) {
    const auto r = ctx.proj.inv().get<image_aggregate>(id);
    if (!r || r->state.state() != image::phase::uploading || r->position > last_position_before)
      continue;
    ctx.gw.send(
        actors::command_request<image_aggregate>{
            id, image::fail{"the server stopped during the upload"}, meta},
        [](actors::command_outcome) {});
  }
}

} // namespace qx::api
