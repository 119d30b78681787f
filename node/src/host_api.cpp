// The host API's routes (see host_api.hpp) and the agent's membership: standalone until a
// registration completes or a join succeeds, then a member with a session to its control
// plane; leaving makes it standalone again. Membership changes apply at once, without a
// restart; the status says pending_restart when the config file asks for what only a restart
// can change (the listen address, the libvirt URI).
#include "qx/node/host_api.hpp"

#include "agent_session.hpp"

#include "qx/node/pool_files.hpp"

#include <qx/base/utf8.hpp>
#include <qx/net/http_fetch.hpp>
#include <qx/net/http_status.hpp>
#include <qx/net/url.hpp>
#include <qx/security/one_time_tokens.hpp>
#include <qx/security/secrets.hpp>
#include <qx/security/tls_identity.hpp>

#include <nlohmann/json.hpp>
#include <sys/statvfs.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>

namespace qx::node {

namespace {

using json = nlohmann::json;

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

host_response reply(unsigned status, const json& body) {
  host_response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

host_response fail(unsigned status, const std::string& code, const std::string& message,
                   json details = json::object()) {
  return reply(status,
               json{{"error", {{"code", code}, {"message", message}, {"details", details}}}});
}

host_response fail(const error& e, unsigned status = 0) {
  std::string code{to_string(e.code)};
  json details = json::object();
  for (const auto& [k, v] : e.details) {
    if (k == "reason")
      code = v;
    else
      details[k] = v;
  }
  return fail(status != 0 ? status : net::http_status_of(e.code), code, e.message, details);
}

/// The first text of `req` that is not valid UTF-8, as the 400 answered; nullopt when all are
/// valid. Checked before any route: nothing a route reads, echoes or writes into the config
/// file can hold broken text.
std::optional<host_response> invalid_text(const host_request& req) {
  const auto refuse = [](const std::string& field, const std::string& what, std::size_t at) {
    return fail(400, "INVALID_ARGUMENT",
                what + " is not valid UTF-8 (byte " + std::to_string(at) + ")", {{"field", field}});
  };
  if (auto at = invalid_utf8_at(req.path))
    return refuse("requestPath", "the request path", *at);
  for (const auto& [key, value] : req.query) {
    if (auto at = invalid_utf8_at(key))
      return refuse("query", "a query parameter's name", *at);
    if (auto at = invalid_utf8_at(value))
      return refuse(key, "the query parameter " + key, *at);
  }
  if (auto at = invalid_utf8_at(req.bearer))
    return refuse("Authorization", "the Authorization header's credential", *at);
  if (auto at = invalid_utf8_at(req.registration_token))
    return refuse("X-Registration-Token", "the X-Registration-Token header", *at);
  if (auto at = invalid_utf8_at(req.body))
    return refuse("body", "the body", *at);
  return std::nullopt;
}

/// The JSON object of a request body, or the error answered.
std::optional<json> object_body(const host_request& req, host_response& err) {
  auto j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    err = fail(400, "INVALID_ARGUMENT", "the body must be a JSON object", {{"field", "body"}});
    return std::nullopt;
  }
  return j;
}

/// A string field, or the error answered.
std::optional<std::string> text_field(const json& j, const char* name, host_response& err) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    err = fail(400, "INVALID_ARGUMENT", std::string{name} + " is required (a string)",
               {{"field", name}});
    return std::nullopt;
  }
  return it->get<std::string>();
}

/// The optional `controlPlaneCertHash`: "" when absent, else a pin as
/// security::cert_pin_of_der answers it ("sha256:" + 64 lower-case hex digits).
std::optional<std::string> cert_pin_field(const json& j, host_response& err) {
  const auto it = j.find("controlPlaneCertHash");
  if (it == j.end() || it->is_null())
    return std::string{};
  if (!it->is_string() || !security::is_cert_pin(it->get_ref<const std::string&>())) {
    err = fail(400, "INVALID_ARGUMENT",
               "controlPlaneCertHash must be sha256: and 64 lower-case hex digits (qvdc serve "
               "prints it at start with --tls)",
               {{"field", "controlPlaneCertHash"}});
    return std::nullopt;
  }
  return it->get<std::string>();
}

