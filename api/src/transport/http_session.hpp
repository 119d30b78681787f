#pragma once

// One HTTP connection: reads requests with limits, dispatches them, streams uploads, and
// upgrades to the watch or an agent session. Instantiated for plain TCP in net_server.cpp
// and for TLS in net_server_tls.cpp.

#include "agent_session_ws.hpp"
#include "watch_session.hpp"

namespace qx::api::net_detail {

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
    auto started = image_upload::start(st_.deps.ctx.image_handlers, std::move(req),
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
    req.accept_encoding = std::string{raw[http::field::accept_encoding]};
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
    // Everything outside the API is the web console's (its files, and its pages' addresses).
    if (req.method == "GET" && req.path != "/api" && !req.path.starts_with("/api/")) {
      route_ = "console";
      send(st_.deps.console.answer(req.path, req.accept_encoding), version_);
      return;
    }
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
      snap.agents = st_.deps.agents.statuses();
      snap.drs = st_.deps.ctx.resources.gw.drs_stats();
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

} // namespace qx::api::net_detail
