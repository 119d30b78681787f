#pragma once

// The connection sessions of net_server (HTTP, the watch WebSocket, the agent session), as
// templates on their stream: plain TCP or TLS. Two translation units instantiate them,
// net_server.cpp for plain TCP and net_server_tls.cpp for TLS, so the two halves of the
// heaviest Beast code compile side by side. Included by those two files only.

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

// ---------------------------------------------------------------------------------------------
// WebSocket watcher

struct watch_params {
  std::uint64_t from = 0;
  std::set<std::string> types;
  std::string stream;
  std::size_t batch = 1; ///< Frames per message; above 1 every message is a JSON array.
};

template<class Stream>
class watch_session : public std::enable_shared_from_this<watch_session<Stream>> {
 public:
  watch_session(Stream&& stream, shared_state& st, watch_params params)
      : ws_(std::move(stream)), st_(st), slot_(st.connections), params_(std::move(params)),
        cursor_(params_.from), sent_(params_.from) {}

  ~watch_session() {
    if (registered_)
      st_.deps.hub.remove(listener_);
  }
  watch_session(const watch_session&) = delete;
  watch_session& operator=(const watch_session&) = delete;

  void run(http::request<http::string_body> req) {
    const auto& limits = st_.deps.limits;
    // Beast pings an idle peer after half the idle timeout and drops it after the whole.
    ws_.set_option(
        websocket::stream_base::timeout{limits.handshake_timeout, limits.ping_interval * 2, true});
    ws_.read_message_max(limits.max_ws_message_bytes);
    ws_.async_accept(
        req, beast::bind_front_handler(&watch_session::on_accept, this->shared_from_this()));
  }

 private:
  struct queued {
    std::uint64_t position = 0; ///< 0 for a frame that is not an event.
    std::shared_ptr<const std::string> text;
  };

  void on_accept(beast::error_code ec) {
    if (ec)
      return;
    std::weak_ptr<watch_session> weak = this->shared_from_this();
    auto executor = ws_.get_executor();
    auto* pending = &wake_pending_;
    auto wake = [weak, executor, pending] {
      if (pending->exchange(true))
        return; // a wake is on its way already
      net::post(executor, [weak] {
        if (auto self = weak.lock())
          self->pump();
      });
    };
    watch_hub::listener l;
    // A batching watcher is woken by the hub's ticks, one per window, not by every event.
    if (batching())
      l.tick = wake;
    else
      l.wake = wake;
    l.side = [weak, executor](std::shared_ptr<const std::string> text) {
      net::post(executor, [weak, text = std::move(text)] {
        if (auto self = weak.lock())
          self->push_side(text);
      });
    };
    listener_ = st_.deps.hub.add(std::move(l));
    registered_ = true;
    do_read();
    pump();
  }

