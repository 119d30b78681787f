#pragma once

// POST /api/v1/images/upload: a multipart/form-data body (fields name, format, and optionally
// id, sizeBytes, sha256, then the part "file", last) streamed to the data directory as it
// arrives, as Proxmox's upload does. The image aggregate records it: created when the file part
// begins (uploading), progress as bytes land, ready with the SHA-256 once the file is durable.
// The answer is a 202 `image.upload` operation, which watchers saw progress all along.
//
// No Beast here: net_server.cpp feeds the body bytes; everything else is testable without a
// socket. Calls come from one connection's strand; the gateway's replies from actor threads.

#include "handler_contexts.hpp"

#include <qx/api/http.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace qx::api {

class image_upload {
 public:
  /// Checks the request head. A response instead when the upload cannot start: 415 (not
  /// multipart/form-data with a boundary), 411 (no length and no way to know the file size is
  /// fine: chunked bodies are accepted, see sizeBytes), 413 (Content-Length over the limit),
  /// 503 (read models replaying), 429 (in-flight cap).
  static std::variant<std::shared_ptr<image_upload>, http_response>
  start(image_context& ctx, http_request head, std::optional<std::uint64_t> content_length,
        std::uint64_t max_bytes);

  /// The next body bytes. False when the upload is refused: the caller stops reading, and
  /// `on_refusal` gets the answer once the image (if it was created) records the failure.
  [[nodiscard]] bool feed(const char* data, std::size_t n, const responder& on_refusal);
  /// The whole body was read: completes the upload and answers through `respond`.
  void finish(responder respond);
  /// The connection broke, or timed out, before the end of the body.
  void abort(const std::string& why);

  image_upload(const image_upload&) = delete;
  image_upload& operator=(const image_upload&) = delete;
  ~image_upload();

 private:
  struct impl;
  explicit image_upload(std::shared_ptr<impl> i);
  std::shared_ptr<impl> impl_;
};

/// After a restart, once the read models caught up: uploads the previous process left
/// unfinished (a temporary file of another process, its image still `uploading` with its last
/// event at or before `last_position_before`, the log's head when this process opened it)
/// fail with a reason, and the temporary files go.
void abandon_interrupted_uploads(image_context& ctx, std::uint64_t last_position_before);

} // namespace qx::api
