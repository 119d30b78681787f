#pragma once

// protobuf messages <-> JSON through reflection, with our conventions: lowerCamelCase names,
// 64-bit integers as numbers, every field present on output; on input unknown fields and
// wrong types are refused with the dotted path of the field at fault.

#include <qx/base/error.hpp>

#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace qx::api {

using json = nlohmann::json;

/// All fields of `m`, minus those named in `skip` (proto names, top level only).
[[nodiscard]] json to_json(const google::protobuf::Message& m,
                           std::span<const std::string_view> skip = {});

/// Fills `m` from `j` (an object); `path` prefixes field names in errors.
[[nodiscard]] status from_json(const json& j, google::protobuf::Message& m,
                               const std::string& path);

/// Parses a request body: an object, at most `max_depth` deep. 400 MALFORMED_JSON otherwise.
[[nodiscard]] result<json> parse_body(std::string_view body, int max_depth = 32);

/// Refuses any key of `j` not in `allowed` (400 naming the field).
[[nodiscard]] status only_fields(const json& j, std::span<const std::string_view> allowed,
                                 const std::string& path = {});
[[nodiscard]] inline status only_fields(const json& j,
                                        std::initializer_list<std::string_view> allowed,
                                        const std::string& path = {}) {
  return only_fields(j, std::span<const std::string_view>{allowed.begin(), allowed.size()}, path);
}

/// Typed reads of optional members: absent leaves `out` as it is.
[[nodiscard]] status read_string(const json& j, std::string_view key, std::string& out,
                                 bool required = false, std::size_t max_bytes = 4096);
[[nodiscard]] status read_u64(const json& j, std::string_view key, std::uint64_t& out,
                              bool required = false);
[[nodiscard]] status read_u32(const json& j, std::string_view key, std::uint32_t& out,
                              bool required = false);
[[nodiscard]] status read_bool(const json& j, std::string_view key, bool& out);
[[nodiscard]] status read_double(const json& j, std::string_view key, double& out);
[[nodiscard]] status read_message(const json& j, std::string_view key,
                                  google::protobuf::Message& out, bool required = false);

} // namespace qx::api