  void do_read() {
    ws_.async_read(in_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->closed_ = true;
        return;
      }
      self->in_.consume(self->in_.size()); // watchers have nothing to tell us
      self->do_read();
    });
  }

  [[nodiscard]] bool batching() const { return params_.batch > 1; }
  [[nodiscard]] bool filtered() const { return !params_.types.empty() || !params_.stream.empty(); }
  /// The newest position this watcher may send: the hub's head, or for a batching watcher
  /// the last tick's (what came after goes out with the next tick, in step with the others).
  [[nodiscard]] std::uint64_t horizon() const {
    if (!batching())
      return st_.deps.hub.head();
    const auto b = st_.deps.hub.batch();
    return b ? b->last : st_.deps.hub.ticked();
  }

  void push_side(std::shared_ptr<const std::string> text) {
    if (closed_ || overflowing_)
      return;
    queue_.push_back(queued{0, std::move(text)});
    if (queue_.size() > st_.deps.limits.watch_queue_events)
      overflow();
    else
      pump();
  }

  [[nodiscard]] bool wanted(const watch_frame& f) const {
    return (params_.types.empty() || params_.types.contains(f.type)) &&
           (params_.stream.empty() || params_.stream == f.stream);
  }

  /// Queues the next frames after the cursor up to `limit`, from the ring or else the log.
  void fill(std::uint64_t limit) {
    if (limit <= cursor_)
      return;
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(256, limit - cursor_));
    const bool all = !filtered();
    const bool in_ring = st_.deps.hub.visit(cursor_, n, [&](const watch_frame& f) {
      cursor_ = f.position;
      if (all || wanted(f))
        queue_.push_back(queued{f.position, f.text});
    });
    if (in_ring)
      return;
    auto events = st_.deps.store.read_all(cursor_ + 1, n);
    if (!events) {
      close(websocket::close_code::internal_error, "the log could not be read");
      return;
    }
    for (const auto& e : *events) {
      auto f = make_frame(e);
      cursor_ = f.position;
      if (wanted(f))
        queue_.push_back(queued{f.position, std::move(f.text)});
    }
  }

  void pump() {
    if (writing_) {
      // The write's completion pumps again and sees every frame published until then:
      // further wakes are dropped, so a busy watcher costs one wake per message, not per event.
      wake_pending_ = true;
      return;
    }
    wake_pending_ = false;
    if (closed_)
      return;
    if (batching() && queue_.empty() && !overflowing_ && !filtered() && write_shared_batch())
      return;
    if (queue_.empty() && !overflowing_) {
      const auto head = horizon();
      fill(head);
      if (closed_)
        return;
      if (!live_ && cursor_ >= head)
        live_ = true; // caught up once: from now on, falling behind is the client's doing
      if (live_ && head > cursor_ + st_.deps.limits.watch_queue_events) {
        overflow();
        return;
      }
    }
    if (queue_.empty()) {
      if (overflowing_)
        close(static_cast<websocket::close_code>(4008),
              "too slow: resume from " + std::to_string(sent_));
      return;
    }
    if (params_.batch > 1) {
      write_batch();
      return;
    }
    auto next = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*next.text),
                    [self = this->shared_from_this(), next](beast::error_code ec, std::size_t) {
                      self->after_write(ec, next.position);
                    });
  }

  /// The tick's shared batch when it starts where this watcher is: written as it is, no copy.
  bool write_shared_batch() {
    const auto b = st_.deps.hub.batch();
    if (!b || !b->text || b->after != cursor_ || b->last - b->after > params_.batch)
      return false;
    cursor_ = b->last;
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*b->text),
                    [self = this->shared_from_this(), b](beast::error_code ec, std::size_t) {
                      self->after_write(ec, b->last);
                    });
    return true;
  }

  /// batch=N: up to N queued frames as one JSON array in one message: under load a watcher
  /// sends fewer, larger messages (one copy of the frames is cheaper than Beast walking a
  /// sequence of small buffers).
  void write_batch() {
    auto message = std::make_shared<std::string>();
    message->reserve(std::size_t{16} << 10U);
    *message += '[';
    std::uint64_t last = 0;
    for (std::size_t n = 0; !queue_.empty() && n < params_.batch; ++n) {
      if (n > 0)
        *message += ',';
      const auto& front = queue_.front();
      *message += *front.text;
      if (front.position != 0)
        last = front.position;
      queue_.pop_front();
    }
    *message += ']';
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(*message),
                    [self = this->shared_from_this(), message,
                     last](beast::error_code ec, std::size_t) { self->after_write(ec, last); });
  }

  void after_write(beast::error_code ec, std::uint64_t position) {
    writing_ = false;
    if (ec) {
      closed_ = true;
      return;
    }
    if (position != 0)
      sent_ = position;
    pump();
  }

  /// Too far behind: drop what is queued, say where to resume, then close (code 4008).
  void overflow() {
    st_.deps.stats.watch_overflows().Increment();
    overflowing_ = true;
    queue_.clear();
    queue_.push_back(queued{0, std::make_shared<const std::string>(
                                   json{{"type", "overflow"}, {"resumeFrom", sent_}}.dump())});
    pump();
  }

  void close(websocket::close_code code, const std::string& reason) {
    closed_ = true;
    ws_.async_close(websocket::close_reason{code, reason},
                    [self = this->shared_from_this()](beast::error_code) {});
  }

  websocket::stream<Stream> ws_;
  shared_state& st_;
  connection_slot slot_;
  watch_params params_;
  std::uint64_t cursor_; ///< Last position looked at (sent or filtered out).
  std::uint64_t sent_;   ///< Last event position written to the client.
  std::deque<queued> queue_;
  beast::flat_buffer in_;
  std::atomic<bool> wake_pending_{false};
  std::uint64_t listener_ = 0;
  bool registered_ = false;
  bool writing_ = false;
  bool live_ = false;
  bool closed_ = false;
  bool overflowing_ = false;
};

