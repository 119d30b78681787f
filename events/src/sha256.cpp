#include "sha256.hpp"

#include <openssl/evp.h>

#include <cstdlib>
#include <memory>

namespace qx::events::detail {

namespace {

struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// Fetching the algorithm once avoids OpenSSL 3's implicit fetch on every digest.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

} // namespace

hash256 sha256(std::string_view data) {
  thread_local std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx{EVP_MD_CTX_new()};
  hash256 out{};
  unsigned int len = 0;
  // A failure here means OpenSSL itself is broken: an invariant of the process, not input.
  if (ctx == nullptr || sha256_md() == nullptr ||
      EVP_DigestInit_ex2(ctx.get(), sha256_md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size())
    std::abort();
  return out;
}

} // namespace qx::events::detail
