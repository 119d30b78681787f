#include "first_admin.hpp"

#include <qx/base/log.hpp>
#include <qx/security/password_hash.hpp>
#include <qx/security/secrets.hpp>

#include <fstream>
#include <iostream>

namespace qx::api {

namespace {

void log_failure(const char* step, const error& e) {
  log::error("first-admin", step, {{"error", e.to_string()}});
}

actors::command_meta bootstrap_meta() {
  actors::command_meta m;
  m.principal = "system:bootstrap";
  m.correlation_id = "first-admin";
  return m;
}

} // namespace

result<std::string> read_password_file(const std::string& path) {
  std::ifstream in{path};
  std::string password;
  if (!in || !std::getline(in, password))
    return error{errc::invalid_argument,
                 "cannot read the admin password file " + path,
                 {{"field", "admin-password-file"}}};
  if (password.size() < security::min_password_bytes ||
      password.size() > security::max_password_bytes)
    return error{errc::invalid_argument,
                 "the admin password has 8 to 1024 bytes",
                 {{"field", "admin-password-file"}}};
  return password;
}

void create_first_admin(access_context& ctx, std::string password) {
  if (!ctx.proj.inv().list<actors::user_aggregate>("", 1).empty())
    return;
  if (password.empty()) {
    password = security::random_token(18);
    std::cout << "first admin: user admin, password " << password
              << " (shown once: change it with POST /api/v1/users/admin/password)" << std::endl;
  }
  const bool queued = ctx.hashing.post([&ctx, password] {
    auto hash = security::hash_password(password);
    if (!hash) {
      log_failure("hashing", hash.error());
      return;
    }
    ctx.gw.send(
        actors::command_request<actors::user_aggregate>{
            "admin", domain::user::create{"Administrator", std::move(*hash)}, bootstrap_meta()},
        [&ctx](actors::command_outcome o) {
          if (!o) {
            log_failure("create", o.error());
            return;
          }
          ctx.gw.send(
              actors::command_request<actors::user_aggregate>{
                  "admin", domain::user::grant{"datacenter", "admin", true}, bootstrap_meta()},
              [](actors::command_outcome g) {
                if (!g)
                  log_failure("grant", g.error());
              });
        });
  });
  if (!queued)
    log_failure("queue", error{errc::unavailable, "the hashing pool is full"});
}

} // namespace qx::api
