#include "api_client.hpp"

#include <cpprest/http_client.h>
#include <cpprest/ws_client.h>
#include <gtest/gtest.h>
#include <strings.h>

#include <condition_variable>
#include <mutex>

namespace qx::test {

namespace http = web::http;
namespace ws = web::websockets::client;

bool header_less::operator()(const std::string& a, const std::string& b) const {
  return strcasecmp(a.c_str(), b.c_str()) < 0;
}

web::json::value api_response::json() const {
  try {
    return web::json::value::parse(body);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the body is not JSON (" << e.what() << "), status " << status << ": "
                  << body.substr(0, 500);
    return web::json::value::null();
  }
}

std::string api_response::header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string{} : it->second;
}

// ---------------------------------------------------------------------------------------------

struct api_client::impl {
  http::client::http_client client;

  impl(const std::string& base_url, std::chrono::seconds timeout)
      : client(web::uri(base_url), config(timeout)) {}

  static http::client::http_client_config config(std::chrono::seconds timeout) {
    http::client::http_client_config c;
    c.set_timeout(timeout);
    return c;
  }

  pplx::task<api_response> start(const std::string& method, const std::string& target,
                                 const std::optional<std::string>& body, const header_list& headers,
                                 const std::string& content_type) {
    http::http_request req(method);
    req.set_request_uri(web::uri(target));
    for (const auto& [name, value] : headers)
      req.headers().add(name, value);
    if (body)
      req.set_body(*body, content_type);
    return client.request(req).then([](http::http_response resp) {
      api_response out;
      out.status = resp.status_code();
      for (const auto& [name, value] : resp.headers())
        out.headers[name] = value;
      return resp.extract_vector().then([out](std::vector<unsigned char> bytes) mutable {
        out.body.assign(bytes.begin(), bytes.end());
        return out;
      });
    });
  }
};

api_client::api_client(const std::string& base_url, std::chrono::seconds timeout)
    : impl_(std::make_unique<impl>(base_url, timeout)) {}

api_client::~api_client() = default;

api_response api_client::send(const std::string& method, const std::string& target,
                              std::optional<std::string> body, const header_list& headers,
                              const std::string& content_type) {
  return impl_->start(method, target, body, headers, content_type).get();
}

std::vector<api_response> api_client::send_all(const std::vector<request>& requests) {
  std::vector<pplx::task<api_response>> tasks;
  tasks.reserve(requests.size());
  for (const auto& r : requests)
    tasks.push_back(impl_->start(r.method, r.target, r.body, r.headers, "application/json"));
  std::vector<api_response> out;
  out.reserve(tasks.size());
  for (auto& t : tasks) {
    try {
      out.push_back(t.get());
    } catch (const std::exception& e) {
      api_response failed;
      failed.body = e.what();
      out.push_back(std::move(failed));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

struct watch_client::impl {
  ws::websocket_callback_client client;
  mutable std::mutex mutex;
  std::condition_variable cv;
  std::vector<web::json::value> frames;
  std::uint64_t last = 0;
  std::size_t messages = 0;
  bool keeping = true;
  bool closed = false;
  int code = 0;
};

watch_client::watch_client(const std::string& ws_base, const std::string& query)
    : impl_(std::make_shared<impl>()) {
  std::weak_ptr<impl> weak = impl_;
  impl_->client.set_message_handler([weak](const ws::websocket_incoming_message& msg) {
    auto self = weak.lock();
    if (!self || msg.message_type() != ws::websocket_message_type::text_message)
      return;
    const auto text = msg.extract_string().get();
    web::json::value v;
    try {
      v = web::json::value::parse(text);
    } catch (const std::exception&) {
      v = web::json::value::string(text);
    }
    std::lock_guard lock{self->mutex};
    if (!self->keeping)
      return;
    ++self->messages;
    // batch=N: a message is an array of frames.
    std::vector<web::json::value> got;
    if (v.is_array())
      for (std::size_t i = 0; i < v.size(); ++i)
        got.push_back(v.at(i));
    else
      got.push_back(std::move(v));
    for (auto& f : got) {
      if (f.is_object() && f.has_field("type") && f.at("type").as_string() == "event")
        self->last = std::max(self->last, f.at("position").as_number().to_uint64());
      self->frames.push_back(std::move(f));
    }
    self->cv.notify_all();
  });
  impl_->client.set_close_handler(
      [weak](ws::websocket_close_status status, const std::string&, const std::error_code&) {
        auto self = weak.lock();
        if (!self)
          return;
        std::lock_guard lock{self->mutex};
        self->closed = true;
        self->code = static_cast<int>(status);
        self->cv.notify_all();
      });
  impl_->client.connect(web::uri(ws_base + "/api/v1/watch?" + query)).get();
}

watch_client::~watch_client() {
  try {
    impl_->client.close().wait();
  } catch (const std::exception&) {
  }
}

std::vector<web::json::value> watch_client::frames() const {
  std::lock_guard lock{impl_->mutex};
  return impl_->frames;
}

std::size_t watch_client::messages() const {
  std::lock_guard lock{impl_->mutex};
  return impl_->messages;
}

std::uint64_t watch_client::last_position() const {
  std::lock_guard lock{impl_->mutex};
  return impl_->last;
}

bool watch_client::wait_for_position(std::uint64_t position, std::chrono::milliseconds timeout) {
  std::unique_lock lock{impl_->mutex};
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->last >= position; });
}

bool watch_client::wait_for(const std::function<bool(const std::vector<web::json::value>&)>& pred,
                            std::chrono::milliseconds timeout) {
  std::unique_lock lock{impl_->mutex};
  return impl_->cv.wait_for(lock, timeout, [&] { return pred(impl_->frames); });
}

std::vector<web::json::value> watch_client::detach() {
  std::vector<web::json::value> out;
  {
    std::lock_guard lock{impl_->mutex};
    impl_->keeping = false;
    out = impl_->frames;
  }
  try {
    impl_->client.close().wait();
  } catch (const std::exception&) {
  }
  return out;
}

bool watch_client::closed() const {
  std::lock_guard lock{impl_->mutex};
  return impl_->closed;
}

int watch_client::close_code() const {
  std::lock_guard lock{impl_->mutex};
  return impl_->code;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4U];
      out += hex[c & 15U];
    }
  }
  return out;
}

} // namespace qx::test