// ---------------------------------------------------------------------------------------------
// HTTP

constexpr std::size_t max_watch_batch = max_shared_batch;

/// Parses /api/v1/watch's query: from (position or "now"), types (comma list), stream, batch.
inline result<watch_params> watch_params_of(const http_request& req, std::uint64_t head) {
  watch_params p;
  p.from = head;
  for (const auto& [key, value] : req.query) {
    if (key == "from") {
      if (value == "now")
        continue;
      std::uint64_t v = 0;
      const auto r = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || r.ec != std::errc{} || r.ptr != value.data() + value.size())
        return error{
            errc::invalid_argument, "from must be a log position or \"now\"", {{"field", "from"}}};
      p.from = v;
    } else if (key == "types") {
      std::string_view rest{value};
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        if (const auto t = rest.substr(0, comma); !t.empty())
          p.types.emplace(t);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      }
    } else if (key == "stream") {
      p.stream = value;
    } else if (key == "access_token") {
      continue; // checked by the access gate
    } else if (key == "batch") {
      std::size_t v = 0;
      const auto r = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || r.ec != std::errc{} || r.ptr != value.data() + value.size() || v < 1 ||
          v > max_watch_batch)
        return error{errc::invalid_argument,
                     "batch must be a number of frames from 1 to " +
                         std::to_string(max_watch_batch),
                     {{"field", "batch"}}};
      p.batch = v;
    } else {
      return error{errc::invalid_argument, "unknown query parameter " + key, {{"field", key}}};
    }
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Node agent session: one WebSocket per agent, binary protobuf frames both ways, handed to the
// node's proxy actor through the agent registry.

template<class Stream>
class agent_ws : public agent_link, public std::enable_shared_from_this<agent_ws<Stream>> {
 public:
  agent_ws(Stream&& stream, shared_state& st, std::string node_id)
      : ws_(std::move(stream)), st_(st), node_id_(std::move(node_id)) {}
  ~agent_ws() override = default;
  agent_ws(const agent_ws&) = delete;
  agent_ws& operator=(const agent_ws&) = delete;
  agent_ws(agent_ws&&) = delete;
  agent_ws& operator=(agent_ws&&) = delete;

