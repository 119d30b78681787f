#include "xml_writer.hpp"

namespace qx::node::detail {

namespace {

// libxml2 speaks unsigned char; the bytes are the same UTF-8.
const xmlChar* xml_chars(const std::string& s) {
  return reinterpret_cast<const xmlChar*>(s.c_str());
}

} // namespace

xml_writer::xml_writer() : buffer_(xmlBufferCreate()) {
  if (buffer_ == nullptr)
    return;
  writer_.reset(xmlNewTextWriterMemory(buffer_.get(), 0));
  if (writer_ == nullptr)
    return;
  ok_ = true;
  check(xmlTextWriterSetIndent(writer_.get(), 1));
  check(xmlTextWriterStartDocument(writer_.get(), nullptr, "UTF-8", nullptr));
}

void xml_writer::check(int rc) {
  if (rc < 0)
    ok_ = false;
}

void xml_writer::start(std::string_view name) {
  if (ok_)
    check(xmlTextWriterStartElement(writer_.get(), xml_chars(std::string{name})));
}

void xml_writer::attribute(std::string_view name, std::string_view value) {
  if (ok_)
    check(xmlTextWriterWriteAttribute(writer_.get(), xml_chars(std::string{name}),
                                      xml_chars(std::string{value})));
}

void xml_writer::text(std::string_view value) {
  if (ok_)
    check(xmlTextWriterWriteString(writer_.get(), xml_chars(std::string{value})));
}

void xml_writer::end() {
  if (ok_)
    check(xmlTextWriterEndElement(writer_.get()));
}

void xml_writer::element(std::string_view name, std::string_view value) {
  start(name);
  text(value);
  end();
}

result<std::string> xml_writer::finish() {
  if (ok_)
    check(xmlTextWriterEndDocument(writer_.get()));
  if (ok_)
    check(xmlTextWriterFlush(writer_.get()));
  if (!ok_)
    return qx::error{errc::io_error, "libxml2 could not write the XML document"};
  const auto* content = xmlBufferContent(buffer_.get());
  const auto size = xmlBufferLength(buffer_.get());
  if (content == nullptr || size < 0)
    return qx::error{errc::io_error, "libxml2 returned no XML document"};
  return std::string{reinterpret_cast<const char*>(content), static_cast<std::size_t>(size)};
}

} // namespace qx::node::detail
