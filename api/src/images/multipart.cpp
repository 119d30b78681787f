#include "multipart.hpp"

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

namespace qx::api {

namespace {

// Transport padding after a boundary is legal but never long in practice; the bound keeps a
// client from making the reader buffer an endless line.
constexpr std::size_t max_padding = 256;
constexpr std::size_t max_boundary = 70; // RFC 2046

multipart_error invalid(std::string message, std::string field = {}) {
  return multipart_error{"INVALID_MULTIPART", std::move(message), std::move(field)};
}

multipart_error aborted(const char* handler) {
  return multipart_error{"ABORTED", std::string{"the "} + handler + " handler stopped the body",
                         std::string{}};
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_tchar(char c) { // RFC 7230 token characters
  return is_alnum(c) || std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

// RFC 2046 bchars. The streaming search relies on a boundary holding no CR: then only the
// first byte of a delimiter is a CR, and a failed partial match can be released whole.
bool valid_boundary(std::string_view b) {
  return !b.empty() && b.size() <= max_boundary && b.back() != ' ' &&
         std::all_of(b.begin(), b.end(), [](char c) {
           return is_alnum(c) ||
                  std::string_view{"'()+_,-./:=? "}.find(c) != std::string_view::npos;
         });
}

struct parameter {
  std::string name;
  std::string value;
};

// `*( OWS ";" OWS name "=" ( token / quoted-string ) )`, the tail of a Content-Type or
// Content-Disposition value; nullopt when malformed. `all_escapes` decodes every quoted-pair
// (RFC 7230); without it only \" and \\ are escapes, because browsers send Windows paths in
// filename="..." with their backslashes unescaped.
std::optional<std::vector<parameter>> parse_parameters(std::string_view s, bool all_escapes) {
  std::vector<parameter> out;
  std::size_t i = 0;
  const auto skip_ows = [&] {
    while (i < s.size() && is_ows(s[i]))
      ++i;
  };
  while (true) {
    skip_ows();
    if (i == s.size())
      return out;
    if (s[i] != ';')
      return std::nullopt;
    ++i;
    skip_ows();
    if (i == s.size() || s[i] == ';')
      continue; // an empty parameter: tolerated, as clients do emit a trailing ";"
    parameter p;
    while (i < s.size() && is_tchar(s[i]))
      p.name.push_back(lower(s[i++]));
    if (p.name.empty() || i == s.size() || s[i] != '=')
      return std::nullopt;
    ++i;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        const char c = s[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < s.size() && (all_escapes || s[i] == '"' || s[i] == '\\'))
          p.value.push_back(s[i++]);
        else
          p.value.push_back(c);
      }
      if (!closed)
        return std::nullopt;
    } else {
      while (i < s.size() && is_tchar(s[i]))
        p.value.push_back(s[i++]);
      if (p.value.empty())
        return std::nullopt;
    }
    out.push_back(std::move(p));
  }
}

} // namespace

multipart_reader::multipart_reader(std::string boundary, handlers h)
    : multipart_reader(std::move(boundary), std::move(h), limits{}) {}

multipart_reader::multipart_reader(std::string boundary, handlers h, limits l)
    : delimiter_{"\r\n--" + boundary}, handlers_{std::move(h)}, limits_{l},
      // The body may open with "--boundary" itself: seeding the held-back bytes with the CRLF
      // a delimiter starts with lets one search handle both cases.
      carry_{"\r\n"} {
  if (!valid_boundary(boundary))
    fail(invalid("the boundary must be 1 to 70 RFC 2046 characters"));
}

void multipart_reader::fail(multipart_error e) {
  error_ = std::move(e);
  state_ = state::failed;
}

std::optional<multipart_error> multipart_reader::feed(const char* data, std::size_t n) {
  std::string_view in{data, n};
  in_ = &in;
  chunk_size_ = n;
  // Every step consumes input or changes state, and done/failed end the loop.
  while (!in.empty() && state_ != state::done && state_ != state::failed) {
    switch (state_) {
    case state::preamble:
    case state::content:
      scan(in);
      break;
    case state::after_delimiter:
      read_delimiter_line(in);
      break;
    case state::headers:
      read_headers(in);
      break;
    case state::done:
    case state::failed:
      break;
    }
  }
  in_ = nullptr;
  fed_ += n;
  if (state_ == state::failed)
    return error_;
  return std::nullopt;
}

std::optional<multipart_error> multipart_reader::finish() {
  if (state_ == state::failed)
    return error_;
  if (state_ != state::done)
    fail(invalid("the body ended before its close delimiter"));
  return error_;
}

// Looks for the delimiter in the preamble or a part's content. Bytes before it are content;
// a tail of `in` that may be the start of a delimiter split across chunks is held back in
// carry_ (never more than the delimiter's length) and everything else is passed on at once.
void multipart_reader::scan(std::string_view& in) {
  const std::string_view delim = delimiter_;
  if (!carry_.empty()) {
    const std::size_t need = delim.size() - carry_.size();
    const std::size_t take = std::min(need, in.size());
    if (in.substr(0, take) == delim.substr(carry_.size(), take)) {
      if (take == need) {
        carry_.clear();
        state_ = state::after_delimiter;
        line_.clear();
      } else {
        carry_.append(in.substr(0, take));
      }
      in.remove_prefix(take);
      return;
    }
    // Not a delimiter. No later byte of the held-back run is a CR, so none starts one either:
    // all of it is content, and the search goes on from the start of `in`.
    if (!emit(carry_))
      return;
    carry_.clear();
  }
  if (const auto at = in.find(delim); at != std::string_view::npos) {
    if (!emit(in.substr(0, at)))
      return;
    in.remove_prefix(at + delim.size());
    state_ = state::after_delimiter;
    line_.clear();
    return;
  }
  // Only the last delim.size() - 1 bytes can begin a partial match, and a match begins with
  // a CR: a few memchr calls at most.
  std::size_t keep = in.size();
  const std::size_t tail = delim.size() - 1;
  for (auto cr = in.find('\r', in.size() > tail ? in.size() - tail : 0);
       cr != std::string_view::npos; cr = in.find('\r', cr + 1)) {
    if (delim.starts_with(in.substr(cr))) {
      keep = cr;
      break;
    }
  }
  if (!emit(in.substr(0, keep)))
    return;
  carry_.assign(in.substr(keep));
  in.remove_prefix(in.size());
}

bool multipart_reader::emit(std::string_view bytes) {
  if (bytes.empty() || state_ == state::preamble)
    return true; // the preamble is ignored
  if (kind_ == part_kind::file) {
    if (handlers_.file_data && !handlers_.file_data(bytes.data(), bytes.size())) {
      fail(aborted("file_data"));
      return false;
    }
    return true;
  }
  if (bytes.size() > limits_.max_field_bytes - value_.size()) {
    fail(multipart_error{"FIELD_TOO_LARGE",
                         "the field is over " + std::to_string(limits_.max_field_bytes) + " bytes",
                         name_});
    return false;
  }
  value_.append(bytes);
  return true;
}

// After "--boundary": "--" closes the body; optional padding then CRLF opens the next part.
// Anything else means the boundary text occurs inside the content, which RFC 2046 forbids.
void multipart_reader::read_delimiter_line(std::string_view& in) {
  while (!in.empty()) {
    const char c = in.front();
    in.remove_prefix(1);
    if (!line_.empty() && line_.back() == '\r') {
      if (c != '\n')
        return fail(invalid("a boundary line must end with CRLF"));
      return next_part();
    }
    if (line_ == "-") {
      if (c != '-')
        return fail(invalid("a boundary must be followed by CRLF or \"--\""));
      return close();
    }
    if ((c == '-' && line_.empty()) || c == '\r' || (is_ows(c) && line_.size() < max_padding)) {
      line_.push_back(c);
      continue;
    }
    return fail(invalid("a boundary must be followed by CRLF or \"--\""));
  }
}

// Delivers the part that a delimiter just ended.
bool multipart_reader::end_part() {
  const part_kind kind = std::exchange(kind_, part_kind::none);
  if (kind == part_kind::field) {
    if (handlers_.field && !handlers_.field(name_, std::exchange(value_, std::string{}))) {
      fail(aborted("field"));
      return false;
    }
  } else if (kind == part_kind::file) {
    if (handlers_.file_end && !handlers_.file_end()) {
      fail(aborted("file_end"));
      return false;
    }
  }
  return true;
}

void multipart_reader::close() {
  if (end_part())
    state_ = state::done;
}

void multipart_reader::next_part() {
  if (kind_ == part_kind::file)
    return fail(
        multipart_error{"UNEXPECTED_PART", "the file part must be the last part", std::string{}});
  if (!end_part())
    return;
  if (parts_ == limits_.max_parts)
    return fail(multipart_error{
        "TOO_MANY_PARTS", "the body has more than " + std::to_string(limits_.max_parts) + " parts",
        std::string{}});
  ++parts_;
  // The CRLF that ended the boundary line also starts the header section: with it in front,
  // an empty section and a full one both end at the first CRLF CRLF.
  header_ = "\r\n";
  state_ = state::headers;
}

void multipart_reader::read_headers(std::string_view& in) {
  const std::size_t max = limits_.max_part_header_bytes;
  // header_ is CRLF + section + CRLF CRLF at most, i.e. max + 4 bytes.
  const std::size_t cap = max > std::numeric_limits<std::size_t>::max() - 4
                              ? std::numeric_limits<std::size_t>::max()
                              : max + 4;
  const std::size_t old = header_.size();
  const std::size_t take = std::min(in.size(), cap - old);
  header_.append(in.substr(0, take));
  const auto end = header_.find("\r\n\r\n", old < 3 ? 0 : old - 3);
  if (end == std::string::npos) {
    in.remove_prefix(take);
    if (header_.size() == cap)
      fail(invalid("the part's headers are over " + std::to_string(max) + " bytes"));
    return;
  }
  in.remove_prefix(end + 4 - old);
  // The header lines, each with its CRLF; empty when the part has none.
  begin_part(std::string_view{header_}.substr(2, end));
}

void multipart_reader::begin_part(std::string_view header_lines) {
  std::optional<std::string> name;
  std::optional<std::string> filename;
  bool disposition = false;
  while (!header_lines.empty()) {
    const auto eol = header_lines.find("\r\n"); // every line ends with one
    const auto line = header_lines.substr(0, eol);
    header_lines.remove_prefix(eol + 2);
    if (line.find_first_of("\r\n") != std::string_view::npos)
      return fail(invalid("a part header holds a bare CR or LF"));
    if (is_ows(line.front())) // lines are never empty: the section ends at the first one
      return fail(invalid("folded part headers are not supported"));
    const auto colon = line.find(':');
    const auto header = line.substr(0, colon);
    if (colon == std::string_view::npos || header.empty() ||
        !std::all_of(header.begin(), header.end(), is_tchar))
      return fail(invalid("a part header is not \"Name: value\""));
    if (!iequals(header, "Content-Disposition"))
      continue; // Content-Type and the like do not change how the part is read
    if (std::exchange(disposition, true))
      return fail(invalid("a part has two Content-Disposition headers", "Content-Disposition"));
    const auto value = trim(line.substr(colon + 1));
    const auto semi = value.find(';');
    const auto type = trim(value.substr(0, semi));
    const auto params =
        parse_parameters(semi == std::string_view::npos ? std::string_view{} : value.substr(semi),
                         /*all_escapes=*/false);
    if (!iequals(type, "form-data") || !params)
      return fail(invalid("Content-Disposition must be form-data with well-formed parameters",
                          "Content-Disposition"));
    for (const auto& p : *params) {
      auto* const slot = p.name == "name" ? &name : p.name == "filename" ? &filename : nullptr;
      if (slot == nullptr)
        continue; // filename* (RFC 7578 says not to send it) and the like
      if (slot->has_value())
        return fail(invalid("Content-Disposition repeats the " + p.name + " parameter",
                            "Content-Disposition"));
      *slot = p.value;
    }
  }
  if (!name || name->empty())
    return fail(invalid("each part needs Content-Disposition: form-data with a name",
                        "Content-Disposition"));
  if (names_.contains(*name))
    return fail(multipart_error{"DUPLICATE_FIELD", "the field appears twice", *name});
  names_.insert(*name);
  name_ = std::move(*name);
  carry_.clear();
  state_ = state::content;
  if (name_ == "file") {
    kind_ = part_kind::file;
    if (handlers_.file_begin && !handlers_.file_begin(filename.value_or(std::string{})))
      fail(aborted("file_begin"));
  } else {
    kind_ = part_kind::field;
    value_.clear();
  }
}

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  const auto semi = content_type.find(';');
  if (!iequals(trim(content_type.substr(0, semi)), "multipart/form-data") ||
      semi == std::string_view::npos)
    return std::nullopt;
  const auto params = parse_parameters(content_type.substr(semi), /*all_escapes=*/true);
  if (!params)
    return std::nullopt;
  std::optional<std::string> boundary;
  for (const auto& p : *params) {
    if (p.name != "boundary")
      continue;
    if (boundary)
      return std::nullopt; // two boundaries: no way to tell which the sender meant
    boundary = p.value;
  }
  if (!boundary || !valid_boundary(*boundary))
    return std::nullopt;
  return boundary;
}

} // namespace qx::api
