#include "storage_xml.hpp"

#include "qx/node/validate.hpp"
#include "xml_reader.hpp"
#include "xml_writer.hpp"

namespace qx::node::detail {

result<std::string> pool_xml(const pool_spec& spec) {
  if (auto s = validate_name("name", spec.name); !s)
    return std::move(s).error();
  if (auto s = validate_path("target_path", spec.target_path); !s)
    return std::move(s).error();
  xml_writer w;
  w.start("pool");
  w.attribute("type", "dir");
  w.element("name", spec.name);
  w.start("target");
  w.element("path", spec.target_path);
  w.end();
  w.end();
  return w.finish();
}

result<std::string> parse_pool_target(std::string_view xml) {
  auto doc = xml_document::parse(xml, "pool XML");
  if (!doc)
    return std::move(doc).error();
  return child_text(child(doc->root(), "target"), "path");
}

result<std::string> volume_xml(const volume_spec& spec) {
  if (auto s = validate_name("name", spec.name); !s)
    return std::move(s).error();
  if (spec.capacity_bytes == 0)
    return qx::error{
        errc::invalid_argument, "capacity_bytes must be at least 1", {{"field", "capacity_bytes"}}};
  xml_writer w;
  w.start("volume");
  w.element("name", spec.name);
  w.start("capacity");
  w.attribute("unit", "bytes");
  w.text(std::to_string(spec.capacity_bytes));
  w.end();
  // Sparse: space is taken as the guest writes, the pool's usual way.
  w.start("allocation");
  w.attribute("unit", "bytes");
  w.text("0");
  w.end();
  w.start("target");
  w.start("format");
  w.attribute("type", to_string(spec.format));
  w.end();
  w.end();
  w.end();
  return w.finish();
}

result<std::string> parse_volume_format(std::string_view xml) {
  auto doc = xml_document::parse(xml, "volume XML");
  if (!doc)
    return std::move(doc).error();
  return attribute_or_empty(child(child(doc->root(), "target"), "format"), "type");
}

} // namespace qx::node::detail