json nics() {
  json out = json::array();
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator{"/sys/class/net", ec}) {
    const auto name = e.path().filename().string();
    if (name == "lo")
      continue;
    std::ifstream mac{e.path() / "address"};
    std::string m;
    mac >> m;
    std::ifstream speed{e.path() / "speed"};
    long mbps = -1;
    speed >> mbps;
    out.push_back({{"name", name}, {"mac", m}, {"speedMbps", mbps < 0 ? 0 : mbps}});
  }
  return out;
}

json disk_of(const std::string& path) {
  struct statvfs fs {};
  if (statvfs(path.c_str(), &fs) != 0)
    return json{{"path", path}, {"error", "cannot statvfs"}};
  return json{{"path", path},
              {"totalBytes", static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize},
              {"freeBytes", static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize}};
}

class agent_impl final : public agent {
 public:
  agent_impl(agent_options o, hypervisor& hv)
      : opts_(std::move(o)), hv_(hv), tokens_(opts_.token_ttl), running_(opts_.config) {}
  ~agent_impl() override { stop(); }
  agent_impl(const agent_impl&) = delete;
  agent_impl& operator=(const agent_impl&) = delete;
  agent_impl(agent_impl&&) = delete;
  agent_impl& operator=(agent_impl&&) = delete;

  void begin() {
    std::lock_guard lock{mutex_};
    if (auto disk = load_agent_config(opts_.config_path))
      started_file_ = *disk;
    if (is_member(running_))
      start_session();
  }

  host_response handle(const host_request& req) override {
    if (auto refused = invalid_text(req))
      return *refused;
    const auto& p = req.path;
    const auto& m = req.method;
    if (p == "/api/v1/registration/ping")
      return m == "GET" ? ping() : not_allowed("GET");
    if (p == "/api/v1/registration/token") {
      if (m == "GET")
        return check_token(req);
      if (m == "POST")
        return new_token(req);
      return not_allowed("GET, POST");
    }
    if (p == "/api/v1/registration/discovery")
      return m == "GET" ? discovery(req) : not_allowed("GET");
    if (p == "/api/v1/registration/complete")
      return m == "POST" ? complete(req) : not_allowed("POST");
    if (p == "/api/v1/cluster/status")
      return m == "GET" ? cluster_status_reply() : not_allowed("GET");
    if (p == "/api/v1/cluster/config")
      return m == "GET" ? config_reply(req) : not_allowed("GET");
    if (p == "/api/v1/cluster/join")
      return m == "POST" ? join(req) : not_allowed("POST");
    if (p == "/api/v1/cluster/leave")
      return m == "POST" ? leave(req) : not_allowed("POST");
    constexpr std::string_view pools = "/api/v1/storage/pools/";
    if (p.starts_with(pools) && p.ends_with("/files")) {
      const auto name = p.substr(pools.size(), p.size() - pools.size() - 6);
      if (name.empty() || name.find('/') != std::string::npos)
        return fail(404, "NOT_FOUND", "no route " + p);
      return m == "GET" ? pool_files(name, req) : not_allowed("GET");
    }
    return fail(404, "NOT_FOUND", "no route " + p);
  }

  std::string issue_token() override {
    auto t = tokens_.issue();
    std::cout << "registration token: " << t.token << " (valid until " << rfc3339(t.expires_at)
              << ")" << std::endl;
    return t.token;
  }

  std::string cluster_status() override {
    std::lock_guard lock{mutex_};
    return status_locked();
  }

  void stop() override {
    std::unique_ptr<agent_session> s;
    {
      std::lock_guard lock{mutex_};
      s = std::move(session_);
    }
    s.reset();
  }

  void set_advertise_url(std::string url) override {
    std::lock_guard lock{mutex_};
    opts_.advertise_url = std::move(url);
  }

