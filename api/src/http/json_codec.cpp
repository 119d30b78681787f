#include "json_codec.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qx::api {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

json scalar(const Message& m, const Reflection& r, const FieldDescriptor& f, int index) {
  const bool rep = f.is_repeated();
  switch (f.cpp_type()) {
  case FieldDescriptor::CPPTYPE_INT32:
    return rep ? r.GetRepeatedInt32(m, &f, index) : r.GetInt32(m, &f);
  case FieldDescriptor::CPPTYPE_INT64:
    return rep ? r.GetRepeatedInt64(m, &f, index) : r.GetInt64(m, &f);
  case FieldDescriptor::CPPTYPE_UINT32:
    return rep ? r.GetRepeatedUInt32(m, &f, index) : r.GetUInt32(m, &f);
  case FieldDescriptor::CPPTYPE_UINT64:
    return rep ? r.GetRepeatedUInt64(m, &f, index) : r.GetUInt64(m, &f);
  case FieldDescriptor::CPPTYPE_DOUBLE:
    return rep ? r.GetRepeatedDouble(m, &f, index) : r.GetDouble(m, &f);
  case FieldDescriptor::CPPTYPE_FLOAT:
    return rep ? r.GetRepeatedFloat(m, &f, index) : r.GetFloat(m, &f);
  case FieldDescriptor::CPPTYPE_BOOL:
    return rep ? r.GetRepeatedBool(m, &f, index) : r.GetBool(m, &f);
  case FieldDescriptor::CPPTYPE_ENUM:
    return (rep ? r.GetRepeatedEnum(m, &f, index) : r.GetEnum(m, &f))->name();
  case FieldDescriptor::CPPTYPE_STRING:
    return rep ? r.GetRepeatedString(m, &f, index) : r.GetString(m, &f);
  case FieldDescriptor::CPPTYPE_MESSAGE:
    return to_json(rep ? r.GetRepeatedMessage(m, &f, index) : r.GetMessage(m, &f));
  }
  return nullptr;
}

json map_field(const Message& m, const Reflection& r, const FieldDescriptor& f) {
  json out = json::object();
  const auto* key_f = f.message_type()->map_key();
  const auto* value_f = f.message_type()->map_value();
  for (int i = 0; i < r.FieldSize(m, &f); ++i) {
    const auto& entry = r.GetRepeatedMessage(m, &f, i);
    const auto& er = *entry.GetReflection();
    auto key = scalar(entry, er, *key_f, 0);
    out[key.is_string() ? key.get<std::string>() : key.dump()] = scalar(entry, er, *value_f, 0);
  }
  return out;
}

template<class T>
bool integer_in_range(const json& v) {
  if (v.is_number_unsigned())
    return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
  if (v.is_number_integer())
    return v.get<std::int64_t>() >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
           (std::is_signed_v<T> || v.get<std::int64_t>() >= 0) &&
           (sizeof(T) == 8 ||
            v.get<std::int64_t>() <= static_cast<std::int64_t>(std::numeric_limits<T>::max()));
  return false;
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}

status set_scalar(const json& v, Message& m, const FieldDescriptor& f, const std::string& path);

