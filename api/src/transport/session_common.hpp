#pragma once

// What the sessions of net_server share (transport/README.md): the Beast names, the
// shared state, the connection slot, plain-text answers. The three protocols of the port
// each have their header: http_session.hpp, watch_session.hpp, agent_session_ws.hpp;
// net_server.cpp (plain TCP) and net_server_tls.cpp (TLS) instantiate them.

#include "net_server.hpp"

// Boost 1.74's asio needs <utility> first under C++20 (toolchain notes).
#include <utility>

#include "event_json.hpp"
#include "image_upload.hpp"
#include "request_text.hpp"
#include "responses.hpp"

#include <qx/net/url.hpp>
#include <qx/security/secrets.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <charconv>
#include <deque>
#include <set>
#include <thread>
#include <vector>

namespace qx::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace net_detail {

// Every session is a template on its stream: plain TCP, or TLS over it (--tls).
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
template<class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

constexpr std::string_view upload_path = "/api/v1/images/upload";

struct shared_state {
  net_dependencies deps;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::uint64_t> request_ids{0};
};

/// Counts a connection for its lifetime.
struct connection_slot {
  std::atomic<std::size_t>& n;
  explicit connection_slot(std::atomic<std::size_t>& c) : n(c) { n.fetch_add(1); }
  ~connection_slot() { n.fetch_sub(1); }
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
};

inline http_response text_response(unsigned status, std::string body,
                                   std::string type = "text/plain") {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(type);
  return r;
}

} // namespace net_detail
} // namespace qx::api
