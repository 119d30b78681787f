// Authentication, authorization and audit over real HTTP against `qvdc serve` with
// authentication on: the first admin, login, tokens refused for every reason, the
// authorization matrix over roles and objects (including another object's id swapped into the
// path), the audit trail of every mutating request, and the rate limit.
#include "api_client.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <thread>

namespace qx::test {
namespace {

using nlohmann::json;

json body(const api_response& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json{} : j;
}
std::string code(const api_response& r) {
  return body(r)["error"].value("code", "");
}
header_list bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

class api_auth : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(std::vector<std::string> extra) {
    std::ofstream{dir_.path() / "admin-password"} << "admin-password-1\n";
    std::vector<std::string> argv{QX_QVDC_PATH,
                                  "serve",
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--data-dir",
                                  (dir_.path() / "data").string(),
                                  "--hypervisor-stand-in",
                                  "--admin-password-file",
                                  (dir_.path() / "admin-password").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server_ = server_process::program(argv, (dir_.path() / "err").string());
    server_->start();
    api_ = std::make_unique<api_client>(server_->base_url());
    admin_ = login("admin", "admin-password-1");
    ASSERT_FALSE(admin_.empty()) << server_->stderr_tail();
  }

  std::string login(const std::string& user, const std::string& password) {
    // The first admin is created once the read models caught up: retry briefly.
    for (int i = 0; i < 100; ++i) {
      const auto r =
          api_->post("/api/v1/auth/login", json{{"user", user}, {"password", password}}.dump());
      if (r.status == 200)
        return body(r).value("token", "");
      if ((code(r) != "LOGIN_FAILED" || user != "admin") && r.status != 503)
        return {};
      std::this_thread::sleep_for(std::chrono::milliseconds{50});
    }
    return {};
  }

  api_response as(const std::string& token, const std::string& method, const std::string& target,
                  std::optional<std::string> b = std::nullopt) {
    return api_->send(method, target, std::move(b), bearer(token));
  }

  /// A user with `role` on `object`; their session token.
  std::string user_with(const std::string& id, const std::string& role, const std::string& object) {
    EXPECT_EQ(
        as(admin_, "POST", "/api/v1/users", json{{"id", id}, {"password", id + "-password"}}.dump())
            .status,
        201u);
    EXPECT_EQ(as(admin_, "POST", "/api/v1/users/" + id + "/grants",
                 json{{"object", object}, {"role", role}}.dump())
                  .status,
              200u);
    return login(id, id + "-password");
  }

