#include "xml_reader.hpp"

#include <libxml/parser.h>

#include <charconv>
#include <climits>
#include <string>

namespace qx::node::detail {

namespace {

bool named(const xmlNode* node, std::string_view name) noexcept {
  return node->type == XML_ELEMENT_NODE && node->name != nullptr &&
         std::string_view{reinterpret_cast<const char*>(node->name)} == name;
}

struct xml_string_free {
  void operator()(xmlChar* s) const noexcept { xmlFree(s); }
};
using xml_string = std::unique_ptr<xmlChar, xml_string_free>;

std::string to_std(const xml_string& s) {
  return s ? std::string{reinterpret_cast<const char*>(s.get())} : std::string{};
}

// Multipliers of libvirt's size units (docs: "formatdomain.html#memory-allocation").
std::optional<std::uint64_t> unit_factor(std::string_view unit) noexcept {
  constexpr std::uint64_t kib = 1024;
  if (unit == "b" || unit == "bytes")
    return 1;
  if (unit == "KB")
    return 1000;
  if (unit == "k" || unit == "KiB")
    return kib;
  if (unit == "MB")
    return std::uint64_t{1000} * 1000;
  if (unit == "M" || unit == "MiB")
    return kib * kib;
  if (unit == "GB")
    return std::uint64_t{1000} * 1000 * 1000;
  if (unit == "G" || unit == "GiB")
    return kib * kib * kib;
  if (unit == "TB")
    return std::uint64_t{1000} * 1000 * 1000 * 1000;
  if (unit == "T" || unit == "TiB")
    return kib * kib * kib * kib;
  return std::nullopt;
}

} // namespace

result<xml_document> xml_document::parse(std::string_view xml, std::string_view what) {
  if (xml.size() > static_cast<std::size_t>(INT_MAX))
    return qx::error{errc::io_error, std::string{what} + ": XML document too large"};
  xml_document out;
  out.doc_.reset(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, "UTF-8",
                               XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (out.doc_ == nullptr || xmlDocGetRootElement(out.doc_.get()) == nullptr)
    return qx::error{errc::io_error, std::string{what} + ": libvirt returned malformed XML"};
  return out;
}

const xmlNode* xml_document::root() const noexcept {
  return xmlDocGetRootElement(doc_.get());
}

const xmlNode* child(const xmlNode* parent, std::string_view name) noexcept {
  if (parent == nullptr)
    return nullptr;
  for (const xmlNode* n = parent->children; n != nullptr; n = n->next)
    if (named(n, name))
      return n;
  return nullptr;
}

std::vector<const xmlNode*> children(const xmlNode* parent, std::string_view name) {
  std::vector<const xmlNode*> out;
  if (parent == nullptr)
    return out;
  for (const xmlNode* n = parent->children; n != nullptr; n = n->next)
    if (named(n, name))
      out.push_back(n);
  return out;
}

std::string text_of(const xmlNode* node) {
  if (node == nullptr)
    return {};
  return to_std(xml_string{xmlNodeGetContent(node)});
}

std::string child_text(const xmlNode* parent, std::string_view name) {
  return text_of(child(parent, name));
}

std::optional<std::string> attribute_of(const xmlNode* node, std::string_view name) {
  if (node == nullptr)
    return std::nullopt;
  const std::string key{name};
  xml_string value{xmlGetProp(node, reinterpret_cast<const xmlChar*>(key.c_str()))};
  if (!value)
    return std::nullopt;
  return to_std(value);
}

std::string attribute_or_empty(const xmlNode* node, std::string_view name) {
  return attribute_of(node, name).value_or(std::string{});
}

std::optional<std::uint64_t> parse_u64(std::string_view text) noexcept {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end)
    return std::nullopt;
  return value;
}

std::optional<std::uint64_t> size_in_bytes(const xmlNode* node, std::string_view default_unit) {
  if (node == nullptr)
    return std::nullopt;
  const auto unit = attribute_of(node, "unit").value_or(std::string{default_unit});
  const auto factor = unit_factor(unit);
  const auto number = parse_u64(text_of(node));
  if (!factor || !number)
    return std::nullopt;
  if (*number > UINT64_MAX / *factor)
    return std::nullopt;
  return *number * *factor;
}

} // namespace qx::node::detail