 private:
  static host_response not_allowed(const std::string& allow) {
    return fail(405, "METHOD_NOT_ALLOWED", "allowed: " + allow, {{"allow", allow}});
  }

  host_response ping() {
    std::lock_guard lock{mutex_};
    return reply(200, json{{"status", "ok"},
                           {"service", "qx-node"},
                           {"version", opts_.version},
                           {"time", rfc3339(std::chrono::system_clock::now())},
                           {"clusterStatus", status_locked()}});
  }

  /// Phase 2 of a discovery: is the presented token valid (without using it up)?
  host_response check_token(const host_request& req) {
    auto ok = tokens_.check(req.registration_token);
    if (!ok)
      return fail(ok.error());
    return reply(200, json{{"valid", true}, {"expiresAt", rfc3339(*ok)}});
  }

  /// The host console asks for a token: only from the host itself.
  host_response new_token(const host_request& req) {
    if (!req.from_loopback)
      return fail(403, "PERMISSION_DENIED",
                  "registration tokens are issued on the host itself (its console or loopback)");
    auto t = tokens_.issue();
    std::cout << "registration token issued (valid until " << rfc3339(t.expires_at) << ")"
              << std::endl;
    return reply(201, json{{"token", t.token}, {"expiresAt", rfc3339(t.expires_at)}});
  }

  host_response discovery(const host_request& req) {
    if (auto ok = tokens_.check(req.registration_token); !ok)
      return fail(ok.error());
    auto info = hv_.host();
    if (!info)
      return fail(info.error(), 503);
    json pools = json::array();
    if (auto list = hv_.list_pools())
      for (const auto& p : *list)
        pools.push_back({{"name", p.name},
                         {"path", p.target_path},
                         {"state", p.state},
                         {"capacityBytes", p.capacity_bytes},
                         {"availableBytes", p.available_bytes}});
    json disks = json::array();
    disks.push_back(disk_of(running_.pools_root.empty() ? "/" : running_.pools_root));
    return reply(200, json{{"hostname", info->hostname},
                           {"cpu",
                            {{"model", info->cpu_model},
                             {"sockets", info->sockets},
                             {"cores", info->cores},
                             {"threads", info->cpus},
                             {"mhz", info->mhz}}},
                           {"memoryMib", info->memory_mib},
                           {"disks", disks},
                           {"nics", nics()},
                           {"libvirtVersion", info->libvirt_version},
                           {"hypervisor", info->hypervisor_type},
                           {"libvirtUri", running_.libvirt_uri},
                           {"storagePools", pools},
                           {"agentVersion", opts_.version}});
  }

  /// The control plane registered this host: keep who we are and open the session. A member
  /// is re-pointed only by the owner of its agent key (else ALREADY_MEMBER, nothing written).
  host_response complete(const host_request& req) {
    {
      std::lock_guard lock{mutex_};
      if (is_member(running_) && !holds_agent_key_locked(req))
        return already_member_locked(true);
    }
    host_response err;
    auto body = object_body(req, err);
    if (!body)
      return err;
    const auto token = body->value("registrationToken", std::string{});
    if (auto ok = tokens_.check(token.empty() ? req.registration_token : token); !ok)
      return fail(ok.error());
    auto node_id = text_field(*body, "nodeId", err);
    auto address = node_id ? text_field(*body, "controlPlaneAddress", err) : std::nullopt;
    auto key = address ? text_field(*body, "agentKey", err) : std::nullopt;
    if (!key)
      return err;
    std::lock_guard lock{mutex_};
    if (is_member(running_) && !holds_agent_key_locked(req)) // joined meanwhile
      return already_member_locked(true);
    auto next = running_;
    next.node_id = *node_id;
    next.control_plane_address = *address;
    next.agent_key = *key;
    next.cluster_id = body->value("clusterId", std::string{});
    auto pin = cert_pin_field(*body, err);
    if (!pin)
      return err;
    next.control_plane_cert_pin = *pin;
    if (auto ok = validate_membership(next); !ok)
      return fail(ok.error());
    // Used up only once the whole request is known good: a malformed completion leaves the
    // token valid for a corrected retry.
    if (auto ok = tokens_.consume(token.empty() ? req.registration_token : token); !ok)
      return fail(ok.error());
    if (auto ok = become(std::move(next)); !ok)
      return fail(ok.error());
    return reply(200, membership_json());
  }

