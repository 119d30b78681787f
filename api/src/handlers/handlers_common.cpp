#include "handlers_common.hpp"

#include <charconv>
#include <cstdlib>
#include <random>

namespace qx::api {

namespace {

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string random_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(rng()));
  return out;
}

std::string scalar_text(const google::protobuf::Message& m,
                        const google::protobuf::FieldDescriptor& f) {
  using FD = google::protobuf::FieldDescriptor;
  const auto& r = *m.GetReflection();
  switch (f.cpp_type()) {
  case FD::CPPTYPE_STRING:
    return r.GetString(m, &f);
  case FD::CPPTYPE_BOOL:
    return r.GetBool(m, &f) ? "true" : "false";
  case FD::CPPTYPE_INT32:
    return std::to_string(r.GetInt32(m, &f));
  case FD::CPPTYPE_INT64:
    return std::to_string(r.GetInt64(m, &f));
  case FD::CPPTYPE_UINT32:
    return std::to_string(r.GetUInt32(m, &f));
  case FD::CPPTYPE_UINT64:
    return std::to_string(r.GetUInt64(m, &f));
  case FD::CPPTYPE_ENUM:
    return r.GetEnum(m, &f)->name();
  default:
    return {};
  }
}

double numeric_value(const google::protobuf::Message& m,
                     const google::protobuf::FieldDescriptor& f) {
  using FD = google::protobuf::FieldDescriptor;
  const auto& r = *m.GetReflection();
  switch (f.cpp_type()) {
  case FD::CPPTYPE_DOUBLE:
    return r.GetDouble(m, &f);
  case FD::CPPTYPE_FLOAT:
    return r.GetFloat(m, &f);
  case FD::CPPTYPE_INT32:
    return r.GetInt32(m, &f);
  case FD::CPPTYPE_INT64:
    return static_cast<double>(r.GetInt64(m, &f));
  case FD::CPPTYPE_UINT32:
    return r.GetUInt32(m, &f);
  case FD::CPPTYPE_UINT64:
    return static_cast<double>(r.GetUInt64(m, &f));
  default:
    return 0;
  }
}

} // namespace

result<json> body_of(const http_request& req) {
  if (req.body.empty())
    return json::object();
  return parse_body(req.body);
}

status check_id(std::string_view field, std::string_view id) {
  if (id.empty() || id.size() > 64)
    return invalid_field(std::string{field}, std::string{field} + " must be 1 to 64 characters");
  for (char c : id)
    if (!id_char(c))
      return invalid_field(std::string{field},
                           std::string{field} + " may hold only A-Z a-z 0-9 . _ -");
  // Ids name files too (images, later pools and volumes on nodes): never ".", ".." or hidden.
  if (id.front() == '.' || id.front() == '-')
    return invalid_field(std::string{field},
                         std::string{field} + " must start with a letter, digit or _");
  return {};
}

result<actors::command_meta> meta_of(const http_request& req) {
  actors::command_meta meta;
  meta.principal = req.principal;
  meta.correlation_id = req.request_id;
  // The request's fingerprint is part of the command id: after a restart (when the answer
  // cache is gone) a retry is still recognised by the log, and the same key with another
  // request is a new command, never mistaken for the first one.
  if (!req.idempotency_key.empty())
    meta.command_id = "idem:" + stable_hash(req.principal + "\n" + req.idempotency_key) + ":" +
                      stable_hash(req.method + " " + req.path + "\n" + req.body);
  if (!req.if_match.empty()) {
    std::string_view v{req.if_match};
    if (v.starts_with("W/"))
      v.remove_prefix(2);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
      v = v.substr(1, v.size() - 2);
    std::uint64_t version = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), version);
    if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size())
      return invalid_field("If-Match",
                           "If-Match must be a version as the ETag gave it, e.g. \"3\"");
    meta.expected_version = version;
  }
  return meta;
}

result<std::string> new_id(const json& body, const http_request& req) {
  std::string id;
  if (auto ok = read_string(body, "id", id, false, 64); !ok)
    return ok.error();
  if (!id.empty() || body.contains("id")) {
    if (auto ok = check_id("id", id); !ok)
      return ok.error();
    return id;
  }
  if (!req.idempotency_key.empty())
    return stable_hash(req.principal + "\n" + req.path + "\n" + req.idempotency_key);
  return random_id();
}

result<page> page_of(const http_request& req) {
  page p;
  if (const auto it = req.query.find("limit"); it != req.query.end()) {
    const auto& v = it->second;
    std::size_t n = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || r.ec != std::errc{} || r.ptr != v.data() + v.size() || n < 1 || n > 1000)
      return invalid_field("limit", "limit must be an integer from 1 to 1000");
    p.limit = n;
  }
  if (const auto it = req.query.find("pageToken"); it != req.query.end()) {
    if (it->second.size() > 256)
      return invalid_field("pageToken", "pageToken is not one this server gave");
    p.after = it->second;
  }
  return p;
}

result<std::vector<field_filter>> filters_of(const http_request& req,
                                             const google::protobuf::Descriptor& d) {
  std::vector<field_filter> out;
  for (const auto& [key, value] : req.query) {
    if (key == "limit" || key == "pageToken")
      continue;
    const auto* f = d.FindFieldByCamelcaseName(key);
    const bool hidden = f != nullptr && std::find(hidden_fields.begin(), hidden_fields.end(),
                                                  f->name()) != hidden_fields.end();
    if (f == nullptr || hidden || f->is_repeated() ||
        f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE)
      return invalid_field(key, "cannot filter on " + key + ": not a top-level scalar field");
    out.push_back(field_filter{f, value});
  }
  return out;
}

bool passes(const google::protobuf::Message& m, const std::vector<field_filter>& filters) {
  using FD = google::protobuf::FieldDescriptor;
  for (const auto& f : filters) {
    const auto type = f.field->cpp_type();
    if (type == FD::CPPTYPE_DOUBLE || type == FD::CPPTYPE_FLOAT || type == FD::CPPTYPE_INT32 ||
        type == FD::CPPTYPE_INT64 || type == FD::CPPTYPE_UINT32 || type == FD::CPPTYPE_UINT64) {
      // Numbers compare as numbers: cpuOvercommit=4 matches 4.0, vlanId=010 matches 10.
      char* end = nullptr;
      const double wanted = std::strtod(f.value.c_str(), &end);
      if (f.value.empty() || end != f.value.c_str() + f.value.size() ||
          wanted != numeric_value(m, *f.field))
        return false;
    } else if (scalar_text(m, *f.field) != f.value) {
      return false;
    }
  }
  return true;
}

responder renaming_fields(responder respond, field_renames renames) {
  return [respond = std::move(respond), renames = std::move(renames)](http_response resp) {
    if (resp.status == 400) {
      auto j = json::parse(resp.body, nullptr, false);
      if (j.is_object() && j["error"]["details"].contains("field") &&
          j["error"]["details"]["field"].is_string()) {
        const auto field = j["error"]["details"]["field"].get<std::string>();
        for (const auto& [from, to] : renames)
          if (field.starts_with(from)) {
            j["error"]["details"]["field"] = to + field.substr(from.size());
            resp.body = j.dump();
            break;
          }
      }
    }
    respond(std::move(resp));
  };
}

http_response list_response(json items, const std::string& next_token) {
  return json_response(200, json{{"items", std::move(items)}, {"nextPageToken", next_token}});
}

const std::string* as_of_of(const http_request& req) {
  for (const char* name : {"asOf", "as_of"})
    if (const auto it = req.query.find(name); it != req.query.end())
      return &it->second;
  return nullptr;
}

} // namespace qx::api
