#pragma once

// The control plane's TLS identity: a certificate and key in PEM files (an operator's, or a
// self-signed pair made at first start, as Proxmox VE does), and its pin: the SHA-256 of the
// certificate's public key (SubjectPublicKeyInfo), which agents check at join time as
// `kubeadm join --discovery-token-ca-cert-hash` does. Pinning the key rather than the
// certificate lets an operator renew the certificate on the same key without re-joining hosts.

#include <qx/base/error.hpp>

#include <string>
#include <string_view>

namespace qx::security {

/// "sha256:" + 64 lower-case hex digits of the SHA-256 of the SubjectPublicKeyInfo of the
/// DER certificate `der`. 400 when `der` is not one certificate.
[[nodiscard]] result<std::string> cert_pin_of_der(std::string_view der);

/// The pin of the first certificate in PEM file `path` (404 missing, 400 not a certificate).
[[nodiscard]] result<std::string> cert_pin_of_pem_file(const std::string& path);

/// Whether `pin` has the form cert_pin_of_der answers (what a join accepts as a pin).
[[nodiscard]] bool is_cert_pin(std::string_view pin);

/// Writes a new self-signed certificate (ECDSA P-256, SHA-256, `days` valid, CN and DNS/IP
/// subjectAltName `host`) and its key (mode 0600) to `cert_path` and `key_path`.
[[nodiscard]] status make_self_signed_tls(const std::string& cert_path, const std::string& key_path,
                                          const std::string& host, int days = 3650);

} // namespace qx::security
