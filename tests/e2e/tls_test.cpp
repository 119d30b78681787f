// TLS end to end with real processes: `qvdc serve --tls` (a self-signed certificate made at
// first start), qx-node agents that pin its public key at join as `kubeadm join
// --discovery-token-ca-cert-hash` does, and a session that keeps the pin across an agent
// restart. The pin is computed here independently, with the openssl command-line tool.
#include "datacenter_fixture.hpp"
#include "shell_command.hpp"

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
    api_ = std::make_unique<api_client>(https_url());
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

  std::string new_token(json* whole = nullptr) {
    const auto r = api_->post("/api/v1/nodes/registration-tokens", "{}");
    EXPECT_EQ(r.status, 201u) << r.body;
    const auto j = body_json(r);
    if (whole != nullptr)
      *whole = j;
    return j.value("token", "");
  }

  api_response join(agent_process& a, const json& body) {
    return a.client->post("/api/v1/cluster/join", body.dump());
  }

  static std::string code_of(const api_response& r) {
    return body_json(r)["error"].value("code", "");
  }
};

TEST_F(e2e_tls, the_api_answers_over_https_only_with_the_certificate_made_at_first_start) {
  const auto cert = cp_dir() + "/tls/cert.pem";
  const auto key = cp_dir() + "/tls/key.pem";
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0) << "no key at " << key;
  EXPECT_EQ(st.st_mode & 0777U, 0600U) << "the private key is readable by others";

  EXPECT_EQ(api_->get("/health").status, 200u);
  EXPECT_EQ(api_->get("/api/v1/vms").status, 200u);
  // Plain HTTP on the TLS port gets no answer at all (the handshake fails first).
  api_client plain{cp_->base_url(), std::chrono::seconds{5}};
  EXPECT_ANY_THROW((void)plain.get("/health"));
  EXPECT_EQ(api_->get("/health").status, 200u) << "a failed handshake hurt the server";

  json issued;
  new_token(&issued);
  const auto pin = openssl_pin(cert);
  ASSERT_FALSE(pin.empty());
  EXPECT_EQ(issued.value("controlPlaneCertHash", ""), pin);
  EXPECT_EQ(issued.value("controlPlaneAddress", ""), https_url());

  // A restart keeps the same certificate, so joined hosts keep trusting it.
  cp_->stop(SIGTERM);
  cp_->start();
  api_ = std::make_unique<api_client>(https_url());
  EXPECT_EQ(openssl_pin(cert), pin);
  json again;
  new_token(&again);
  EXPECT_EQ(again.value("controlPlaneCertHash", ""), pin);
  const auto metrics = api_->get("/metrics").body;
  EXPECT_NE(metrics.find("qvdc_tls_handshake_failures_total"), std::string::npos);
}

TEST_F(e2e_tls, an_agent_joins_only_the_control_plane_whose_key_it_pinned) {
  auto& a = add_agent("t", 4, 8192);
  json issued;
  const auto token = new_token(&issued);
  const auto pin = issued.value("controlPlaneCertHash", "");
  ASSERT_EQ(pin, openssl_pin(cp_dir() + "/tls/cert.pem"));

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
  ASSERT_TRUE(eventually([&] {
    return get("/api/v1/nodes/tls-1/agent").value("connected", false);
  })) << diagnostics();
  EXPECT_EQ(body_json(a.client->get("/api/v1/cluster/config")).value("controlPlaneCertHash", ""),
            pin);
  {
    std::ifstream in{a.config};
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NE(text.str().find(pin), std::string::npos) << "the pin is not kept: " << text.str();
  }

  // After a SIGKILL the agent reconnects over wss:// with the pin from its file.
  const auto epoch = get("/api/v1/nodes/tls-1/agent").value("epoch", std::uint64_t{0});
  a.proc->stop(SIGKILL);
  start_agent("t");
  EXPECT_TRUE(eventually([&] {
    const auto s = get("/api/v1/nodes/tls-1/agent");
    return s.value("connected", false) && s.value("epoch", std::uint64_t{0}) > epoch;
  })) << diagnostics();
}

TEST_F(e2e_tls, a_discovered_host_learns_the_pin_from_the_control_plane) {
  const auto& a = add_agent("d", 2, 4096);
  const auto r = discover("d", "disc-1");
  ASSERT_TRUE(r.status == 200u || r.status == 201u) << r.body << diagnostics();
  ASSERT_TRUE(eventually([&] {
    return get("/api/v1/nodes/disc-1/agent").value("connected", false);
  })) << diagnostics();
  const auto cfg = body_json(a.client->get("/api/v1/cluster/config"));
  EXPECT_EQ(cfg.value("controlPlaneAddress", ""), https_url());
  EXPECT_EQ(cfg.value("controlPlaneCertHash", ""), openssl_pin(cp_dir() + "/tls/cert.pem"));
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
  api_client c{"https://127.0.0.1:" + std::to_string(own->port())};
  const auto t = body_json(c.post("/api/v1/nodes/registration-tokens", "{}"));
  EXPECT_EQ(t.value("controlPlaneCertHash", ""), openssl_pin(d + "/op.crt"));
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