  /// The operator joins this host to a control plane with a token the control plane issued.
  host_response join(const host_request& req) {
    if (!req.from_loopback)
      return fail(403, "PERMISSION_DENIED", "a join is asked on the host itself");
    host_response err;
    auto body = object_body(req, err);
    if (!body)
      return err;
    auto address = text_field(*body, "controlPlaneAddress", err);
    auto token = address ? text_field(*body, "registrationToken", err) : std::nullopt;
    if (!token)
      return err;
    auto url = net::parse_url(*address, "controlPlaneAddress");
    if (!url)
      return fail(url.error());
    auto pin = cert_pin_field(*body, err);
    if (!pin)
      return err;
    if (!pin->empty() && !url->tls())
      return fail(400, "INVALID_ARGUMENT",
                  "controlPlaneCertHash pins a certificate: the controlPlaneAddress is https://",
                  {{"field", "controlPlaneCertHash"}});
    std::string advertise;
    {
      std::lock_guard lock{mutex_};
      if (is_member(running_))
        return already_member_locked(false);
      advertise = opts_.advertise_url;
    }
    auto info = hv_.host();
    if (!info)
      return fail(info.error(), 503);
    net::fetch_request r;
    r.method = "POST";
    r.url = url->origin() + "/api/v1/nodes/register";
    r.pinned_cert_sha256 = *pin; // the token goes to no other control plane than the pinned one
    r.body = json{{"registrationToken", *token},
                  {"nodeId", body->value("nodeId", std::string{})},
                  {"clusterId", body->value("clusterId", std::string{})},
                  {"hostUrl", advertise},
                  {"hostname", info->hostname},
                  {"cpuThreads", info->cpus},
                  {"cpuModel", info->cpu_model},
                  {"memoryMib", info->memory_mib}}
                 .dump();
    auto res = net::http_fetch(r);
    if (!res)
      return fail(res.error(), 502);
    auto answer = json::parse(res->body, nullptr, false);
    if (res->status != 201 && res->status != 200) {
      // The control plane's own error (TOKEN_INVALID, TOKEN_EXPIRED, ...), passed on.
      if (!answer.is_discarded() && answer.contains("error"))
        return reply(res->status, answer);
      return fail(502, "INVALID_RESPONSE",
                  "the control plane answered HTTP " + std::to_string(res->status));
    }
    if (answer.is_discarded() || !answer.is_object() || !answer.contains("nodeId") ||
        !answer.contains("agentKey") || !answer["nodeId"].is_string() ||
        !answer["agentKey"].is_string())
      return fail(502, "INVALID_RESPONSE", "the control plane's answer lacks nodeId or agentKey");
    std::lock_guard lock{mutex_};
    auto next = running_;
    next.node_id = answer["nodeId"].get<std::string>();
    next.agent_key = answer["agentKey"].get<std::string>();
    next.control_plane_address = url->origin();
    next.control_plane_cert_pin = *pin;
    if (auto ok = validate_membership(next); !ok)
      return fail(502, "INVALID_RESPONSE", ok.error().message);
    if (auto ok = become(std::move(next)); !ok)
      return fail(ok.error());
    return reply(200, membership_json());
  }

