// TLS end to end with real processes: `qvdc serve --tls` (a self-signed certificate made at
// first start), qx-node agents that pin its public key at join as `kubeadm join
// --discovery-token-ca-cert-hash` does, and a session that keeps the pin across an agent
// restart. The pin is computed here independently, with the openssl command-line tool.
#include "datacenter_fixture.hpp"
#include "shell_command.hpp"

#include <qx/net/http_fetch.hpp>

#include <sys/stat.h>

#include <csignal>
#include <fstream>
#include <sstream>

namespace qx::test {
namespace {

class e2e_tls : public datacenter_fixture {
 public:
  void SetUp() override {
    cp_ = server_process::program({QX_QVDC_PATH, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                                   cp_dir(), "--no-auth", "--tls"},
                                  dir_.path().string() + "/cp.err");
    cp_->start();
    pin_ = openssl_pin(cp_dir() + "/tls/cert.pem");
    ASSERT_FALSE(pin_.empty());
  }

  [[nodiscard]] std::string cp_dir() const { return dir_.path().string() + "/cp"; }
  [[nodiscard]] std::string https_url() const {
    return "https://127.0.0.1:" + std::to_string(cp_->port());
  }

  /// "sha256:<hex>" of the certificate's SubjectPublicKeyInfo, by the openssl tool.
  static std::string openssl_pin(const std::string& cert) {
    const auto r = run_shell("openssl x509 -in '" + cert +
                             "' -noout -pubkey | openssl pkey -pubin -outform der | "
                             "openssl dgst -sha256 -r");
    const auto hex = r.out.substr(0, r.out.find(' '));
    return r.exit_code == 0 && hex.size() == 64 ? "sha256:" + hex : "";
  }

  /// A request to the control plane over https with the project's client (net::http_fetch),
  /// accepting the key `pin` only ("" checks CAs and the name instead).
  static result<net::fetch_response> call_at(const std::string& base, const std::string& pin,
                                             const std::string& method, const std::string& path,
                                             const std::string& body = "") {
    net::fetch_request r;
    r.method = method;
    r.url = base + path;
    r.body = body;
    r.pinned_cert_sha256 = pin;
    r.timeout = 10s;
    return net::http_fetch(r);
  }

  /// The body of a pinned request to this test's control plane ({} and a failure if none).
  json cp_json(const std::string& method, const std::string& path, const std::string& body = "",
               unsigned* status = nullptr) {
    const auto r = call_at(https_url(), pin_, method, path, body);
    EXPECT_TRUE(r) << method << " " << path << ": " << r.error().to_string();
    if (!r)
      return json{};
    if (status != nullptr)
      *status = r->status;
    auto j = json::parse(r->body, nullptr, false);
    return j.is_discarded() ? json{} : j;
  }

  json issue_token() {
    unsigned status = 0;
    auto j = cp_json("POST", "/api/v1/nodes/registration-tokens", "{}", &status);
    EXPECT_EQ(status, 201u) << j.dump();
    return j;
  }

  bool node_connected(const std::string& id, std::uint64_t after_epoch = 0) {
    return eventually([&] {
      const auto s = cp_json("GET", "/api/v1/nodes/" + id + "/agent");
      return s.value("connected", false) && s.value("epoch", std::uint64_t{0}) > after_epoch;
    });
  }

  api_response join(agent_process& a, const json& body) {
    return a.client->post("/api/v1/cluster/join", body.dump());
  }

  static std::string code_of(const api_response& r) {
    return body_json(r)["error"].value("code", "");
  }

  std::string pin_;
};

TEST_F(e2e_tls, the_api_answers_over_https_only_with_the_certificate_made_at_first_start) {
  const auto key = cp_dir() + "/tls/key.pem";
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0) << "no key at " << key;
  EXPECT_EQ(st.st_mode & 0777U, 0600U) << "the private key is readable by others";

  unsigned status = 0;
  (void)cp_json("GET", "/health", "", &status);
  EXPECT_EQ(status, 200u);
  (void)cp_json("GET", "/api/v1/vms", "", &status);
  EXPECT_EQ(status, 200u);
  // A client that checks CAs refuses the self-signed certificate; a wrong pin is refused too.
  for (const auto& pin : {std::string{}, "sha256:" + std::string(64, '0')}) {
    const auto r = call_at(https_url(), pin, "GET", "/health");
    ASSERT_FALSE(r) << "accepted with pin '" << pin << "'";
    EXPECT_EQ(r.error().details.at("reason"), "TLS_ERROR") << r.error().to_string();
  }
  // Plain HTTP on the TLS port gets no HTTP answer at all (the handshake fails first).
  const auto plain = call_at(cp_->base_url(), "", "GET", "/health");
  EXPECT_FALSE(plain && plain->status == 200) << "plain HTTP was served beside TLS";
  (void)cp_json("GET", "/health", "", &status);
  EXPECT_EQ(status, 200u) << "a failed handshake hurt the server";

  const auto issued = issue_token();
  EXPECT_EQ(issued.value("controlPlaneCertHash", ""), pin_);
  EXPECT_EQ(issued.value("controlPlaneAddress", ""), https_url());