status add_value(const json& v, Message& m, const FieldDescriptor& f, const std::string& path) {
  const auto& r = *m.GetReflection();
  const bool rep = f.is_repeated();
  const auto need = [&](const char* what) {
    return invalid_field(path, path + " must be " + what);
  };
  switch (f.cpp_type()) {
  case FieldDescriptor::CPPTYPE_INT32:
    if (!integer_in_range<std::int32_t>(v))
      return need("a 32-bit integer");
    rep ? r.AddInt32(&m, &f, v.get<std::int32_t>()) : r.SetInt32(&m, &f, v.get<std::int32_t>());
    return {};
  case FieldDescriptor::CPPTYPE_INT64:
    if (!integer_in_range<std::int64_t>(v))
      return need("a 64-bit integer");
    rep ? r.AddInt64(&m, &f, v.get<std::int64_t>()) : r.SetInt64(&m, &f, v.get<std::int64_t>());
    return {};
  case FieldDescriptor::CPPTYPE_UINT32:
    if (!integer_in_range<std::uint32_t>(v))
      return need("an integer from 0 to 4294967295");
    rep ? r.AddUInt32(&m, &f, v.get<std::uint32_t>()) : r.SetUInt32(&m, &f, v.get<std::uint32_t>());
    return {};
  case FieldDescriptor::CPPTYPE_UINT64:
    if (!integer_in_range<std::uint64_t>(v))
      return need("a non-negative integer");
    rep ? r.AddUInt64(&m, &f, v.get<std::uint64_t>()) : r.SetUInt64(&m, &f, v.get<std::uint64_t>());
    return {};
  case FieldDescriptor::CPPTYPE_DOUBLE:
  case FieldDescriptor::CPPTYPE_FLOAT:
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      return need("a number");
    if (f.cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE)
      rep ? r.AddDouble(&m, &f, v.get<double>()) : r.SetDouble(&m, &f, v.get<double>());
    else
      rep ? r.AddFloat(&m, &f, v.get<float>()) : r.SetFloat(&m, &f, v.get<float>());
    return {};
  case FieldDescriptor::CPPTYPE_BOOL:
    if (!v.is_boolean())
      return need("true or false");
    rep ? r.AddBool(&m, &f, v.get<bool>()) : r.SetBool(&m, &f, v.get<bool>());
    return {};
  case FieldDescriptor::CPPTYPE_ENUM: {
    const auto* value =
        v.is_string() ? f.enum_type()->FindValueByName(v.get<std::string>()) : nullptr;
    if (value == nullptr)
      return need("one of the enumeration's names");
    rep ? r.AddEnum(&m, &f, value) : r.SetEnum(&m, &f, value);
    return {};
  }
  case FieldDescriptor::CPPTYPE_STRING:
    if (!v.is_string())
      return need("a string");
    rep ? r.AddString(&m, &f, v.get<std::string>()) : r.SetString(&m, &f, v.get<std::string>());
    return {};
  case FieldDescriptor::CPPTYPE_MESSAGE:
    return from_json(v, rep ? *r.AddMessage(&m, &f) : *r.MutableMessage(&m, &f), path);
  }
  return need("a known type");
}

status set_map(const json& v, Message& m, const FieldDescriptor& f, const std::string& path) {
  if (!v.is_object())
    return invalid_field(path, path + " must be an object");
  const auto& r = *m.GetReflection();
  const auto* key_f = f.message_type()->map_key();
  const auto* value_f = f.message_type()->map_value();
  for (const auto& [key, value] : v.items()) {
    auto* entry = r.AddMessage(&m, &f);
    json key_json = key;
    if (key_f->cpp_type() != FieldDescriptor::CPPTYPE_STRING)
      key_json = json::parse(key, nullptr, false);
    if (auto ok = add_value(key_json, *entry, *key_f, path); !ok)
      return ok;
    if (auto ok = add_value(value, *entry, *value_f, join(path, key)); !ok)
      return ok;
  }
  return {};
}

status set_scalar(const json& v, Message& m, const FieldDescriptor& f, const std::string& path) {
  if (f.is_map())
    return set_map(v, m, f, path);
  if (!f.is_repeated())
    return add_value(v, m, f, path);
  if (!v.is_array())
    return invalid_field(path, path + " must be an array");
  for (std::size_t i = 0; i < v.size(); ++i)
    if (auto ok = add_value(v[i], m, f, path + "[" + std::to_string(i) + "]"); !ok)
      return ok;
  return {};
}

} // namespace

json to_json(const Message& m, std::span<const std::string_view> skip) {
  json out = json::object();
  const auto* d = m.GetDescriptor();
  const auto& r = *m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (std::find(skip.begin(), skip.end(), f->name()) != skip.end())
      continue;
    if (f->is_map()) {
      out[f->json_name()] = map_field(m, r, *f);
    } else if (f->is_repeated()) {
      json arr = json::array();
      for (int k = 0; k < r.FieldSize(m, f); ++k)
        arr.push_back(scalar(m, r, *f, k));
      out[f->json_name()] = std::move(arr);
    } else {
      out[f->json_name()] = scalar(m, r, *f, 0);
    }
  }
  return out;
}

