#include "qx/net/http_fetch.hpp"

#include "failure.hpp"
#include "tls_pin.hpp"

#include <utility> // before asio: Boost 1.74's awaitable needs it under C++20

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>

#include <optional>

namespace qx::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

error failure_of(const boost::system::error_code& ec, phase at, const std::string& target) {
  auto fail = [&](const char* reason, const std::string& what) {
    return error{errc::unavailable,
                 what + " (" + ec.message() + ")",
                 {{"reason", reason}, {"target", target}}};
  };
  if (ec == beast::error::timeout || ec == asio::error::timed_out)
    return fail("CONNECTION_TIMEOUT", "no answer from " + target + " in time");
  // No route, or no network of that address family at all (an IPv6 address on a machine
  // without IPv6): either way the host cannot be reached from here.
  if (ec == asio::error::network_unreachable || ec == asio::error::host_unreachable ||
      ec == asio::error::address_family_not_supported)
    return fail("NETWORK_UNREACHABLE", "no route to " + target);
  if (at == phase::tls || ec.category() == asio::error::get_ssl_category() ||
      ec == asio::ssl::error::stream_truncated)
    return fail("TLS_ERROR", "the TLS handshake with " + target + " failed");
  if (at == phase::read &&
      ec.category() == http::make_error_code(http::error::bad_version).category())
    return fail("INVALID_RESPONSE", target + " did not answer HTTP/1.x");
  if (at == phase::resolve)
    return fail("HOST_CONNECTION_FAILED", "cannot resolve " + target);
  return fail("HOST_CONNECTION_FAILED", "cannot talk to " + target);
}

namespace {

struct exchange {
  const fetch_request& req;
  const url& u;
  std::optional<result<fetch_response>> out;

  template<class Stream>
  asio::awaitable<void> talk(Stream& s) {
    const auto target = u.authority();
    http::request<http::string_body> r{http::string_to_verb(req.method), u.path, 11};
    r.set(http::field::host, u.authority());
    r.set(http::field::user_agent, "quantix-vdc");
    r.set(http::field::connection, "close");
    for (const auto& [k, v] : req.headers)
      r.set(k, v);
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT") {
      r.set(http::field::content_type, req.content_type);
      r.body() = req.body;
      r.prepare_payload();
    }
    boost::system::error_code wec;
    co_await http::async_write(s, r, asio::redirect_error(asio::use_awaitable, wec));
    if (wec) {
      out = failure_of(wec, phase::write, target);
      co_return;
    }
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(req.max_response_bytes);
    parser.header_limit(16U << 10U);
    boost::system::error_code rec;
    co_await http::async_read(s, buf, parser, asio::redirect_error(asio::use_awaitable, rec));
    if (rec == http::error::body_limit || rec == http::error::header_limit) {
      out =
          error{errc::unavailable,
                target + " answered more than " + std::to_string(req.max_response_bytes) + " bytes",
                {{"reason", "INVALID_RESPONSE"}, {"target", target}}};
      co_return;
    }
    if (rec) {
      out = failure_of(rec, phase::read, target);
      co_return;
    }
    auto& res = parser.get();
    fetch_response f;
    f.status = res.result_int();
    f.content_type = std::string{res[http::field::content_type]};
    f.body = std::move(res.body());
    out = std::move(f);
  }

  asio::awaitable<void> run(asio::io_context& ioc, asio::ssl::context& tls) {
    const auto target = u.authority();
    tcp::resolver resolver{ioc};
    boost::system::error_code ec;
    const auto results = co_await resolver.async_resolve(
        u.host, std::to_string(u.port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      out = failure_of(ec, phase::resolve, target);
      co_return;
    }
    beast::tcp_stream tcp_layer{ioc};
    tcp_layer.expires_after(req.timeout);
    boost::system::error_code cec;
    co_await tcp_layer.async_connect(results, asio::redirect_error(asio::use_awaitable, cec));
    if (cec) {
      out = failure_of(cec, phase::connect, target);
      co_return;
    }
    if (!u.tls()) {
      co_await talk(tcp_layer);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream&> s{tcp_layer, tls};
    // SSL_set_tlsext_host_name is a macro with a C cast; the call below is what it expands to.
    if (SSL_ctrl(s.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(u.host.c_str())) ==
        0) { // NOLINT(cppcoreguidelines-pro-type-const-cast)
      out = error{errc::unavailable, "cannot set the TLS server name", {{"reason", "TLS_ERROR"}}};
      co_return;
    }
    if (req.verify_tls && req.pinned_cert_sha256.empty())
      s.set_verify_callback(asio::ssl::host_name_verification(u.host));
    boost::system::error_code hec;
    co_await s.async_handshake(asio::ssl::stream_base::client,
                               asio::redirect_error(asio::use_awaitable, hec));
    if (hec) {
      out = failure_of(hec, phase::tls, target);
      co_return;
    }
    // A pin replaces the CA and the name: checked before a byte of the request is sent.
    if (!req.pinned_cert_sha256.empty())
      if (auto ok = check_pin(s.native_handle(), req.pinned_cert_sha256, target); !ok) {
        out = ok.error();
        co_return;
      }
    co_await talk(s);
  }
};

} // namespace

result<fetch_response> http_fetch(const fetch_request& req) {
  auto u = parse_url(req.url);
  if (!u)
    return std::move(u).error();
  // Declared before the I/O context: a coroutine cut short by the deadline is destroyed with
  // the context and still refers to both.
  exchange x{req, *u, std::nullopt};
  asio::ssl::context tls{asio::ssl::context::tls_client};
  if (req.verify_tls && req.pinned_cert_sha256.empty()) {
    tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
  } else {
    tls.set_verify_mode(asio::ssl::verify_none);
  }
  asio::io_context ioc{1};
  asio::co_spawn(ioc, x.run(ioc, tls), asio::detached);
  // The whole exchange shares one deadline: the stream's timer covers connect, handshake and
  // each read or write; run_for bounds the sum.
  ioc.run_for(req.timeout + std::chrono::milliseconds{500});
  if (!x.out)
    return error{errc::unavailable,
                 "no answer from " + u->authority() + " in time",
                 {{"reason", "CONNECTION_TIMEOUT"}, {"target", u->authority()}}};
  return std::move(*x.out);
}

} // namespace qx::net
