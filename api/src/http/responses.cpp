#include "responses.hpp"

#include <qx/net/http_status.hpp>

#include <algorithm>
#include <cctype>

namespace qx::api {

namespace {

std::string camel(std::string_view snake) {
  std::string out;
  bool upper = false;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

json detail_value(const std::string& v) {
  const bool number =
      !v.empty() && v.size() < 19 &&
      std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
  return number ? json(std::stoull(v)) : json(v);
}

} // namespace

http_response json_response(unsigned status, const json& body) {
  http_response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

unsigned status_of(const error& e, bool if_match_given) {
  return net::http_status_of(e.code, if_match_given);
}

http_response error_response(const error& e, bool if_match_given) {
  const auto status = status_of(e, if_match_given);
  std::string code{to_string(e.code)};
  json details = json::object();
  for (const auto& [k, v] : e.details) {
    if (k == "reason")
      code = v;
    else if (k == "field")
      details["field"] = camel(v); // the domain names fields as protobuf does, the API in camelCase
    else
      details[camel(k)] = detail_value(v);
  }
  if (status == 412)
    code = "PRECONDITION_FAILED";
  return error_response(status, code, e.message, details);
}

http_response error_response(unsigned status, std::string_view code, std::string_view message,
                             const json& details) {
  json body;
  body["error"]["code"] = code;
  body["error"]["message"] = message;
  body["error"]["details"] = details.is_null() ? json::object() : details;
  return json_response(status, body);
}

} // namespace qx::api
