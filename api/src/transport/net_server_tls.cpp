// The TLS half of net_server's sessions (see http_session.hpp): compiled apart from the plain
// half so the two build side by side.
#include "http_session.hpp"

namespace qx::api::net_detail {

void serve_tls(tcp::socket&& socket, shared_state& st, net::ssl::context& tls, bool refuse) {
  auto session = std::make_shared<http_session<tls_stream>>(std::move(socket), st, tls);
  refuse ? session->refuse() : session->run();
}

} // namespace qx::api::net_detail
