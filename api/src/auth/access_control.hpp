#pragma once

// Who is asking and what they may do: bearer tokens checked against the signing key and the
// user's live tokens (the read model), and privileges resolved from the roles granted on an
// object or, where the grant propagates, on an object above it (vSphere's rule: the grant
// nearest the object wins).

#include "router.hpp"

#include <qx/base/error.hpp>
#include <qx/projections/inventory.hpp>
#include <qx/security/signed_tokens.hpp>
#include <qx/security/verified_tokens.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace qx::api {

/// Seconds since the epoch by the project's wall clock: what token times are written in.
[[nodiscard]] std::int64_t now_seconds();

struct principal {
  std::string user;     ///< user id
  std::string token_id; ///< jti of the token presented
  std::string kind;     ///< session, api
};

/// What a user sees of a list: everything (`all`), or the objects `can_read` accepts.
struct list_visibility {
  bool all = false;
  std::function<bool(std::string_view object)> can_read; ///< Valid while the inventory is.
};

class access_control {
 public:
  /// Session tokens live this long.
  static constexpr std::int64_t session_seconds = 3600;

  /// Reads the signing key from `<data_dir>/auth/signing-key`, creating it (32 random bytes,
  /// mode 0600) on the first start. With `enabled` false every request is "anonymous" and
  /// allowed (`qvdc serve --no-auth`, for tests and the demo).
  [[nodiscard]] static result<std::unique_ptr<access_control>> open(const std::string& data_dir,
                                                                    bool enabled);

  [[nodiscard]] bool enabled() const { return enabled_; }

  /// The user behind an Authorization header value ("Bearer <token>") at `now` (seconds):
  /// unauthenticated with reason TOKEN_MISSING, the signer's reasons, TOKEN_REVOKED (not a
  /// live token of the user: revoked, logged out, or ended by a password change),
  /// USER_DISABLED or USER_UNKNOWN.
  [[nodiscard]] result<principal> authenticate(const projections::inventory& inv,
                                               std::string_view authorization,
                                               std::int64_t now) const;

  /// A signed token for `user`.
  [[nodiscard]] std::string issue(const std::string& user, const std::string& kind,
                                  const std::string& token_id, std::int64_t issued_at,
                                  std::int64_t expires_at) const;

  /// `object` and the objects above it, nearest first, ending with "datacenter": a VM's node
  /// and that node's cluster, a node's cluster, a volume's pool.
  [[nodiscard]] static std::vector<std::string> ancestry(const projections::inventory& inv,
                                                         std::string_view object);

  /// The privileges `user` holds on `object`: those of the nearest grant that reaches it.
  [[nodiscard]] static std::vector<std::string> privileges_on(const projections::inventory& inv,
                                                              const std::string& user,
                                                              std::string_view object);

  /// How `user` sees lists: the user's grants are read once, then each object is checked by
  /// its ancestry, as allowed() does for "read". Call it outside the inventory's lock.
  [[nodiscard]] static list_visibility visibility(const projections::inventory& inv,
                                                  const std::string& user);

  /// The object authorization names a resource of aggregate `kind` by ("storage_pool", "p1"
  /// -> "pool/p1"); "datacenter" for kinds that have no place in the tree (images, alerts ...).
  [[nodiscard]] static std::string object_name(std::string_view kind, std::string_view id);

  [[nodiscard]] static bool allowed(const projections::inventory& inv, const std::string& user,
                                    std::string_view privilege, std::string_view object);

  /// A policy's object with its "{param}" filled from `params`.
  [[nodiscard]] static std::string object_of(std::string_view object_template,
                                             const path_params& params);

 private:
  access_control(bool enabled, security::token_signer signer)
      : enabled_(enabled), signer_(std::move(signer)) {}
  bool enabled_;
  security::token_signer signer_;
  /// Tokens whose signature was checked, until they expire (a token check per request was
  /// half the cost of the cheapest GET: docs/performance.md, phase 4).
  mutable security::verified_tokens verified_{signer_};
};

} // namespace qx::api