  temp_dir dir_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<api_client> api_;
  std::string admin_;
};

TEST_F(api_auth, no_token_or_a_bad_one_is_refused_with_its_reason) {
  auto r = api_->get("/api/v1/vms");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(code(r), "TOKEN_MISSING");
  EXPECT_NE(r.header("WWW-Authenticate").find("Bearer"), std::string::npos);
  r = api_->get("/api/v1/vms", {{"Authorization", "Basic YWRtaW46eA=="}});
  EXPECT_EQ(code(r), "TOKEN_MALFORMED");
  // Tampered: the admin's token with the first signature character changed (not the last:
  // its low bits are padding, so a change there can make the encoding non-canonical, which is
  // TOKEN_MALFORMED, one run in sixteen).
  auto tampered = admin_;
  auto& first = tampered[tampered.rfind('.') + 1];
  first = first == 'A' ? 'B' : 'A';
  EXPECT_EQ(code(as(tampered, "GET", "/api/v1/vms")), "TOKEN_SIGNATURE_INVALID");
  // alg none, unsigned, claiming to be the admin.
  const std::string none =
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." +
      admin_.substr(admin_.find('.') + 1, admin_.rfind('.') - admin_.find('.'));
  const auto refused = as(none, "GET", "/api/v1/vms");
  EXPECT_EQ(code(refused), "TOKEN_ALGORITHM_REFUSED") << none << "\n" << refused.body;
  EXPECT_EQ(as(admin_, "GET", "/api/v1/vms").status, 200u);
}

TEST_F(api_auth, logout_revokes_the_token_and_a_password_change_ends_sessions) {
  const auto bob = user_with("bob", "viewer", "datacenter");
  ASSERT_FALSE(bob.empty());
  EXPECT_EQ(as(bob, "GET", "/api/v1/auth/me").status, 200u);
  EXPECT_EQ(as(bob, "POST", "/api/v1/auth/logout").status, 204u);
  EXPECT_EQ(code(as(bob, "GET", "/api/v1/vms")), "TOKEN_REVOKED");

  const auto again = login("bob", "bob-password");
  auto r = as(admin_, "POST", "/api/v1/users/bob/tokens", json{{"name", "script"}}.dump());
  ASSERT_EQ(r.status, 201u) << r.body;
  const auto api_token = body(r).value("token", "");
  ASSERT_EQ(as(admin_, "POST", "/api/v1/users/bob/password",
               json{{"password", "new-bob-password"}}.dump())
                .status,
            200u);
  EXPECT_EQ(code(as(again, "GET", "/api/v1/vms")), "TOKEN_REVOKED") << "the session ended";
  EXPECT_EQ(as(api_token, "GET", "/api/v1/vms").status, 200u) << "API tokens stay";
  EXPECT_EQ(as(admin_, "DELETE", "/api/v1/users/bob/tokens/" + body(r).value("tokenId", "")).status,
            200u);
  EXPECT_EQ(code(as(api_token, "GET", "/api/v1/vms")), "TOKEN_REVOKED");
  // Disabled users are refused; wrong passwords are one answer whoever asks.
  EXPECT_EQ(code(api_->post("/api/v1/auth/login",
                            json{{"user", "bob"}, {"password", "bob-password"}}.dump())),
            "LOGIN_FAILED");
  EXPECT_EQ(code(api_->post("/api/v1/auth/login",
                            json{{"user", "nobody"}, {"password", "whatever-1"}}.dump())),
            "LOGIN_FAILED");
}

TEST_F(api_auth, roles_on_objects_propagate_and_no_other_object_is_reachable) {
  for (const auto& [id, n] : {std::pair{"n1", "c1"}, std::pair{"n2", "c2"}}) {
    ASSERT_EQ(as(admin_, "POST", "/api/v1/nodes",
                 json{{"id", id},
                      {"hostname", id},
                      {"address", "10.0.0.1"},
                      {"hardware", {{"cpuThreads", 16}, {"cpuCores", 8}, {"memoryMib", 65536}}}}
                     .dump())
                  .status,
              201u);
    ASSERT_EQ(as(admin_, "POST", "/api/v1/clusters", json{{"id", n}, {"name", n}}.dump()).status,
              201u);
    ASSERT_EQ(
        as(admin_, "POST", std::string{"/api/v1/clusters/"} + n + "/nodes/" + id, "{}").status,
        200u);
  }
  for (const auto& [vm, node] : {std::pair{"vm1", "n1"}, std::pair{"vm2", "n2"}}) {
    ASSERT_EQ(
        as(admin_, "POST", "/api/v1/vms",
           json{{"id", vm}, {"spec", {{"name", vm}, {"vcpus", 1}, {"memoryMib", 512}}}}.dump())
            .status,
        201u);
    auto r = as(admin_, "POST", std::string{"/api/v1/vms/"} + vm + "/start",
                json{{"nodeId", node}}.dump());
    ASSERT_LT(r.status, 300u) << r.body;
  }
  const auto op = user_with("op", "operator", "cluster/c1");
  const auto viewer = user_with("view", "viewer", "vm/vm1");
  const auto stranger = user_with("stranger", "viewer", "network/none");
  // {token, method, target, allowed}
  struct row {
    std::string who;
    std::string token;
    std::string method;
    std::string target;
    bool allowed;
  };
  const std::vector<row> matrix{
      {"op", op, "GET", "/api/v1/vms/vm1", true},
      {"op", op, "POST", "/api/v1/vms/vm1/reboot", true},
      {"op", op, "GET", "/api/v1/vms/vm2", false},         // another cluster's VM
      {"op", op, "POST", "/api/v1/vms/vm2/reboot", false}, // swapped id
      {"op", op, "DELETE", "/api/v1/nodes/n1", false},     // operator has no node.manage
      {"op", op, "POST", "/api/v1/users", false},          // nor access.manage
      {"view", viewer, "GET", "/api/v1/vms/vm1", true},
      {"view", viewer, "POST", "/api/v1/vms/vm1/reboot", false},
      {"view", viewer, "GET", "/api/v1/vms/vm2", false},
      {"view", viewer, "GET", "/api/v1/nodes/n1", false}, // grants do not go up
      {"stranger", stranger, "GET", "/api/v1/vms/vm1", false},
      {"stranger", stranger, "GET", "/api/v1/audit", false},
  };
  int unauthorized_successes = 0;
  for (const auto& r : matrix) {
    const auto resp =
        as(r.token, r.method, r.target, r.method == "GET" ? std::nullopt : std::optional{"{}"});
    if (r.allowed) {
      EXPECT_LT(resp.status, 300u) << r.who << " " << r.method << " " << r.target << resp.body;
    } else {
      EXPECT_EQ(resp.status, 403u) << r.who << " " << r.method << " " << r.target << resp.body;
      EXPECT_EQ(code(resp), "PERMISSION_DENIED");
      unauthorized_successes += resp.status < 300 ? 1 : 0;
    }
  }
  EXPECT_EQ(unauthorized_successes, 0);
  // Lists show what each user may read, as vSphere's inventory does.
  const auto ids = [&](const std::string& token, const std::string& target) {
    std::set<std::string> out;
    const auto r = as(token, "GET", target);
    EXPECT_EQ(r.status, 200u) << target << " " << r.body;
    for (const auto& item : body(r).value("items", json::array()))
      out.insert(item.value("id", ""));
    return out;
  };
  EXPECT_EQ(ids(op, "/api/v1/vms"), (std::set<std::string>{"vm1"}));
  EXPECT_EQ(ids(op, "/api/v1/nodes"), (std::set<std::string>{"n1"}));
  EXPECT_EQ(ids(op, "/api/v1/clusters"), (std::set<std::string>{"c1"}));
  EXPECT_EQ(ids(viewer, "/api/v1/vms"), (std::set<std::string>{"vm1"}));
  EXPECT_TRUE(ids(viewer, "/api/v1/nodes").empty()) << "grants do not go up";
  EXPECT_TRUE(ids(stranger, "/api/v1/vms").empty());
  EXPECT_EQ(ids(admin_, "/api/v1/vms"), (std::set<std::string>{"vm1", "vm2"}));
  // A custom role: power only.
  ASSERT_EQ(as(admin_, "POST", "/api/v1/roles",
               json{{"id", "power-user"}, {"privileges", {"read", "vm.power"}}}.dump())
                .status,
            201u);
  const auto power = user_with("power", "power-user", "node/n2");
  EXPECT_LT(as(power, "POST", "/api/v1/vms/vm2/reboot", "{}").status, 300u);
  EXPECT_EQ(as(power, "DELETE", "/api/v1/vms/vm2").status, 403u);
}

TEST_F(api_auth, every_mutating_request_and_every_refusal_is_in_the_audit_with_its_principal) {
  const auto bob = user_with("bob", "viewer", "datacenter");
  as(admin_, "POST", "/api/v1/clusters", json{{"id", "c9"}, {"name", "c9"}}.dump());
  as(bob, "POST", "/api/v1/clusters", json{{"id", "c8"}, {"name", "c8"}}.dump());
  api_->get("/api/v1/vms");
  const std::vector<std::string> wanted{
      "user:admin POST /api/v1/users 201",    "user:admin POST /api/v1/users/{id}/grants 200",
      "user:admin POST /api/v1/clusters 201", "user:bob POST /api/v1/clusters 403",
      "anonymous GET /api/v1/vms 401",        "anonymous POST /api/v1/auth/login 200"};
  // The record is durable before the answer left; the audit read model follows the log a
  // moment later, so the query is retried for a while.
  std::set<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  for (;;) {
    seen.clear();
    std::string token;
    for (int page = 0; page < 100; ++page) { // every page of the trail
      const auto r =
          as(admin_, "GET",
             "/api/v1/audit?limit=100" + (token.empty() ? std::string{} : "&pageToken=" + token));
      ASSERT_EQ(r.status, 200u) << r.body;
      const auto page_body = body(r);
      for (const auto& a : page_body["items"])
        seen.insert(a.value("principal", "") + " " + a.value("action", "") + " " +
                    std::to_string(a.value("status", 0)));
      token = page_body.value("nextPageToken", "");
      if (token.empty())
        break;
    }
    const bool all = std::all_of(wanted.begin(), wanted.end(),
                                 [&](const std::string& w) { return seen.count(w) == 1; });
    if (all || std::chrono::steady_clock::now() > deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  for (const auto& want : wanted)
    EXPECT_EQ(seen.count(want), 1u) << want << " missing from the audit";
  const auto bobs = as(admin_, "GET", "/api/v1/audit?principal=user:bob");
  const auto bobs_body = body(bobs);
  ASSERT_FALSE(bobs_body["items"].empty());
  for (const auto& a : bobs_body["items"])
    EXPECT_EQ(a.value("principal", ""), "user:bob");
  EXPECT_EQ(code(as(admin_, "GET", "/api/v1/audit?from=yesterday")), "INVALID_ARGUMENT");
}

TEST_F(api_auth, a_principal_over_its_rate_gets_429) {
  server_->stop(SIGTERM);
  start({"--rate-limit", "5", "--rate-burst", "10"});
  unsigned limited = 0;
  for (int i = 0; i < 40; ++i)
    limited += as(admin_, "GET", "/api/v1/vms").status == 429 ? 1U : 0U;
  EXPECT_GT(limited, 0u);
  const auto r = as(admin_, "GET", "/api/v1/vms");
  if (r.status == 429) {
    EXPECT_EQ(code(r), "RATE_LIMITED");
    EXPECT_EQ(r.header("Retry-After"), "1");
  }
}

TEST_F(api_auth, the_api_keeps_answering_during_a_login_flood) {
  // Hundreds of wrong-password logins at once, for many users: argon2id runs on one bounded
  // thread, so the flood is answered 401, or 429 once that queue (or the address's failure
  // budget) is full, while an admin's reads go on being answered in between.
  std::vector<api_client::request> flood;
  for (int i = 0; i < 300; ++i)
    flood.push_back(
        {"POST",
         "/api/v1/auth/login",
         json{{"user", "flood-" + std::to_string(i)}, {"password", "wrong-password"}}.dump(),
         {}});
  std::atomic<bool> done{false};
  std::vector<api_response> answers;
  std::thread attacker{[&] {
    api_client own{server_->base_url()};
    answers = own.send_all(flood);
    done = true;
  }};
  std::vector<double> read_ms;
  unsigned reads_ok = 0;
  while (!done) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = as(admin_, "GET", "/api/v1/vms");
    read_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    reads_ok += r.status == 200 ? 1U : 0U;
  }
  attacker.join();

  std::map<std::string, unsigned> codes;
  for (const auto& r : answers)
    ++codes[std::to_string(r.status) + " " + code(r)];
  std::string seen;
  for (const auto& [k, n] : codes)
    seen += k + " x" + std::to_string(n) + "; ";
  const auto slowest = read_ms.empty() ? 0.0 : *std::max_element(read_ms.begin(), read_ms.end());
  std::cout << "[flood] answers: " << seen << "reads during the flood: " << read_ms.size()
            << ", slowest " << slowest << " ms\n";
  for (const auto& [k, n] : codes)
    EXPECT_TRUE(k == "401 LOGIN_FAILED" || k == "429 TOO_MANY_REQUESTS" ||
                k == "429 LOGIN_THROTTLED" || k == "429 RATE_LIMITED")
        << k << " x" << n << " (a flood is refused, never failed or succeeded)";
  EXPECT_EQ(answers.size(), flood.size());
  // The reads were answered while the flood was in flight, every one of them.
  EXPECT_GE(read_ms.size(), 3u) << "the flood was over before a read could be timed";
  EXPECT_EQ(reads_ok, read_ms.size());
  // Nothing was let in, and the admin's session still works afterwards.
  EXPECT_EQ(codes.count("200 "), 0u);
  EXPECT_EQ(as(admin_, "GET", "/api/v1/auth/me").status, 200u);
}

} // namespace
TEST_F(api_auth, the_last_admin_cannot_lock_user_management_out) {
  // The only admin, with its own token: delete, disable, and removing its own admin grant.
  auto r = as(admin_, "DELETE", "/api/v1/users/admin");
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(code(r), "LAST_ADMIN");
  r = as(admin_, "POST", "/api/v1/users/admin/disable", "{}");
  EXPECT_EQ(code(r), "LAST_ADMIN") << r.body;
  r = as(admin_, "DELETE", "/api/v1/users/admin/grants?object=datacenter");
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(code(r), "SELF_ADMIN_GRANT");
  EXPECT_EQ(as(admin_, "GET", "/api/v1/users").status, 200u) << "the admin still manages users";
  // With a second admin, the first may go (by the other's hand or its own).
  const auto carol = user_with("carol", "admin", "datacenter");
  EXPECT_EQ(as(carol, "POST", "/api/v1/users/admin/disable", "{}").status, 200u);
  r = as(carol, "DELETE", "/api/v1/users/carol");
  EXPECT_EQ(code(r), "LAST_ADMIN") << "carol is now the only enabled admin: " << r.body;
}

TEST_F(api_auth, token_logout_and_flag_statuses) {
  // Revoking a token that does not exist is 404, not 409.
  auto r = as(admin_, "DELETE", "/api/v1/users/admin/tokens/no-such-token");
  EXPECT_EQ(r.status, 404u) << r.body;
  // A logout whose body cannot be read is refused before it revokes anything.
  r = as(admin_, "POST", "/api/v1/auth/logout", "{not json");
  EXPECT_EQ(r.status, 400u) << r.body;
  r = as(admin_, "POST", "/api/v1/auth/logout", R"({"everywhere":true})");
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(as(admin_, "GET", "/api/v1/auth/me").status, 200u) << "the token was revoked";
  // null is not a boolean.
  r = as(admin_, "POST", "/api/v1/users/admin/grants",
         R"({"object":"cluster/c1","role":"viewer","propagate":null})");
  EXPECT_EQ(r.status, 400u) << r.body;
}

TEST_F(api_auth, metrics_need_a_token_that_reads_the_datacenter) {
  auto r = api_->get("/metrics");
  EXPECT_EQ(r.status, 401u) << r.body.substr(0, 200);
  EXPECT_EQ(as(admin_, "GET", "/metrics").status, 200u);
  const auto viewer = user_with("vic", "viewer", "datacenter");
  EXPECT_EQ(as(viewer, "GET", "/metrics").status, 200u);
  ASSERT_EQ(
      as(admin_, "POST", "/api/v1/clusters", json{{"id", "c9"}, {"name", "c9"}}.dump()).status,
      201u);
  const auto nobody = user_with("nob", "viewer", "cluster/c9");
  EXPECT_EQ(as(nobody, "GET", "/metrics").status, 403u);
}

TEST_F(api_auth, metrics_public_is_a_setting) {
  server_->stop(SIGTERM);
  start({"--metrics-public"});
  EXPECT_EQ(api_->get("/metrics").status, 200u);
}

TEST_F(api_auth, anonymous_refusals_are_rate_limited_by_address_and_audited_in_aggregate) {
  const auto head = [&] {
    return body(api_->get("/ready")).value("logHead", std::uint64_t{0});
  };
  const auto before = head();
  std::vector<api_client::request> probes;
  for (int i = 0; i < 600; ++i)
    probes.push_back({"GET", "/api/v1/vms", std::nullopt, {}});
  api_client own{server_->base_url()};
  const auto answers = own.send_all(probes);
  std::map<std::string, unsigned> codes;
  for (const auto& r : answers)
    ++codes[std::to_string(r.status) + " " + code(r)];
  EXPECT_GT(codes["429 RATE_LIMITED"], 0u) << "600 anonymous requests were never limited";
  EXPECT_EQ(codes["429 RATE_LIMITED"] + codes["401 TOKEN_MISSING"], 600u);
  // One record per source and status opens a window; the rest is counted, not written.
  const auto written = head() - before;
  EXPECT_LE(written, 4u) << "anonymous refusals wrote " << written << " records";
  // The signed-in admin is not limited by the anonymous traffic of its address.
  EXPECT_EQ(as(admin_, "GET", "/api/v1/vms").status, 200u);
  // At stop, the counts of the open windows are written: the trail holds all 600.
  server_->stop(SIGTERM);
  start({});
  std::uint64_t counted = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (counted < 600 && std::chrono::steady_clock::now() < deadline) {
    counted = 0;
    const auto page = body(as(admin_, "GET", "/api/v1/audit?principal=anonymous&limit=1000"));
    for (const auto& a : page["items"])
      if (a.value("action", "") == "GET /api/v1/vms")
        counted += a.value("count", std::uint64_t{0});
  }
  EXPECT_EQ(counted, 600u);
}

TEST_F(api_auth, mutating_requests_that_match_no_route_are_audited) {
  EXPECT_EQ(as(admin_, "POST", "/api/v1/no-such-thing", "{}").status, 404u);
  EXPECT_EQ(as(admin_, "DELETE", "/api/v1/vms").status, 405u);
  std::set<std::string> seen;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (seen.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    seen.clear();
    const auto page = body(as(admin_, "GET", "/api/v1/audit?principal=user:admin&limit=1000"));
    for (const auto& a : page["items"])
      if (a.value("status", 0) == 404 || a.value("status", 0) == 405)
        seen.insert(a.value("method", "") + " " + a.value("path", "") + " " +
                    std::to_string(a.value("status", 0)));
  }
  EXPECT_EQ(seen,
            (std::set<std::string>{"POST /api/v1/no-such-thing 404", "DELETE /api/v1/vms 405"}));
}

} // namespace qx::test