  void run(http::request<http::string_body> req) {
    ws_.set_option(websocket::stream_base::timeout{st_.deps.limits.handshake_timeout,
                                                   st_.deps.limits.ping_interval * 2, true});
    ws_.read_message_max(std::size_t{16} << 20U);
    ws_.binary(true);
    ws_.async_accept(req, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec)
        return;
      self->epoch_ = self->st_.deps.agents.attach(self->node_id_, self);
      self->do_read();
    });
  }

  void send(std::string bytes) override {
    net::post(ws_.get_executor(),
              [self = this->shared_from_this(), b = std::move(bytes)]() mutable {
                if (self->closing_)
                  return;
                self->out_.push_back(std::move(b));
                if (self->out_.size() > 100'000) { // an agent that stopped reading
                  self->closing_ = true;
                  self->out_.clear();
                  beast::get_lowest_layer(self->ws_).close();
                  return;
                }
                if (self->out_.size() == 1)
                  self->write_next();
              });
  }

  void close(const std::string& reason) override {
    net::post(ws_.get_executor(), [self = this->shared_from_this(), reason] {
      if (self->closing_)
        return;
      self->closing_ = true;
      if (!self->out_.empty()) {
        self->close_reason_ = reason; // after the queued frames
        return;
      }
      self->ws_.async_close(websocket::close_reason{websocket::close_code::policy_error, reason},
                            [self](beast::error_code) {});
    });
  }

 private:
  void do_read() {
    ws_.async_read(in_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        self->st_.deps.agents.closed(self->node_id_, self->epoch_, ec.message());
        return;
      }
      self->st_.deps.agents.frame(self->node_id_, self->epoch_,
                                  beast::buffers_to_string(self->in_.data()));
      self->in_.consume(self->in_.size());
      self->do_read();
    });
  }

  void write_next() {
    ws_.async_write(net::buffer(out_.front()), [self = this->shared_from_this()](
                                                   beast::error_code ec, std::size_t) {
      if (ec)
        return;
      self->out_.pop_front();
      if (!self->out_.empty())
        return self->write_next();
      if (!self->close_reason_.empty())
        self->ws_.async_close(
            websocket::close_reason{websocket::close_code::policy_error, self->close_reason_},
            [self](beast::error_code) {});
    });
  }

  websocket::stream<Stream> ws_;
  shared_state& st_;
  std::string node_id_;
  std::uint64_t epoch_ = 0;
  beast::flat_buffer in_;
  std::deque<std::string> out_;
  bool closing_ = false;
  std::string close_reason_;
};

/// The node id of /api/v1/nodes/{id}/session, or "".
inline std::string session_node_of(std::string_view path) {
  constexpr std::string_view head = "/api/v1/nodes/";
  constexpr std::string_view tail = "/session";
  if (!path.starts_with(head) || !path.ends_with(tail) || path.size() <= head.size() + tail.size())
    return {};
  const auto id = path.substr(head.size(), path.size() - head.size() - tail.size());
  return id.find('/') == std::string_view::npos ? std::string{id} : std::string{};
}

