#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

/// UTF-8 checks of untrusted text, shared by every reader of files and requests (the
/// simulator's scenarios, the node agent's config, the node's input checks).
namespace qx {

/// One decoded UTF-8 sequence: its code point and its length in bytes (0 when invalid).
struct utf8_sequence {
  std::uint32_t code_point = 0;
  std::size_t length = 0;
};

/// Decodes the sequence that starts at `text[i]` (`i < text.size()`). Truncated sequences,
/// stray continuation bytes, overlong forms, surrogates and code points above U+10FFFF answer
/// length 0.
[[nodiscard]] utf8_sequence decode_utf8(std::string_view text, std::size_t i) noexcept;

/// The offset of the first byte that breaks UTF-8, or nullopt when all of `text` is valid.
/// NUL and other control characters are valid UTF-8: callers that refuse them check apart.
[[nodiscard]] std::optional<std::size_t> invalid_utf8_at(std::string_view text) noexcept;

/// `text` with every byte that breaks UTF-8 replaced by the four characters `\xHH` (upper-case
/// hex), so a value that is only recorded (a request id, a path in an audit record, a record
/// written before the store checked text) stays readable and shows what was sent. Valid
/// text is returned unchanged (a backslash in it is not escaped: the escape marks bytes,
/// it is not a reversible encoding).
[[nodiscard]] std::string escape_invalid_utf8(std::string_view text);

} // namespace qx