  host_response leave(const host_request& req) {
    if (!req.from_loopback)
      return fail(403, "PERMISSION_DENIED", "a leave is asked on the host itself");
    std::unique_ptr<agent_session> old;
    {
      std::lock_guard lock{mutex_};
      if (!is_member(running_))
        return fail(409, "NOT_A_MEMBER", "this host is standalone already");
      old = std::move(session_);
    }
    if (old)
      old->leave("the operator asked the host to leave");
    old.reset();
    std::lock_guard lock{mutex_};
    auto next = running_;
    next.node_id.clear();
    next.control_plane_address.clear();
    next.agent_key.clear();
    next.control_plane_cert_pin.clear();
    next.cluster_id.clear();
    if (auto ok = persist_membership(next); !ok)
      return fail(ok.error());
    running_ = std::move(next);
    return reply(200, membership_json());
  }

  host_response cluster_status_reply() {
    std::lock_guard lock{mutex_};
    return reply(200, membership_json());
  }

  host_response config_reply(const host_request& req) {
    std::lock_guard lock{mutex_};
    if (auto refused = refuse_reader_locked(req))
      return *refused;
    return reply(200, json{{"nodeId", running_.node_id},
                           {"controlPlaneAddress", running_.control_plane_address},
                           {"agentKeySet", !running_.agent_key.empty()},
                           {"controlPlaneCertHash", running_.control_plane_cert_pin},
                           {"clusterId", cluster_id_locked()},
                           {"listen", running_.listen},
                           {"libvirtUri", running_.libvirt_uri},
                           {"poolsRoot", running_.pools_root},
                           {"configPath", opts_.config_path}});
  }

  host_response pool_files(const std::string& name, const host_request& req) {
    {
      std::lock_guard lock{mutex_};
      if (auto refused = refuse_reader_locked(req))
        return *refused;
    }
    auto pools = hv_.list_pools();
    if (!pools)
      return fail(pools.error());
    const auto it = std::find_if(pools->begin(), pools->end(),
                                 [&](const pool_info& p) { return p.name == name; });
    if (it == pools->end())
      return fail(404, "NOT_FOUND", "no storage pool " + name + " on this host",
                  {{"field", "pool"}});
    const auto q = req.query.find("path");
    auto files = list_pool_files(it->target_path, q == req.query.end() ? "" : q->second);
    if (!files)
      return fail(files.error());
    json out = json::array();
    for (const auto& f : *files)
      out.push_back({{"name", f.name},
                     {"type", f.type},
                     {"sizeBytes", f.size_bytes},
                     {"modifiedUnix", f.modified_unix}});
    return reply(200, json{{"pool", name}, {"files", out}});
  }

  // -- membership (mutex_ held) -------------------------------------------------------------

  /// Whether `req` presents this member's agent key as its Bearer credential.
  bool holds_agent_key_locked(const host_request& req) const {
    return !req.bearer.empty() && !running_.agent_key.empty() &&
           security::constant_time_equal(req.bearer, running_.agent_key);
  }

  host_response already_member_locked(bool key_would_do) const {
    return fail(409, "ALREADY_MEMBER",
                "this host is node " + running_.node_id + " of " + running_.control_plane_address +
                    (key_would_do ? ": leave first, or present its agent key as Authorization: "
                                    "Bearer"
                                  : ": leave first"));
  }

  /// Who may read the config and the pool files (see host_api.hpp): on a member the holder of
  /// its agent key; on a standalone host the host itself or the holder of a registration
  /// token. The refusal answered, or nullopt.
  std::optional<host_response> refuse_reader_locked(const host_request& req) const {
    if (is_member(running_)) {
      if (req.bearer.empty())
        return fail(401, "AGENT_KEY_MISSING",
                    "this host is a member: present its agent key as Authorization: Bearer");
      if (!holds_agent_key_locked(req))
        return fail(401, "AGENT_KEY_INVALID", "the Bearer credential is not this host's agent key");
      return std::nullopt;
    }
    if (req.from_loopback)
      return std::nullopt;
    if (auto ok = tokens_.check(req.registration_token); !ok)
      return fail(ok.error());
    return std::nullopt;
  }

