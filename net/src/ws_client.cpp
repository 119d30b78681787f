#include "qx/net/ws_client.hpp"

#include "failure.hpp"
#include "tls_pin.hpp"

#include <utility> // before asio: Boost 1.74's awaitable needs it under C++20

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace qx::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

error refused_upgrade(unsigned status, const std::string& body, const std::string& target) {
  errc code = errc::unavailable;
  if (status == 401)
    code = errc::unauthenticated;
  else if (status == 403)
    code = errc::permission_denied;
  else if (status == 404)
    code = errc::not_found;
  return error{code,
               target + " refused the WebSocket upgrade with HTTP " + std::to_string(status),
               {{"status", std::to_string(status)}, {"body", body.substr(0, 512)}}};
}

/// One session over Stream: plain TCP (ws://) or TLS over it (wss://).
template<class Stream>
class ws_client_impl final : public ws_client {
  static constexpr bool tls = std::is_same_v<Stream, tls_stream>;

 public:
  ws_client_impl(ws_options opts, url u, on_message m, on_closed c)
      : opts_(std::move(opts)), url_(std::move(u)), on_message_(std::move(m)),
        on_closed_(std::move(c)), ws_(make_stream()) {}

  ~ws_client_impl() override {
    close();
    {
      std::unique_lock lock{mutex_};
      ended_cv_.wait_for(lock, std::chrono::seconds{2}, [this] { return ended_; });
    }
    ioc_.stop();
    if (thread_.joinable())
      thread_.join();
  }
  ws_client_impl(const ws_client_impl&) = delete;
  ws_client_impl& operator=(const ws_client_impl&) = delete;
  ws_client_impl(ws_client_impl&&) = delete;
  ws_client_impl& operator=(ws_client_impl&&) = delete;

  status start() {
    std::promise<status> connected;
    auto done = connected.get_future();
    asio::co_spawn(ioc_, run(std::move(connected)), asio::detached);
    thread_ = std::thread{[this] {
      ioc_.run();
    }};
    if (done.wait_for(opts_.connect_timeout + std::chrono::seconds{1}) != std::future_status::ready)
      return error{errc::unavailable,
                   "no WebSocket handshake with " + url_.authority() + " in time",
                   {{"reason", "CONNECTION_TIMEOUT"}}};
    return done.get();
  }