status from_json(const json& j, Message& m, const std::string& path) {
  if (!j.is_object())
    return invalid_field(path.empty() ? "body" : path,
                         (path.empty() ? std::string{"the body"} : path) + " must be an object");
  const auto* d = m.GetDescriptor();
  for (const auto& [key, value] : j.items()) {
    const auto* f = d->FindFieldByCamelcaseName(key);
    if (f == nullptr)
      f = d->FindFieldByName(key);
    if (f == nullptr)
      return invalid_field(join(path, key), "unknown field " + join(path, key));
    if (value.is_null())
      continue;
    if (auto ok = set_scalar(value, m, *f, join(path, key)); !ok)
      return ok;
  }
  return {};
}

result<json> parse_body(std::string_view body, int max_depth) {
  // A bracket count first: nesting is refused before the parser allocates for it.
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if ((c == '{' || c == '[') && ++depth > max_depth)
      return error{errc::invalid_argument,
                   "the body nests deeper than " + std::to_string(max_depth) + " levels",
                   {{"reason", "MALFORMED_JSON"}, {"field", "body"}}};
    else if (c == '}' || c == ']')
      --depth;
  }
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded())
    return error{errc::invalid_argument,
                 "the body is not valid JSON",
                 {{"reason", "MALFORMED_JSON"}, {"field", "body"}}};
  if (!j.is_object())
    return error{errc::invalid_argument,
                 "the body must be a JSON object",
                 {{"reason", "MALFORMED_JSON"}, {"field", "body"}}};
  return j;
}

status only_fields(const json& j, std::span<const std::string_view> allowed,
                   const std::string& path) {
  for (const auto& [key, value] : j.items())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return invalid_field(join(path, key), "unknown field " + join(path, key));
  return {};
}

namespace {

const json* member(const json& j, std::string_view key) {
  const auto it = j.find(std::string{key});
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

status missing(std::string_view key) {
  return invalid_field(std::string{key}, std::string{key} + " is required");
}

} // namespace

status read_string(const json& j, std::string_view key, std::string& out, bool required,
                   std::size_t max_bytes) {
  const auto* v = member(j, key);
  if (v == nullptr)
    return required ? missing(key) : status{};
  if (!v->is_string())
    return invalid_field(std::string{key}, std::string{key} + " must be a string");
  if (v->get_ref<const std::string&>().size() > max_bytes)
    return invalid_field(std::string{key}, std::string{key} + " is longer than " +
                                               std::to_string(max_bytes) + " bytes");
  out = v->get<std::string>();
  return {};
}

status read_u64(const json& j, std::string_view key, std::uint64_t& out, bool required) {
  const auto* v = member(j, key);
  if (v == nullptr)
    return required ? missing(key) : status{};
  if (!integer_in_range<std::uint64_t>(*v))
    return invalid_field(std::string{key}, std::string{key} + " must be a non-negative integer");
  out = v->get<std::uint64_t>();
  return {};
}

status read_u32(const json& j, std::string_view key, std::uint32_t& out, bool required) {
  const auto* v = member(j, key);
  if (v == nullptr)
    return required ? missing(key) : status{};
  if (!integer_in_range<std::uint32_t>(*v))
    return invalid_field(std::string{key},
                         std::string{key} + " must be an integer from 0 to 4294967295");
  out = v->get<std::uint32_t>();
  return {};
}

status read_bool(const json& j, std::string_view key, bool& out) {
  // A flag is true, false or absent: null would read as "the default" to one client and
  // as "off" to another, so it is refused.
  if (const auto it = j.find(std::string{key}); it != j.end() && it->is_null())
    return invalid_field(std::string{key}, std::string{key} + " must be true or false, not null");
  const auto* v = member(j, key);
  if (v == nullptr)
    return {};
  if (!v->is_boolean())
    return invalid_field(std::string{key}, std::string{key} + " must be true or false");
  out = v->get<bool>();
  return {};
}

status read_double(const json& j, std::string_view key, double& out) {
  const auto* v = member(j, key);
  if (v == nullptr)
    return {};
  if (!v->is_number() || !std::isfinite(v->get<double>()))
    return invalid_field(std::string{key}, std::string{key} + " must be a number");
  out = v->get<double>();
  return {};
}

status read_message(const json& j, std::string_view key, Message& out, bool required) {
  const auto* v = member(j, key);
  if (v == nullptr)
    return required ? missing(key) : status{};
  return from_json(*v, out, std::string{key});
}

} // namespace qx::api
