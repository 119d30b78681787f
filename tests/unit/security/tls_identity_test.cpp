// The control plane's TLS identity: the self-signed pair made at first start, and the pin
// (SHA-256 of the public key) agents check. The pin is checked against one computed from the
// certificate by OpenSSL directly, and hostile inputs are refused as errors.
#include "qx/security/secrets.hpp"
#include "qx/security/tls_identity.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

using qx::errc;
using qx::security::cert_pin_of_der;
using qx::security::cert_pin_of_pem_file;
using qx::security::is_cert_pin;
using qx::security::make_self_signed_tls;

class tls_identity : public ::testing::Test {
 protected:
  [[nodiscard]] std::string path(const std::string& name) const { return dir_.sub(name); }

  /// The certificate in a PEM file, read by OpenSSL.
  static X509* read_cert(const std::string& file) {
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (f == nullptr)
      return nullptr;
    X509* c = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    return c;
  }

  static std::string der_of(X509* cert) {
    unsigned char* der = nullptr;
    const int n = i2d_X509(cert, &der);
    std::string out{reinterpret_cast<const char*>(der), static_cast<std::size_t>(n)};
    OPENSSL_free(der);
    return out;
  }

  qx::test::temp_dir dir_;
};

TEST_F(tls_identity, a_self_signed_pair_is_made_with_a_private_key_only_its_owner_reads) {
  ASSERT_TRUE(make_self_signed_tls(path("tls/cert.pem"), path("tls/key.pem"), "127.0.0.1"));
  struct stat st {};
  ASSERT_EQ(::stat(path("tls/key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777U, 0600U);

  X509* cert = read_cert(path("tls/cert.pem"));
  ASSERT_NE(cert, nullptr);
  // The certificate names the host it serves (an IP literal as an IP SAN) and is no CA.
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ca(cert), 0);
  // It is signed by its own key, and valid now.
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  EXPECT_EQ(X509_verify(cert, pub), 1);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert)), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(cert)), 0);
  X509_free(cert);

  // A host name gets a DNS SAN.
  ASSERT_TRUE(make_self_signed_tls(path("b/cert.pem"), path("b/key.pem"), "cp.example"));
  cert = read_cert(path("b/cert.pem"));
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert, "cp.example", 0, 0, nullptr), 1);
  X509_free(cert);
}

TEST_F(tls_identity, the_pin_is_the_sha256_of_the_public_key_and_differs_between_keys) {
  ASSERT_TRUE(make_self_signed_tls(path("a.pem"), path("a.key"), "h"));
  ASSERT_TRUE(make_self_signed_tls(path("b.pem"), path("b.key"), "h"));
  const auto a = cert_pin_of_pem_file(path("a.pem"));
  const auto b = cert_pin_of_pem_file(path("b.pem"));
  ASSERT_TRUE(a) << a.error().to_string();
  ASSERT_TRUE(b) << b.error().to_string();
  EXPECT_TRUE(is_cert_pin(*a)) << *a;
  EXPECT_NE(*a, *b) << "two new pairs share a key";

  // Computed apart from the code under test: SHA-256 over the DER SubjectPublicKeyInfo.
  X509* cert = read_cert(path("a.pem"));
  ASSERT_NE(cert, nullptr);
  unsigned char* spki = nullptr;
  const int n = i2d_PUBKEY(X509_get0_pubkey(cert), &spki);
  ASSERT_GT(n, 0);
  const std::string spki_der{reinterpret_cast<const char*>(spki), static_cast<std::size_t>(n)};
  OPENSSL_free(spki);
  EXPECT_EQ(*a, "sha256:" + qx::security::sha256_hex(spki_der));
  // The same certificate as DER gives the same pin.
  const auto from_der = cert_pin_of_der(der_of(cert));
  X509_free(cert);
  ASSERT_TRUE(from_der);
  EXPECT_EQ(*from_der, *a);
}

TEST_F(tls_identity, hostile_certificates_are_errors_naming_the_field) {
  ASSERT_TRUE(make_self_signed_tls(path("a.pem"), path("a.key"), "h"));
  X509* cert = read_cert(path("a.pem"));
  ASSERT_NE(cert, nullptr);
  const auto der = der_of(cert);
  X509_free(cert);

  for (const std::string& bad :
       {std::string{}, std::string{"\x30"}, der.substr(0, der.size() / 2), der + "trailing",
        std::string(4096, '\xff'), std::string{"\x30\x84\xff\xff\xff\xff", 6}}) {
    const auto r = cert_pin_of_der(bad);
    ASSERT_FALSE(r) << bad.size() << " bytes accepted";
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    EXPECT_EQ(r.error().details.at("field"), "certificate");
  }

  auto r = cert_pin_of_pem_file(path("absent.pem"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
  EXPECT_EQ(r.error().details.at("field"), "tls-cert");
  // A key is not a certificate; neither is garbage between PEM markers.
  r = cert_pin_of_pem_file(path("a.key"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().details.at("field"), "tls-cert");
  std::ofstream{path("garbage.pem")}
      << "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
  r = cert_pin_of_pem_file(path("garbage.pem"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::invalid_argument);
}

TEST_F(tls_identity, only_the_canonical_pin_form_is_a_pin) {
  const std::string hex(64, 'a');
  EXPECT_TRUE(is_cert_pin("sha256:" + hex));
  EXPECT_TRUE(
      is_cert_pin("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  for (const std::string& bad : std::vector<std::string>{
           std::string{}, "sha256:", "sha256:" + hex.substr(1), "sha256:" + hex + "a",
           "SHA256:" + hex, "sha256:" + std::string(64, 'A'), "sha512:" + hex, hex,
           "sha256:" + hex.substr(1) + "g", " sha256:" + hex, "sha256:" + hex.substr(1) + '\0'})
    EXPECT_FALSE(is_cert_pin(bad)) << bad;
}

TEST_F(tls_identity, an_unwritable_place_is_an_error_not_a_crash) {
  std::ofstream{path("file")} << "x";
  // The key's folder is a regular file: nothing can be created below it.
  const auto s = make_self_signed_tls(path("file/cert.pem"), path("file/key.pem"), "h");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().details.at("field"), "tls-key");
}

} // namespace
