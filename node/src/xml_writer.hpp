#pragma once

#include "qx/base/error.hpp"

#include <libxml/xmlwriter.h>

#include <memory>
#include <string>
#include <string_view>

namespace qx::node::detail {

/// A structured XML writer (libxml2's xmlTextWriter): element and attribute text is escaped
/// by the writer, so no input can change the shape of the document.
///
/// Calls after a failure do nothing; finish() reports the first failure. Text given here must
/// have passed validate_xml_text (no NUL: the C API stops at the first one).
class xml_writer {
 public:
  xml_writer();

  /// Opens an element.
  void start(std::string_view name);
  /// Adds an attribute to the element just opened.
  void attribute(std::string_view name, std::string_view value);
  /// Adds text inside the open element.
  void text(std::string_view value);
  /// Closes the innermost open element.
  void end();
  /// An element holding only text: start, text, end.
  void element(std::string_view name, std::string_view value);

  /// Closes what is open and returns the document.
  [[nodiscard]] result<std::string> finish();

 private:
  void check(int rc);

  struct buffer_free {
    void operator()(xmlBufferPtr b) const noexcept { xmlBufferFree(b); }
  };
  struct writer_free {
    void operator()(xmlTextWriterPtr w) const noexcept { xmlFreeTextWriter(w); }
  };

  std::unique_ptr<xmlBuffer, buffer_free> buffer_;
  std::unique_ptr<xmlTextWriter, writer_free> writer_;
  bool ok_ = false;
};

} // namespace qx::node::detail