  // A restart keeps the same certificate, so joined hosts keep trusting it.
  cp_->stop(SIGTERM);
  cp_->start();
  EXPECT_EQ(openssl_pin(cp_dir() + "/tls/cert.pem"), pin_);
  EXPECT_EQ(issue_token().value("controlPlaneCertHash", ""), pin_);
  const auto metrics = call_at(https_url(), pin_, "GET", "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("qvdc_tls_handshake_failures_total"), std::string::npos);
}

TEST_F(e2e_tls, an_agent_joins_only_the_control_plane_whose_key_it_pinned) {
  auto& a = add_agent("t", 4, 8192);
  const auto issued = issue_token();
  const auto token = issued.value("token", "");
  const auto pin = issued.value("controlPlaneCertHash", "");
  ASSERT_EQ(pin, pin_);

  // Another key: refused as TLS_ERROR before the token is sent, so the token stays good.
  auto wrong = pin;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  auto r = join(a, {{"controlPlaneAddress", https_url()},
                    {"registrationToken", token},
                    {"controlPlaneCertHash", wrong}});
  EXPECT_EQ(r.status, 502u) << r.body;
  EXPECT_EQ(code_of(r), "TLS_ERROR") << r.body;
  EXPECT_NE(r.body.find(pin), std::string::npos) << "the answer names the key it saw: " << r.body;
  // Malformed pins and a pin for plain HTTP name the field and change nothing.
  for (const json& bad : {json{"sha256:XYZ"}, json{"md5:00"}, json{42}, json{pin + "0"}}) {
    r = join(a, {{"controlPlaneAddress", https_url()},
                 {"registrationToken", token},
                 {"controlPlaneCertHash", bad}});
    EXPECT_EQ(r.status, 400u) << bad.dump() << " " << r.body;
    EXPECT_EQ(body_json(r)["error"]["details"].value("field", ""), "controlPlaneCertHash");
  }
  r = join(a, {{"controlPlaneAddress", cp_->base_url()},
               {"registrationToken", token},
               {"controlPlaneCertHash", pin}});
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_EQ(body_json(a.client->get("/api/v1/cluster/status")).value("status", ""), "standalone");

  r = join(a, {{"controlPlaneAddress", https_url()},
               {"registrationToken", token},
               {"controlPlaneCertHash", pin},
               {"nodeId", "tls-1"}});
  ASSERT_EQ(r.status, 200u) << r.body << diagnostics();
  ASSERT_TRUE(node_connected("tls-1")) << diagnostics();
  EXPECT_EQ(body_json(a.client->get("/api/v1/cluster/config", a.as_owner()))
                .value("controlPlaneCertHash", ""),
            pin);
  {
    std::ifstream in{a.config};
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NE(text.str().find(pin), std::string::npos) << "the pin is not kept: " << text.str();
  }

  // After a SIGKILL the agent reconnects over wss:// with the pin from its file.
  const auto epoch = cp_json("GET", "/api/v1/nodes/tls-1/agent").value("epoch", std::uint64_t{0});
  a.proc->stop(SIGKILL);
  start_agent("t");
  EXPECT_TRUE(node_connected("tls-1", epoch)) << diagnostics();
}

TEST_F(e2e_tls, a_discovered_host_learns_the_pin_from_the_control_plane) {
  const auto& a = add_agent("d", 2, 4096);
  unsigned status = 0;
  const auto r = cp_json(
      "POST", "/api/v1/nodes/discover",
      json{{"hostUrl", a.url()}, {"token", a.token}, {"register", true}, {"nodeId", "disc-1"}}
          .dump(),
      &status);
  ASSERT_TRUE(status == 200u || status == 201u) << r.dump() << diagnostics();
  ASSERT_TRUE(node_connected("disc-1")) << diagnostics();
  const auto cfg = body_json(a.client->get("/api/v1/cluster/config", a.as_owner()));
  EXPECT_EQ(cfg.value("controlPlaneAddress", ""), https_url());
  EXPECT_EQ(cfg.value("controlPlaneCertHash", ""), pin_);
}

TEST_F(e2e_tls, an_operators_certificate_is_served_and_bad_files_are_refused_at_start) {
  const auto d = dir_.path().string();
  ASSERT_EQ(run_shell("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                      "-keyout '" +
                      d + "/op.key' -out '" + d + "/op.crt' 2>/dev/null")
                .exit_code,
            0);
  auto own = server_process::program({QX_QVDC_PATH, "serve", "--listen", "127.0.0.1:0",
                                      "--data-dir", d + "/own", "--no-auth", "--tls-cert",
                                      d + "/op.crt", "--tls-key", d + "/op.key"},
                                     d + "/own.err");
  own->start();
  const auto op_pin = openssl_pin(d + "/op.crt");
  const auto t = call_at("https://127.0.0.1:" + std::to_string(own->port()), op_pin, "POST",
                         "/api/v1/nodes/registration-tokens", "{}");
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(json::parse(t->body, nullptr, false).value("controlPlaneCertHash", ""), op_pin);
  own->stop(SIGTERM);

  // A garbage certificate, a key that is not the certificate's, a missing file, one file
  // without the other: qvdc refuses to start and names the flag.
  std::ofstream{d + "/garbage.pem"} << "-----BEGIN CERTIFICATE-----\nnot base64\n";
  ASSERT_EQ(run_shell("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=x -keyout '" +
                      d + "/other.key' -out '" + d + "/other.crt' 2>/dev/null")
                .exit_code,
            0);
  const auto refuses = [&](const std::string& flags, const std::string& field) {
    const auto out = run_shell(std::string{QX_QVDC_PATH} + " serve --listen 127.0.0.1:0 " +
                               "--no-auth --data-dir '" + d + "/bad' " + flags + " 2>&1");
    EXPECT_NE(out.exit_code, 0) << flags;
    EXPECT_NE(out.out.find(field), std::string::npos) << flags << ": " << out.out;
  };
  refuses("--tls-cert '" + d + "/garbage.pem' --tls-key '" + d + "/op.key'", "tls-cert");
  refuses("--tls-cert '" + d + "/op.crt' --tls-key '" + d + "/other.key'", "tls-key");
  refuses("--tls-cert '" + d + "/none.pem' --tls-key '" + d + "/op.key'", "tls-cert");
  refuses("--tls-cert '" + d + "/op.crt'", "tls-key");
}

} // namespace
} // namespace qx::test
