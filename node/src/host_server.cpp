#include "host_server.hpp"

#include <utility> // before asio under C++20

#include <qx/net/url.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>

#include <thread>
#include <vector>

namespace qx::node {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

host_response plain_error(unsigned status, const std::string& code, const std::string& message) {
  host_response r;
  r.status = status;
  r.body =
      nlohmann::json{
          {"error", {{"code", code}, {"message", message}, {"details", nlohmann::json::object()}}}}
          .dump();
  return r;
}

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(tcp::socket&& s, const host_handler& h) : stream_(std::move(s)), handler_(h) {}

  void run() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(16U << 10U);
    parser_->body_limit(1U << 20U);
    stream_.expires_after(std::chrono::seconds{30});
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      return close();
    if (ec == http::error::body_limit)
      return answer(plain_error(413, "TOO_LARGE", "the body exceeds 1 MiB"), false, 11);
    if (ec == http::error::header_limit)
      return answer(plain_error(431, "HEADERS_TOO_LARGE", "the headers exceed 16 KiB"), false, 11);
    if (ec)
      return answer(plain_error(400, "BAD_REQUEST", "malformed HTTP request"), false, 11);
    auto raw = parser_->release();
    host_request req;
    req.method = std::string{raw.method_string()};
    const bool keep = raw.keep_alive();
    if (!net::split_target(std::string_view{raw.target().data(), raw.target().size()}, req.path,
                           req.query))
      return answer(plain_error(400, "BAD_REQUEST", "the request target is not a valid path"),
                    false, raw.version());
    req.body = std::move(raw.body());
    if (auto a = raw.find(http::field::authorization); a != raw.end()) {
      const std::string_view v{a->value().data(), a->value().size()};
      if (v.starts_with("Bearer "))
        req.bearer = std::string{v.substr(7)};
    }
    if (auto t = raw.find("X-Registration-Token"); t != raw.end())
      req.registration_token = std::string{t->value()};
    else
      req.registration_token = req.bearer;
    beast::error_code peer_ec;
    const auto peer = stream_.socket().remote_endpoint(peer_ec);
    req.from_loopback = !peer_ec && peer.address().is_loopback();
    host_response r;
    try {
      r = handler_(req);
    } catch (const std::exception& e) {
      // A body with a field of the wrong type (nlohmann's value() throws): the request's
      // fault, and the exception stays inside the node component.
      r = plain_error(400, "INVALID_ARGUMENT", std::string{"malformed request: "} + e.what());
    }
    answer(std::move(r), keep, raw.version());
  }

  void answer(host_response r, bool keep, unsigned version) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version);
    res->set(http::field::server, "qx-node");
    res->set(http::field::content_type, r.content_type);
    res->keep_alive(keep);
    res->body() = std::move(r.body);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, keep](beast::error_code ec, std::size_t) {
                        if (ec || !keep)
                          return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const host_handler& handler_;
};

class host_server_impl final : public host_server {
 public:
  explicit host_server_impl(host_handler h, unsigned threads)
      : handler_(std::move(h)), ioc_(static_cast<int>(threads)), acceptor_(asio::make_strand(ioc_)),
        threads_n_(threads) {}
  ~host_server_impl() override { stop(); }
  host_server_impl(const host_server_impl&) = delete;
  host_server_impl& operator=(const host_server_impl&) = delete;
  host_server_impl(host_server_impl&&) = delete;
  host_server_impl& operator=(host_server_impl&&) = delete;

  status listen(const std::string& host, std::uint16_t port) {
    beast::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec)
      return error{errc::invalid_argument,
                   "listen address " + host + " is not an IP address",
                   {{"field", "listen"}}};
    const tcp::endpoint ep{address, port};
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(ep, ec);
    if (!ec)
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return error{errc::unavailable,
                   "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message(),
                   {{"field", "listen"}}};
    port_ = acceptor_.local_endpoint().port();
    accept();
    for (unsigned i = 0; i < threads_n_; ++i)
      threads_.emplace_back([this] { ioc_.run(); });
    return {};
  }

  [[nodiscard]] std::uint16_t port() const override { return port_; }

  void stop() override {
    if (stopped_)
      return;
    stopped_ = true;
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    ioc_.stop();
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }

 private:
  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (ec)
        return; // closed
      std::make_shared<connection>(std::move(s), handler_)->run();
      accept();
    });
  }

  host_handler handler_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  unsigned threads_n_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

} // namespace

result<std::unique_ptr<host_server>> host_server::start(const std::string& host, std::uint16_t port,
                                                        host_handler handler, unsigned threads) {
  auto s = std::make_unique<host_server_impl>(std::move(handler), std::max(1U, threads));
  if (auto ok = s->listen(host, port); !ok)
    return ok.error();
  return std::unique_ptr<host_server>{std::move(s)};
}

} // namespace qx::node
