#include "http_session.hpp"

namespace qx::api {

using net_detail::serve_plain;
using net_detail::serve_tls;
using net_detail::shared_state;

void net_detail::serve_plain(tcp::socket&& socket, shared_state& st, bool refuse) {
  auto session =
      std::make_shared<net_detail::http_session<net_detail::plain_stream>>(std::move(socket), st);
  refuse ? session->refuse() : session->run();
}

// ---------------------------------------------------------------------------------------------
// The listener

struct net_server::impl {
  explicit impl(net_dependencies deps) : state{deps} {}

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket s) {
      if (ec)
        return; // closed
      const bool refuse = state.connections.load() >= state.deps.limits.max_connections;
      if (refuse)
        state.deps.stats.connections_refused().Increment();
      if (tls)
        serve_tls(std::move(s), state, *tls, refuse);
      else
        serve_plain(std::move(s), state, refuse);
      accept();
    });
  }

  /// The server's TLS context from the PEM files; 400 naming the file at fault.
  status load_tls(const std::string& cert_file, const std::string& key_file) {
    auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                     net::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    ctx->use_certificate_chain_file(cert_file, ec);
    if (ec)
      return error{errc::invalid_argument,
                   "cannot use certificate " + cert_file + ": " + ec.message(),
                   {{"field", "tls-cert"}}};
    ctx->use_private_key_file(key_file, net::ssl::context::pem, ec);
    if (ec)
      return error{errc::invalid_argument,
                   "cannot use key " + key_file + ": " + ec.message(),
                   {{"field", "tls-key"}}};
    tls = std::move(ctx);
    return {};
  }

  shared_state state;
  std::unique_ptr<net::ssl::context> tls; ///< Null: plain HTTP.
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
};

net_server::net_server(net_dependencies deps) : impl_(std::make_unique<impl>(deps)) {}

net_server::~net_server() {
  stop();
}

result<std::uint16_t> net_server::start(const std::string& host, std::uint16_t port,
                                        unsigned threads) {
  if (!impl_->state.deps.tls_cert_file.empty())
    if (auto ok = impl_->load_tls(impl_->state.deps.tls_cert_file, impl_->state.deps.tls_key_file);
        !ok)
      return ok.error();
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec)
    return error{errc::invalid_argument, "not an IP address: " + host, {{"field", "listen"}}};
  const tcp::endpoint endpoint{address, port};
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec)
    a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    a.bind(endpoint, ec);
  if (!ec)
    a.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return error{errc::unavailable,
                 "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message(),
                 {{"field", "listen"}}};
  impl_->accept();
  for (unsigned i = 0; i < std::max(1U, threads); ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  return a.local_endpoint().port();
}

void net_server::stop_accepting() {
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
}

void net_server::stop() {
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable())
      t.join();
  impl_->threads.clear();
}

} // namespace qx::api
