#include "qx/security/tls_identity.hpp"

#include "qx/security/secrets.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace qx::security {

namespace {

struct x509_free {
  void operator()(X509* p) const { X509_free(p); }
};
struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct file_close {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using file_ptr = std::unique_ptr<std::FILE, file_close>;

result<std::string> pin_of(X509* cert) {
  unsigned char* spki = nullptr;
  const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki);
  if (n <= 0)
    return invalid_field("certificate", "the certificate has no public key");
  const std::string der{reinterpret_cast<const char*>(spki), static_cast<std::size_t>(n)};
  OPENSSL_free(spki);
  return "sha256:" + sha256_hex(der);
}

bool add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr)
    return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool is_ip_literal(const std::string& host) {
  return !host.empty() && (host.find(':') != std::string::npos ||
                           std::all_of(host.begin(), host.end(),
                                       [](char c) { return (c >= '0' && c <= '9') || c == '.'; }));
}

} // namespace

result<std::string> cert_pin_of_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  x509_ptr cert{d2i_X509(nullptr, &p, static_cast<long>(der.size()))};
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size())
    return invalid_field("certificate", "not one DER certificate");
  return pin_of(cert.get());
}

result<std::string> cert_pin_of_pem_file(const std::string& path) {
  file_ptr f{std::fopen(path.c_str(), "rb")};
  if (!f)
    return error{errc::not_found, "cannot read certificate " + path, {{"field", "tls-cert"}}};
  x509_ptr cert{PEM_read_X509(f.get(), nullptr, nullptr, nullptr)};
  if (!cert)
    return invalid_field("tls-cert", path + " holds no PEM certificate");
  return pin_of(cert.get());
}

bool is_cert_pin(std::string_view pin) {
  constexpr std::string_view prefix = "sha256:";
  if (!pin.starts_with(prefix) || pin.size() != prefix.size() + 64)
    return false;
  return std::all_of(pin.begin() + prefix.size(), pin.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

status make_self_signed_tls(const std::string& cert_path, const std::string& key_path,
                            const std::string& host, int days) {
  pkey_ptr key{EVP_EC_gen("P-256")};
  x509_ptr cert{X509_new()};
  if (!key || !cert)
    return error{errc::unavailable, "cannot make a key pair", {}};
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()),
                          std::hash<std::string>{}(random_token(16)) >> 1U);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn = host.empty() ? "qvdc" : host.substr(0, 64);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Quantix vDC"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  const std::string san = (is_ip_literal(cn) ? "IP:" : "DNS:") + cn;
  if (!add_extension(cert.get(), NID_subject_alt_name, san) ||
      !add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    return error{errc::unavailable, "cannot sign the certificate", {}};

  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path{key_path}.parent_path(), ec);
  // The key is created 0600 before a byte of it is written.
  const mode_t old_mask = ::umask(077);
  file_ptr kf{std::fopen(key_path.c_str(), "wb")};
  ::umask(old_mask);
  if (!kf || PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return error{errc::unavailable, "cannot write " + key_path, {{"field", "tls-key"}}};
  file_ptr cf{std::fopen(cert_path.c_str(), "wb")};
  if (!cf || PEM_write_X509(cf.get(), cert.get()) != 1)
    return error{errc::unavailable, "cannot write " + cert_path, {{"field", "tls-cert"}}};
  return {};
}

} // namespace qx::security