  /// Checks the membership fields of `m` as the file will hold them (flags such as a listen
  /// port 0 are not the file's business).
  status validate_membership(const agent_config& m) const {
    auto file = started_file_;
    file.node_id = m.node_id;
    file.control_plane_address = m.control_plane_address;
    file.agent_key = m.agent_key;
    file.control_plane_cert_pin = m.control_plane_cert_pin;
    file.cluster_id = m.cluster_id;
    return validate(file);
  }

  /// Writes the membership fields of `m` into the config file, leaving the rest of the file
  /// as the operator wrote it (flags given at start are not written back).
  status persist_membership(const agent_config& m) {
    auto disk = load_agent_config(opts_.config_path);
    agent_config out = disk ? *disk : started_file_;
    out.node_id = m.node_id;
    out.control_plane_address = m.control_plane_address;
    out.agent_key = m.agent_key;
    out.control_plane_cert_pin = m.control_plane_cert_pin;
    out.cluster_id = m.cluster_id;
    return save_agent_config(opts_.config_path, out);
  }

  status become(agent_config next) {
    if (auto ok = persist_membership(next); !ok)
      return ok;
    running_ = std::move(next);
    session_.reset();
    start_session();
    return {};
  }

  void start_session() {
    session_settings s;
    s.control_plane_address = running_.control_plane_address;
    s.node_id = running_.node_id;
    s.agent_key = running_.agent_key;
    s.control_plane_cert_pin = running_.control_plane_cert_pin;
    s.libvirt_uri = running_.libvirt_uri;
    s.agent_version = opts_.version;
    s.pools_root = running_.pools_root;
    s.heartbeat = opts_.heartbeat;
    s.fence_action = opts_.fence_action;
    s.test_demand_file = opts_.test_demand_file;
    session_ = std::make_unique<agent_session>(hv_, std::move(s));
    session_->start();
  }

  std::string status_locked() { return status_with(is_member(running_) && restart_needed()); }

  /// The status, `restart` being restart_needed() (it reads the config file: once per request).
  std::string status_with(bool restart) const {
    if (!is_member(running_))
      return "standalone";
    if (restart)
      return "pending_restart";
    return session_ && session_->state().connected ? "connected" : "disconnected";
  }

  /// The file on disk asks for a listen address or libvirt URI the process did not start with.
  bool restart_needed() {
    auto on_disk = load_agent_config(opts_.config_path);
    return on_disk && (on_disk->listen != started_file_.listen ||
                       on_disk->libvirt_uri != started_file_.libvirt_uri);
  }

  /// The cluster as the control plane last said (its session), else as registered.
  std::string cluster_id_locked() const {
    if (session_) {
      auto s = session_->state();
      if (s.cluster_known)
        return s.cluster_id;
    }
    return running_.cluster_id;
  }

  json membership_json() {
    const bool restart = restart_needed();
    json j{{"status", status_with(restart)},
           {"nodeId", running_.node_id},
           {"controlPlaneAddress", running_.control_plane_address},
           {"clusterId", cluster_id_locked()},
           {"restartRequired", restart}};
    if (session_) {
      const auto s = session_->state();
      j["session"] = {{"connected", s.connected},
                      {"epoch", s.epoch},
                      {"commandsRun", s.commands_run},
                      {"commandsDropped", s.commands_dropped},
                      {"connects", s.reconnects},
                      {"lastError", s.last_error},
                      {"fences", s.fences},
                      {"lastFenceUnixMs", s.last_fence_unix_ms}};
    }
    return j;
  }

  agent_options opts_;
  hypervisor& hv_;
  security::one_time_tokens tokens_;
  std::mutex mutex_;
  agent_config running_;      ///< what the process runs with (file and flags)
  agent_config started_file_; ///< the file as it was at start
  std::unique_ptr<agent_session> session_;
};

} // namespace

result<std::unique_ptr<agent>> agent::open(agent_options opts, hypervisor& hv) {
  // The file was checked when it was loaded; flags may ask for port 0 (any free port).
  auto a = std::make_unique<agent_impl>(std::move(opts), hv);
  a->begin();
  return std::unique_ptr<agent>{std::move(a)};
}

} // namespace qx::node