template<class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
 public:
  template<class... TlsContext>
  http_session(tcp::socket&& socket, shared_state& st, TlsContext&... tls)
      : stream_(std::move(socket), tls...), st_(st), slot_(st.connections) {
    beast::error_code ec;
    const auto peer = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec)
      remote_ = peer.address().to_string() + ":" + std::to_string(peer.port());
  }

  void run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      self->after_handshake([self] { self->do_read(); });
    });
  }

  /// Answers 503 and closes: the connection cap is reached.
  void refuse() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      self->after_handshake([self] {
        self->keep_alive_ = false;
        self->send(error_response(503, "TOO_MANY_CONNECTIONS", "the connection limit is reached",
                                  json{{"limit", self->st_.deps.limits.max_connections}}),
                   11);
      });
    });
  }

 private:
  /// Runs `next` at once on plain TCP; over TLS once the handshake is done (a client that
  /// fails it or stalls past the handshake timeout is dropped without an answer).
  template<class F>
  void after_handshake(F next) {
    if constexpr (is_tls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(st_.deps.limits.handshake_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this(), next](beast::error_code ec) {
                                if (ec) {
                                  self->st_.deps.stats.tls_handshake_failures().Increment();
                                  return;
                                }
                                next();
                              });
    } else {
      next();
    }
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(st_.deps.limits.max_header_bytes));
    // Beast checks Content-Length against the limit as soon as the head is in: until the
    // route is known, the limit is the larger of a request's and an upload's.
    parser_->body_limit(
        std::max<std::uint64_t>(st_.deps.limits.max_body_bytes, st_.deps.limits.max_upload_bytes));
    beast::get_lowest_layer(stream_).expires_after(st_.deps.limits.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&http_session::on_header, this->shared_from_this()));
  }

  /// The head is in: an upload streams its body, any other request reads it whole.
  void on_header(beast::error_code ec, std::size_t) {
    if (!ec && parser_->get().method() == http::verb::post) {
      const auto target = parser_->get().target();
      http_request req;
      if (std::string_view{target.data(), target.size()}.starts_with(upload_path) &&
          request_of(parser_->get(), req) && req.path == upload_path) {
        start_upload(std::move(req));
        return;
      }
    }
    if (ec) {
      on_read(ec, 0);
      return;
    }
    parser_->body_limit(st_.deps.limits.max_body_bytes);
    if (const auto length = parser_->content_length();
        length && *length > st_.deps.limits.max_body_bytes) {
      on_read(http::error::body_limit, 0);
      return;
    }
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&http_session::on_read, this->shared_from_this()));
  }

  // --- POST /api/v1/images/upload: the body goes to image_upload as it arrives.

  void start_upload(http_request req) {
    started_ = std::chrono::steady_clock::now();
    const auto& head = parser_->get();
    version_ = head.version();
    keep_alive_ = false; // an upload's connection is not reused: its end is the simplest fence
    route_ = upload_path;
    method_ = req.method;
    audit_info info;
    if (auto refusal = gate(st_.deps.ctx, req, std::string{upload_path}, {}, info)) {
      audit_then(st_.deps.ctx, info, std::move(*refusal),
                 [self = this->shared_from_this()](http_response r) {
                   net::dispatch(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
                     self->send(std::move(r), self->version_);
                   });
                 });
      return;
    }
    const auto length = parser_->content_length();
    auto started = image_upload::start(st_.deps.ctx, std::move(req),
                                       length ? std::optional<std::uint64_t>{*length}
                                              : std::optional<std::uint64_t>{},
                                       st_.deps.limits.max_upload_bytes);
    if (auto* refused = std::get_if<http_response>(&started)) {
      send(std::move(*refused), version_);
      return;
    }
    upload_ = std::get<std::shared_ptr<image_upload>>(std::move(started));
    const bool expect_continue = beast::iequals(head[http::field::expect], "100-continue");
    upload_parser_.emplace(std::move(*parser_));
    upload_parser_->body_limit(st_.deps.limits.max_upload_bytes);
    chunk_.resize(std::size_t{256} << 10U);
    if (!expect_continue) {
      read_upload();
      return;
    }
    auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
    http::async_write(stream_, *cont,
                      [self = this->shared_from_this(), cont](beast::error_code e, std::size_t) {
                        if (e) {
                          self->upload_->abort("the connection ended");
                          self->close();
                          return;
                        }
                        self->read_upload();
                      });
  }

  void read_upload() {
    auto& body = upload_parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    body.more = true;
    beast::get_lowest_layer(stream_).expires_after(
        st_.deps.limits.idle_timeout); // per chunk: uploads take long
    http::async_read(
        stream_, buffer_, *upload_parser_,
        beast::bind_front_handler(&http_session::on_upload_read, this->shared_from_this()));
  }

  void on_upload_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::need_buffer)
      ec = {};
    const auto got = chunk_.size() - upload_parser_->get().body().size;
    if (got > 0 && !upload_->feed(chunk_.data(), got, strand_responder())) {
      upload_.reset();
      return;
    }
    if (ec == http::error::body_limit) {
      upload_->abort("the body exceeded the limit");
      upload_.reset();
      send(error_response(413, "TOO_LARGE", "the upload exceeds the limit",
                          json{{"limit", st_.deps.limits.max_upload_bytes}}),
           version_);
      return;
    }
    if (ec) {
      upload_->abort("the connection ended (" + ec.message() + ")");
      upload_.reset();
      close();
      return;
    }
    if (!upload_parser_->is_done()) {
      read_upload();
      return;
    }
    beast::get_lowest_layer(stream_)
        .expires_never(); // the answer waits for durability, not for the client
    auto upload = std::move(upload_);
    upload->finish(strand_responder());
  }

  /// Answers on this connection's strand, from whichever thread the answer comes.
  responder strand_responder() {
    return [self = this->shared_from_this()](http_response resp) {
      net::dispatch(self->stream_.get_executor(), [self, resp = std::move(resp)]() mutable {
        self->send(std::move(resp), self->version_);
      });
    };
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      close();
      return;
    }
    keep_alive_ = false;
    if (ec == http::error::body_limit) {
      send(error_response(413, "TOO_LARGE", "the body exceeds the limit",
                          json{{"limit", st_.deps.limits.max_body_bytes}}),
           11);
      return;
    }
    if (ec == http::error::header_limit) {
      send(error_response(431, "HEADERS_TOO_LARGE", "the headers exceed the limit",
                          json{{"limit", st_.deps.limits.max_header_bytes}}),
           11);
      return;
    }
    if (ec) {
      send(error_response(400, "BAD_REQUEST", "the request is not valid HTTP/1.1: " + ec.message()),
           11);
      return;
    }
    handle(parser_->release());
  }

  /// The head of `raw` as the handlers see it; false when the target is not a valid path.
  bool request_of(const http::request_header<>& raw, http_request& req) {
    req.method = std::string{raw.method_string()};
    if (!qx::net::split_target(std::string_view{raw.target().data(), raw.target().size()}, req.path,
                               req.query))
      return false;
    req.content_type = std::string{raw[http::field::content_type]};
    req.if_match = std::string{raw[http::field::if_match]};
    req.idempotency_key = std::string{raw["Idempotency-Key"]};
    req.principal = "anonymous";
    req.authorization = std::string{raw[http::field::authorization]};
    req.remote = remote_;
    const auto given_id = raw["X-Request-Id"];
    req.request_id = !given_id.empty() && given_id.size() <= 128
                         ? std::string{given_id}
                         : "req-" + std::to_string(st_.request_ids.fetch_add(1) + 1);
    // A request id that is not text is refused by dispatch (400 naming X-Request-Id); the
    // answer carries one of ours instead of echoing the bytes.
    request_id_ = is_clean_text(req.request_id, true)
                      ? req.request_id
                      : "req-" + std::to_string(st_.request_ids.fetch_add(1) + 1);
    return true;
  }

  void handle(http::request<http::string_body> raw) {
    started_ = std::chrono::steady_clock::now();
    version_ = raw.version();
    keep_alive_ = raw.keep_alive();
    http_request req;
    if (!request_of(raw, req)) {
      keep_alive_ = false;
      send(error_response(400, "BAD_REQUEST", "the request target is not a valid path"), version_);
      return;
    }
    // HTTP/1.1 requires Host (RFC 9112, 3.2): a request without one is malformed.
    if (raw.version() == 11 && raw.find(http::field::host) == raw.end()) {
      keep_alive_ = false;
      send(error_response(400, "BAD_REQUEST", "an HTTP/1.1 request needs a Host header",
                          json{{"field", "Host"}}),
           version_);
      return;
    }
    // HEAD is GET without the body (RFC 9110, 9.3.2): answered by the GET route.
    head_ = req.method == "HEAD";
    if (head_)
      req.method = "GET";
    method_ = req.method;
    req.body = std::move(raw.body());
    if (req.path == "/api/v1/watch" && websocket::is_upgrade(raw)) {
      upgrade(std::move(raw), req);
      return;
    }
    if (auto node = session_node_of(req.path); !node.empty() && websocket::is_upgrade(raw)) {
      agent_upgrade(std::move(raw), node);
      return;
    }
    if (system_route(req))
      return;
    dispatch(st_.deps.ctx, st_.deps.routes, std::move(req),
             [self = this->shared_from_this()](http_response resp, const std::string& route) {
               // dispatch: runs at once when the answer comes on this connection's strand
               // (reads), and is queued to it from the actors' and projections' threads.
               net::dispatch(self->stream_.get_executor(),
                             [self, resp = std::move(resp), route]() mutable {
                               self->route_ = route;
                               self->send(std::move(resp), self->version_);
                             });
             });
  }

  bool system_route(const http_request& req) {
    const auto& p = req.path;
    if (p != "/health" && p != "/live" && p != "/ready" && p != "/metrics" && p != "/api/v1/watch")
      return false;
    route_ = p;
    if (req.method != "GET") {
      auto resp = error_response(405, "METHOD_NOT_ALLOWED", "only GET is allowed on " + p,
                                 json{{"allow", "GET"}});
      resp.headers.emplace_back("Allow", "GET");
      send(std::move(resp), version_);
    } else if (p == "/health" || p == "/live") {
      send(json_response(200, json{{"status", "ok"}}), version_);
    } else if (p == "/ready") {
      send(readiness(), version_);
    } else if (p == "/metrics") {
      if (auto refusal = metrics_refusal(req)) {
        send(std::move(*refusal), version_);
        return true;
      }
      metrics::snapshot snap;
      snap.store = st_.deps.store.stats();
      snap.log_head = st_.deps.store.head().position;
      snap.projection_position = st_.deps.proj.position();
      snap.watch_clients = st_.deps.hub.clients();
      snap.in_flight = st_.deps.ctx.in_flight.load();
      snap.operations_running = st_.deps.ctx.ops.running();
      snap.connections = st_.connections.load();
      snap.projection_failed = st_.deps.proj.failure().has_value();
      snap.projection_skipped = st_.deps.proj.inv().skipped();
      send(text_response(200, st_.deps.stats.render(snap), "text/plain; version=0.0.4"), version_);
    } else {
      send(error_response(426, "UPGRADE_REQUIRED", "/api/v1/watch is a WebSocket endpoint"),
           version_);
    }
    return true;
  }

  /// /ready: 200 once the read models have caught up and while they can read the log; the
  /// body says where they are, why they stopped (503), and what they skipped (still 200).
  http_response readiness() {
    const auto& proj = st_.deps.proj;
    const auto failure = proj.failure();
    const bool ready = proj.caught_up() && !failure;
    json body{{"ready", ready},
              {"projectionPosition", proj.position()},
              {"logHead", st_.deps.store.head().position}};
    if (failure)
      body["failure"] = {{"position", proj.position() + 1},
                         {"code", to_string(failure->code)},
                         {"reason", failure->message}};
    if (const auto skipped = proj.inv().skipped(); skipped > 0) {
      const auto last = proj.inv().last_skipped();
      body["skippedEvents"] = skipped;
      body["lastSkipped"] = {
          {"position", last.position}, {"stream", last.stream}, {"reason", last.reason}};
    }
    return json_response(ready ? 200 : 503, body);
  }

  /// /metrics needs a token that may read the datacenter, unless --metrics-public (or
  /// authentication is off).
  std::optional<http_response> metrics_refusal(const http_request& req) {
    auto& ctx = st_.deps.ctx;
    if (ctx.access == nullptr || !ctx.access->enabled() || ctx.metrics_public)
      return std::nullopt;
    auto who = ctx.access->authenticate(ctx.proj.inv(), req.authorization, now_seconds());
    if (!who) {
      auto resp = error_response(who.error());
      resp.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="qvdc")");
      return resp;
    }
    if (!access_control::allowed(ctx.proj.inv(), who->user, "read", "datacenter"))
      return error_response(403, "PERMISSION_DENIED",
                            "user:" + who->user + " lacks read on datacenter",
                            json{{"privilege", "read"}, {"object", "datacenter"}});
    return std::nullopt;
  }

  void upgrade(http::request<http::string_body> raw, const http_request& req) {
    route_ = "/api/v1/watch";
    if (!st_.deps.proj.caught_up()) {
      send(error_response(503, "NOT_READY", "the read models are replaying the log"), version_);
      return;
    }
    // Browsers cannot set headers on a WebSocket: the token may come as ?access_token=.
    http_request who = req;
    if (who.authorization.empty() && req.query.contains("access_token"))
      who.authorization = "Bearer " + req.query.at("access_token");
    audit_info info;
    if (auto refusal = gate(st_.deps.ctx, who, route_, {}, info)) {
      audit_then(st_.deps.ctx, info, std::move(*refusal),
                 [self = this->shared_from_this()](http_response r) {
                   net::dispatch(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
                     self->send(std::move(r), self->version_);
                   });
                 });
      return;
    }
    const auto head = st_.deps.hub.head();
    auto params = watch_params_of(req, head);
    if (!params) {
      send(error_response(params.error()), version_);
      return;
    }
    if (params->from > st_.deps.store.head().position) {
      send(error_response(400, "INVALID_ARGUMENT", "from is beyond the head of the log",
                          json{{"field", "from"}, {"head", st_.deps.store.head().position}}),
           version_);
      return;
    }
    st_.deps.stats.request(route_, method_, 101, std::chrono::steady_clock::now() - started_);
    beast::get_lowest_layer(stream_).expires_never();
    std::make_shared<watch_session<Stream>>(std::move(stream_), st_, std::move(*params))
        ->run(std::move(raw));
  }

  /// An agent opens its session: it proves it is the node with the key it got at registration.
  void agent_upgrade(http::request<http::string_body> raw, const std::string& node_id) {
    route_ = "/api/v1/nodes/{id}/session";
    const auto node = st_.deps.proj.inv().get<actors::node_aggregate>(node_id);
    if (!node) {
      send(error_response(404, "NOT_FOUND", "no node " + node_id), version_);
      return;
    }
    const auto auth = raw[http::field::authorization];
    const std::string_view presented{auth.data(), auth.size()};
    const auto& expected = node->state.agent_key_sha256();
    if (expected.empty() || !presented.starts_with("Bearer ") ||
        !security::constant_time_equal(security::sha256_hex(presented.substr(7)), expected)) {
      send(error_response(401, "AGENT_KEY_INVALID",
                          "the session of node " + node_id +
                              " needs the key its agent got at "
                              "registration"),
           version_);
      return;
    }
    st_.deps.stats.request(route_, method_, 101, std::chrono::steady_clock::now() - started_);
    beast::get_lowest_layer(stream_).expires_never();
    std::make_shared<agent_ws<Stream>>(std::move(stream_), st_, node_id)->run(std::move(raw));
  }

  void send(http_response resp, unsigned version) {
    if (resp.status >= 400)
      keep_alive_ = keep_alive_ && resp.status != 413 && resp.status != 431;
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(resp.status), version);
    res->set(http::field::server, "qvdc");
    res->set(http::field::content_type, resp.content_type);
    if (!request_id_.empty())
      res->set("X-Request-Id", request_id_);
    for (const auto& [name, value] : resp.headers)
      res->set(name, value);
    res->keep_alive(keep_alive_);
    if (head_) {
      res->content_length(resp.body.size()); // what GET would send; no body follows
      head_ = false;
    } else {
      res->body() = std::move(resp.body);
      res->prepare_payload();
    }
    if (!route_.empty())
      st_.deps.stats.request(route_, method_, resp.status,
                             std::chrono::steady_clock::now() - started_);
    beast::get_lowest_layer(stream_).expires_after(st_.deps.limits.request_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !res->keep_alive()) {
                          self->close();
                          return;
                        }
                        self->route_.clear();
                        self->request_id_.clear();
                        self->do_read();
                      });
  }

  /// Closes gracefully: our side first, then whatever the client still sends is read and
  /// dropped (up to 5 s), so a client still sending a refused body gets our answer instead
  /// of a reset (RFC 9112, 9.6).
  void close() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec)
      return;
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds{5});
    drain();
  }

  void drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(std::size_t{64} << 10U),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              if (!ec)
                                self->drain();
                            });
  }

  Stream stream_;
  shared_state& st_;
  connection_slot slot_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::request_parser<http::buffer_body>> upload_parser_;
  std::shared_ptr<image_upload> upload_;
  std::vector<char> chunk_;
  std::string remote_;
  std::string route_;
  std::string method_;
  std::string request_id_;
  std::chrono::steady_clock::time_point started_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_ = false; ///< The request being answered is a HEAD: headers only.
};

/// Serves one accepted connection; with `refuse`, answers 503 and closes (the connection cap
/// is reached). Plain TCP: net_server.cpp; TLS (the handshake first): net_server_tls.cpp.
void serve_plain(tcp::socket&& socket, shared_state& st, bool refuse);
void serve_tls(tcp::socket&& socket, shared_state& st, net::ssl::context& tls, bool refuse);

} // namespace net_detail
} // namespace qx::api
