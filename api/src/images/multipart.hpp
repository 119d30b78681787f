#pragma once

// multipart/form-data request bodies (RFC 7578 over RFC 2046), split as they arrive. Uploads
// can be gigabytes, so the part named "file" is streamed out in the caller's own chunks and
// only the few bytes that might begin a delimiter are held back; the other parts are small
// form fields, collected whole up to a limit. Errors are values: nothing here throws on bad
// input.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace qx::api {

struct multipart_error {
  /// "INVALID_MULTIPART", "FIELD_TOO_LARGE", "TOO_MANY_PARTS", "DUPLICATE_FIELD",
  /// "UNEXPECTED_PART" or "ABORTED" (a handler returned false).
  std::string code;
  std::string message;
  /// The part at fault when there is one: its name, or "Content-Disposition".
  std::string field;
};

class multipart_reader {
 public:
  struct handlers {
    /// A whole non-file part; return false to stop (the caller recorded why).
    std::function<bool(const std::string& name, std::string value)> field;
    /// The "file" part's headers are read; `filename` is empty when the part gave none.
    std::function<bool(const std::string& filename)> file_begin;
    /// File bytes, in order, in any chunking.
    std::function<bool(const char* data, std::size_t n)> file_data;
    /// The file part ended. As the file must be the last part, this is only called once the
    /// close delimiter follows it: a caller that commits the upload here never commits a body
    /// that is then refused.
    std::function<bool()> file_end;
  };
  struct limits {
    std::size_t max_field_bytes = std::size_t{64} * 1024;
    std::size_t max_part_header_bytes = std::size_t{8} * 1024;
    std::size_t max_parts = 32;
  };

  /// `boundary`: the Content-Type parameter, already unquoted. An invalid one makes every
  /// feed() fail with INVALID_MULTIPART.
  multipart_reader(std::string boundary, handlers h);
  // Two constructors rather than `limits l = {}`: a nested struct with member initializers
  // cannot be a default argument inside its enclosing class (GCC refuses it).
  multipart_reader(std::string boundary, handlers h, limits l);

  /// Feeds the next chunk; returns an error at the first problem and the same error on every
  /// later call. Bytes after the close delimiter (the epilogue) are ignored.
  [[nodiscard]] std::optional<multipart_error> feed(const char* data, std::size_t n);
  /// After the last chunk: an error unless the close delimiter has been seen.
  [[nodiscard]] std::optional<multipart_error> finish();
  /// Bytes of the body consumed so far. Called from a handler, it counts up to the end of what
  /// the handler is about (from file_begin: the blank line ending the file part's headers, so
  /// that a caller can tell the file's size from the body's length).
  [[nodiscard]] std::uint64_t consumed() const {
    return in_ == nullptr ? fed_ : fed_ + (chunk_size_ - in_->size());
  }
  /// The close delimiter was seen (and every handler accepted).
  [[nodiscard]] bool done() const { return state_ == state::done; }

 private:
  enum class state { preamble, after_delimiter, headers, content, done, failed };
  enum class part_kind { none, field, file };

  void scan(std::string_view& in);
  void read_delimiter_line(std::string_view& in);
  void read_headers(std::string_view& in);
  void begin_part(std::string_view header_lines);
  [[nodiscard]] bool emit(std::string_view bytes);
  [[nodiscard]] bool end_part();
  void next_part();
  void close();
  void fail(multipart_error e);

  std::string delimiter_; // CRLF "--" boundary
  handlers handlers_;
  limits limits_;
  state state_ = state::preamble;
  part_kind kind_ = part_kind::none;
  std::optional<multipart_error> error_;
  std::string carry_;  // held-back bytes: a proper prefix of delimiter_, never more
  std::string line_;   // what follows a delimiter on its line: "--" or padding and CRLF
  std::string header_; // the current part's header section, seeded with CRLF
  std::string name_;   // the current part's name
  std::string value_;  // the current field's bytes so far
  std::set<std::string, std::less<>> names_;
  std::size_t parts_ = 0;
  std::uint64_t fed_ = 0;                // bytes of the chunks before the current one
  const std::string_view* in_ = nullptr; // the current chunk's rest, while feed() runs
  std::size_t chunk_size_ = 0;
};

/// The boundary parameter of a Content-Type value such as
/// `multipart/form-data; boundary="abc"`: media type and parameter names case-insensitive,
/// the value a token or a quoted string of 1 to 70 RFC 2046 bchars not ending in a space.
/// nullopt when the type is not multipart/form-data or the boundary is missing or invalid.
[[nodiscard]] std::optional<std::string> multipart_boundary(std::string_view content_type);

} // namespace qx::api
