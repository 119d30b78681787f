#pragma once

// Checking the peer of a TLS client connection against a pinned public key (the control
// plane's "sha256:<hex>" given at join), instead of a CA and a host name.

#include <qx/base/error.hpp>
#include <qx/security/secrets.hpp>
#include <qx/security/tls_identity.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>

namespace qx::net {

/// OK when the certificate `ssl`'s peer presented has public-key pin `pin`; TLS_ERROR
/// otherwise (no certificate, another key).
[[nodiscard]] inline status check_pin(SSL* ssl, std::string_view pin, const std::string& target) {
  auto refused = [&](const std::string& why) {
    return error{errc::unavailable, why, {{"reason", "TLS_ERROR"}, {"target", target}}};
  };
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr)
    return refused(target + " presented no certificate");
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  X509_free(cert);
  if (n <= 0)
    return refused(target + " presented an unreadable certificate");
  auto seen =
      security::cert_pin_of_der({reinterpret_cast<const char*>(der), static_cast<std::size_t>(n)});
  OPENSSL_free(der);
  if (!seen || !security::constant_time_equal(*seen, pin))
    return refused(target + "'s certificate does not match the pinned " + std::string{pin} +
                   " (it presented " + (seen ? *seen : std::string{"none"}) + ")");
  return {};
}

} // namespace qx::net