  bool send(std::string bytes) override {
    std::lock_guard lock{mutex_};
    if (!open_)
      return false;
    if (queue_.size() >= opts_.max_queued_messages) {
      open_ = false;
      asio::post(ioc_, [this] { shut("the control plane reads too slowly"); });
      return false;
    }
    queue_.push_back(std::move(bytes));
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ioc_, write_loop(), asio::detached);
    }
    return true;
  }

  void close() override {
    {
      std::lock_guard lock{mutex_};
      if (!open_)
        return;
      open_ = false;
    }
    asio::post(ioc_, [this] { shut("closed by this side"); });
  }

  [[nodiscard]] bool open() const override {
    std::lock_guard lock{mutex_};
    return open_;
  }

 private:
  asio::awaitable<void> run(std::promise<status> connected) {
    const auto target = url_.authority();
    tcp::resolver resolver{ioc_};
    error_code ec;
    const auto results = co_await resolver.async_resolve(
        url_.host, std::to_string(url_.port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      connected.set_value(failure_of(ec, phase::resolve, target));
      co_return;
    }
    beast::get_lowest_layer(ws_).expires_after(opts_.connect_timeout);
    co_await beast::get_lowest_layer(ws_).async_connect(
        results, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      connected.set_value(failure_of(ec, phase::connect, target));
      co_return;
    }
    if constexpr (tls) {
      if (auto ok = co_await tls_handshake(target); !ok) {
        connected.set_value(ok.error());
        co_return;
      }
    }
    ws_.set_option(websocket::stream_base::decorator([this](websocket::request_type& r) {
      r.set(http::field::user_agent, "qx-node");
      for (const auto& [k, v] : opts_.headers)
        r.set(k, v);
    }));
    websocket::response_type res;
    co_await ws_.async_handshake(res, url_.authority(), url_.path,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (res.result_int() != 0 && res.result_int() != 101)
        connected.set_value(refused_upgrade(res.result_int(), res.body(), target));
      else
        connected.set_value(failure_of(ec, phase::read, target));
      co_return;
    }
    beast::get_lowest_layer(ws_).expires_never();
    // Pings every half idle period: a control plane that vanished is noticed within it.
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.idle_timeout = std::chrono::seconds{20};
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.read_message_max(opts_.max_message_bytes);
    ws_.binary(true);
    {
      std::lock_guard lock{mutex_};
      open_ = true;
      ended_ = false;
    }
    connected.set_value(status{});
    beast::flat_buffer buf;
    for (;;) {
      co_await ws_.async_read(buf, asio::redirect_error(asio::use_awaitable, ec));
      if (ec)
        break;
      auto data = beast::buffers_to_string(buf.data());
      buf.consume(buf.size());
      on_message_(std::move(data));
    }
    std::string why = ec == websocket::error::closed
                          ? "closed by the peer: " + std::string{ws_.reason().reason.c_str()}
                          : ec.message();
    {
      std::lock_guard lock{mutex_};
      open_ = false;
      queue_.clear();
    }
    on_closed_(why);
    std::lock_guard lock{mutex_};
    ended_ = true;
    ended_cv_.notify_all();
  }

  asio::awaitable<void> write_loop() {
    for (;;) {
      std::string next;
      {
        std::lock_guard lock{mutex_};
        if (queue_.empty()) {
          writing_ = false;
          if (!closing_reason_.empty()) // a close waited for the queued messages
            asio::post(ioc_, [this] { shut(closing_reason_); });
          co_return;
        }
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      error_code ec;
      co_await ws_.async_write(asio::buffer(next), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        std::lock_guard lock{mutex_};
        writing_ = false;
        co_return; // the read loop sees the broken connection and reports it
      }
    }
  }

  websocket::stream<Stream> make_stream() {
    if constexpr (tls) {
      if (!opts_.pinned_cert_sha256.empty() || !opts_.verify_tls) {
        tls_ctx_.set_verify_mode(asio::ssl::verify_none); // a pin is checked after the handshake
      } else {
        tls_ctx_.set_default_verify_paths();
        tls_ctx_.set_verify_mode(asio::ssl::verify_peer);
      }
      return websocket::stream<Stream>{ioc_, tls_ctx_};
    } else {
      return websocket::stream<Stream>{ioc_};
    }
  }

  /// The TLS handshake (server name sent), then the pin or the CA and name check.
  asio::awaitable<status> tls_handshake(const std::string& target) {
    auto& s = ws_.next_layer();
    // SSL_set_tlsext_host_name is a macro with a C cast; the call below is what it expands to.
    if (SSL_ctrl(s.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(
                     url_.host.c_str())) == // NOLINT(cppcoreguidelines-pro-type-const-cast)
        0)
      co_return error{
          errc::unavailable, "cannot set the TLS server name", {{"reason", "TLS_ERROR"}}};
    if (opts_.pinned_cert_sha256.empty() && opts_.verify_tls)
      s.set_verify_callback(asio::ssl::host_name_verification(url_.host));
    error_code ec;
    co_await s.async_handshake(asio::ssl::stream_base::client,
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec)
      co_return failure_of(ec, phase::tls, target);
    if (!opts_.pinned_cert_sha256.empty())
      co_return check_pin(s.native_handle(), opts_.pinned_cert_sha256, target);
    co_return status{};
  }

  /// Closes once the queued messages are out (a close frame may not overtake a write).
  void shut(const std::string& why) {
    {
      std::lock_guard lock{mutex_};
      if (writing_) {
        closing_reason_ = why;
        return;
      }
      if (close_sent_)
        return;
      close_sent_ = true;
    }
    if (!ws_.is_open()) {
      beast::get_lowest_layer(ws_).close();
      return;
    }
    ws_.async_close(websocket::close_reason{websocket::close_code::normal, why},
                    [this](error_code) { beast::get_lowest_layer(ws_).close(); });
  }

  ws_options opts_;
  url url_;
  on_message on_message_;
  on_closed on_closed_;
  asio::io_context ioc_{1};
  asio::ssl::context tls_ctx_{asio::ssl::context::tls_client}; ///< Used by wss:// only.
  websocket::stream<Stream> ws_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable ended_cv_;
  std::deque<std::string> queue_;
  bool open_ = false;
  bool writing_ = false;
  std::string closing_reason_;
  bool close_sent_ = false;
  bool ended_ = true; // until the read loop runs
};

} // namespace

result<std::unique_ptr<ws_client>> ws_client::connect(const ws_options& opts, on_message message,
                                                      on_closed closed) {
  auto u = parse_url(opts.url);
  if (!u)
    return std::move(u).error();
  auto started = [](auto c) -> result<std::unique_ptr<ws_client>> {
    if (auto ok = c->start(); !ok)
      return ok.error();
    return std::unique_ptr<ws_client>{std::move(c)};
  };
  if (u->tls())
    return started(std::make_unique<ws_client_impl<tls_stream>>(
        opts, std::move(*u), std::move(message), std::move(closed)));
  return started(std::make_unique<ws_client_impl<plain_stream>>(
      opts, std::move(*u), std::move(message), std::move(closed)));
}

} // namespace qx::net
