#pragma once

#include "qx/base/error.hpp"

#include <libxml/tree.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qx::node::detail {

/// A parsed XML document (libxml2) and small helpers to walk it by element names. The
/// parser runs without network access and without printing anything.
class xml_document {
 public:
  /// Parses `xml`; an io_error naming `what` when it is not well-formed.
  [[nodiscard]] static result<xml_document> parse(std::string_view xml, std::string_view what);

  /// The root element (never null after a successful parse).
  [[nodiscard]] const xmlNode* root() const noexcept;

 private:
  struct doc_free {
    void operator()(xmlDocPtr d) const noexcept { xmlFreeDoc(d); }
  };
  std::unique_ptr<xmlDoc, doc_free> doc_;
};

/// The first child element of `parent` named `name`, or null.
[[nodiscard]] const xmlNode* child(const xmlNode* parent, std::string_view name) noexcept;

/// All child elements of `parent` named `name`, in document order.
[[nodiscard]] std::vector<const xmlNode*> children(const xmlNode* parent, std::string_view name);

/// The element's text content (entities decoded), empty for null.
[[nodiscard]] std::string text_of(const xmlNode* node);

/// The text of the first child named `name`, empty if there is none.
[[nodiscard]] std::string child_text(const xmlNode* parent, std::string_view name);

/// The attribute's value, or nullopt when absent (or the node is null).
[[nodiscard]] std::optional<std::string> attribute_of(const xmlNode* node, std::string_view name);

/// The attribute's value, or empty when absent.
[[nodiscard]] std::string attribute_or_empty(const xmlNode* node, std::string_view name);

/// Parses a decimal unsigned number, nullopt when `text` is not one.
[[nodiscard]] std::optional<std::uint64_t> parse_u64(std::string_view text) noexcept;

/// A libvirt size element (<memory unit='KiB'>524288</memory>) in bytes; `default_unit` when
/// the element has no unit attribute. nullopt for an unknown unit, a bad number or overflow.
[[nodiscard]] std::optional<std::uint64_t> size_in_bytes(const xmlNode* node,
                                                         std::string_view default_unit);

} // namespace qx::node::detail
