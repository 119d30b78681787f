// Hostile input at the border (issue 15): bytes that are not text in headers, paths and
// queries, names that libvirt or a file system cannot take, the statuses a client relies on,
// a log written by the released version, and a stop under load. Each case answers a clear 4xx
// naming the field, writes nothing, and leaves the server ready.
#include "api_fixture.hpp"
#include "raw_socket.hpp"
#include "released_log.hpp"
#include "shell_command.hpp"

#include <qx/events/rocksdb_store.hpp>
#include <qx/events/v1/cluster.pb.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace qx::test {
namespace {

using hostile = api_test;

/// One raw HTTP/1.1 exchange: the status line, the headers and the body of the answer.
struct raw_answer {
  std::string head;
  std::string body;
  [[nodiscard]] unsigned status() const {
    return static_cast<unsigned>(std::stoul(head.substr(9, 3)));
  }
  [[nodiscard]] std::string field() const {
    const auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.contains("error"))
      return {};
    return j["error"].value("details", nlohmann::json::object()).value("field", "");
  }
};

raw_answer exchange(std::uint16_t port, const std::string& request) {
  raw_socket s{port};
  s.write_all(request);
  const auto resp = s.read_response(10s);
  if (!resp)
    throw std::runtime_error("no answer to " + request.substr(0, 80));
  return {resp->first, resp->second};
}

} // namespace

TEST_F(hostile, a_request_id_that_is_not_utf8_is_400_and_the_server_stays_ready) {
  const auto before = log_head();
  // The reproduction of issue 15.
  const auto a =
      exchange(server().port(), "POST /api/v1/clusters HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Content-Type: application/json\r\nX-Request-Id: x\xff\r\n"
                                "Content-Length: 13\r\n\r\n{\"name\":\"c1\"}");
  EXPECT_EQ(a.status(), 400u) << a.head << a.body;
  EXPECT_EQ(a.field(), "X-Request-Id") << a.body;
  EXPECT_EQ(a.head.find("\xff"), std::string::npos) << "the bad bytes were echoed";
  for (const auto& [header, value] : std::vector<std::pair<std::string, std::string>>{
           {"Idempotency-Key", "k\xc3"}, {"If-Match", "\"1\xfe\""}, {"Content-Type", "\xff"}}) {
    const auto r =
        exchange(server().port(), "POST /api/v1/clusters HTTP/1.1\r\nHost: h\r\n" + header + ": " +
                                      value + "\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_EQ(r.status(), 400u) << header << ": " << r.body;
    EXPECT_EQ(r.field(), header) << r.body;
  }
  EXPECT_EQ(log_head(), before) << "a refused request wrote to the log";
  EXPECT_EQ(api().get("/ready").status, 200u);
  EXPECT_EQ(api().post("/api/v1/clusters", R"({"id":"c1","name":"c1"})").status, 201u);
  // And it restarts on its log.
  restart(SIGTERM);
  EXPECT_EQ(api().get("/api/v1/clusters/c1").status, 200u);
}

TEST_F(hostile, paths_and_queries_that_are_not_utf8_are_400) {
  const auto before = log_head();
  EXPECT_TRUE(is_error(api().get("/api/v1/vms/%FF%FE"), 400, "INVALID_ARGUMENT", "path"));
  EXPECT_TRUE(is_error(api().post("/api/v1/vms/%FF/start", "{}"), 400, "INVALID_ARGUMENT", "path"));
  EXPECT_TRUE(is_error(api().get("/api/v1/vms/a%00b"), 400, "INVALID_ARGUMENT", "path"));
  EXPECT_TRUE(
      is_error(api().get("/api/v1/vms?pageToken=%C3"), 400, "INVALID_ARGUMENT", "query.pageToken"));
  EXPECT_TRUE(is_error(api().get("/api/v1/vms?%FF=1"), 400, "INVALID_ARGUMENT", "query"));
  EXPECT_EQ(log_head(), before);
  EXPECT_EQ(api().get("/ready").status, 200u);
}

TEST_F(hostile, http_framing_statuses) {
  // HTTP/1.1 without Host is malformed (RFC 9112, 3.2).
  auto r = exchange(server().port(), "GET /api/v1/vms HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status(), 400u) << r.head;
  EXPECT_EQ(r.field(), "Host");
  // Media types are case-insensitive.
  r = exchange(server().port(), "POST /api/v1/clusters HTTP/1.1\r\nHost: h\r\n"
                                "Content-Type: APPLICATION/JSON; charset=UTF-8\r\n"
                                "Content-Length: 23\r\n\r\n{\"id\":\"c2\",\"name\":\"c2\"}");
  EXPECT_EQ(r.status(), 201u) << r.head << r.body;
  // HEAD is GET without the body.
  const auto get = exchange(server().port(), "GET /api/v1/clusters HTTP/1.1\r\nHost: h\r\n\r\n");
  raw_socket s{server().port()};
  s.write_all("HEAD /api/v1/clusters HTTP/1.1\r\nHost: h\r\n\r\n");
  const auto head = s.read_head(10s);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->rfind("HTTP/1.1 200", 0), 0u) << *head;
  EXPECT_NE(head->find("Content-Length: " + std::to_string(get.body.size())), std::string::npos)
      << *head;
  // A trailing or doubled slash is another URL, which no route answers.
  EXPECT_EQ(api().get("/api/v1/clusters/").status, 404u);
  EXPECT_EQ(api().get("/api//v1/clusters").status, 404u);
  EXPECT_EQ(api().get("/api/v1/clusters").status, 200u);
}

TEST_F(hostile, one_name_rule_for_every_user_given_name) {
  register_node("n1");
  create_vm("vm1");
  ASSERT_EQ(
      api()
          .post(
              "/api/v1/storage/pools",
              R"({"id":"p1","name":"p1","type":"dir","settings":{"path":"/var/lib/qx/p1"},"capacityBytes":107374182400})")
          .status,
      201u);
  const auto before = log_head();
  // U+FFFF: valid UTF-8 that XML 1.0 (and so libvirt) refuses.
  EXPECT_TRUE(
      is_error(api().post("/api/v1/vms",
                          R"({"id":"vmx","spec":{"name":"a\uffff","vcpus":1,"memoryMib":512}})"),
               400, "INVALID_ARGUMENT", "spec.name"));
  for (const std::string name : {"..", ".", "a/b", "<x>", " lead", "trail ", "a\\u0000b", "a\\nb"})
    EXPECT_TRUE(is_error(api().post("/api/v1/vms/vm1/snapshots", R"({"name":")" + name + R"("})"),
                         400, "INVALID_ARGUMENT", "name"))
        << name;
  EXPECT_TRUE(is_error(
      api().post("/api/v1/volumes",
                 R"({"id":"v1","name":"../../../tmp/x","poolId":"p1","sizeBytes":1048576})"),
      400, "INVALID_ARGUMENT", "name"));
  // Free text takes no control character either (NUL, CR, LF in a description).
  for (const std::string text : {"a\\u0000b", "line\\r\\nline"})
    EXPECT_TRUE(is_error(api().post("/api/v1/clusters",
                                    R"({"id":"c3","name":"c3","description":")" + text + R"("})"),
                         400, "INVALID_ARGUMENT", "description"))
        << text;
  EXPECT_EQ(log_head(), before) << "a refused name was written";
  // A fine name with spaces and non-ASCII letters inside is taken.
  EXPECT_EQ(
      api().post("/api/v1/vms/vm1/snapshots", R"({"name":"before upgrade \u00e9t\u00e9"})").status,
      202u);
}

TEST_F(hostile, the_body_is_checked_before_existence_and_state) {
  register_node("n1");
  create_vm("vm1");
  ASSERT_EQ(api().post("/api/v1/vms/vm1/start").status, 202u);
  // A malformed field on a VM that exists already and one that is running: 400, not 409.
  EXPECT_TRUE(is_error(
      api().post("/api/v1/vms", R"({"id":"vm1","spec":{"name":"","vcpus":1,"memoryMib":512}})"),
      400, "INVALID_ARGUMENT", "spec.name"));
  EXPECT_TRUE(is_error(api().post("/api/v1/vms/vm1/snapshots", R"({"name":"a/b"})"), 400,
                       "INVALID_ARGUMENT", "name"));
  // A flag is true or false; null is not "absent".
  EXPECT_TRUE(is_error(api().post("/api/v1/users/x/grants",
                                  R"({"object":"datacenter","role":"viewer","propagate":null})"),
                       400, "INVALID_ARGUMENT", "propagate"));
}

TEST_F(hostile, snapshots_are_listed_a_page_at_a_time_with_their_position) {
  register_node("n1");
  create_vm("vm1");
  for (const char* name : {"s1", "s2", "s3"})
    ASSERT_EQ(
        api().post("/api/v1/vms/vm1/snapshots", std::string{R"({"name":")"} + name + "\"}").status,
        202u);
  auto page1 = api().get("/api/v1/vms/vm1/snapshots?limit=2");
  ASSERT_EQ(page1.status, 200u) << show(page1);
  EXPECT_EQ(ids(page1, "name"), (std::vector<std::string>{"s1", "s2"}));
  EXPECT_FALSE(page1.header("X-Log-Position").empty());
  const auto token = str(page1.json(), "nextPageToken");
  ASSERT_EQ(token, "s2");
  auto page2 = api().get("/api/v1/vms/vm1/snapshots?limit=2&pageToken=" + token);
  EXPECT_EQ(ids(page2, "name"), std::vector<std::string>{"s3"});
  EXPECT_EQ(str(page2.json(), "nextPageToken"), "");
  for (const char* path :
       {"/api/v1/alerts", "/api/v1/operations", "/api/v1/roles", "/api/v1/roles/admin"})
    EXPECT_FALSE(api().get(path).header("X-Log-Position").empty()) << path;
}

// --- property: hostile strings through every route ----------------------------------------

namespace {

/// The operations of docs/api/openapi.yaml: {method, path pattern}.
std::vector<std::pair<std::string, std::string>> documented_operations() {
  std::ifstream in{QX_OPENAPI_PATH};
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  std::string path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (in_paths && !line.empty() && line[0] != ' ')
      break;
    if (!in_paths)
      continue;
    if (line.rfind("  /", 0) == 0 && line.back() == ':')
      path = line.substr(2, line.size() - 3);
    for (const char* m : {"get", "post", "put", "patch", "delete"})
      if (line == std::string{"    "} + m + ":") {
        std::string upper{m};
        for (auto& c : upper)
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        out.emplace_back(upper, path);
      }
  }
  return out;
}

/// Pieces hostile strings are made of: bytes that are not UTF-8, a surrogate, controls,
/// non-characters, path tricks, markup, and ordinary text.
const std::vector<std::string>& pieces() {
  static const std::vector<std::string> p{
      "\xff", "\xfe\xfe", "\xc3", "\xed\xa0\x80", std::string{"\0", 1}, "\x01",     "\x7f",
      "\r\n", "..",       "/",    "<x>",          "\xef\xbf\xbf",       "\xc2\x85", "caf\xc3\xa9",
      "a",    "%",        "\"",   "\\",           std::string(300, 'a')};
  return p;
}

std::string hostile_string(std::mt19937& rng) {
  std::string out;
  const auto n = 1 + rng() % 4;
  for (unsigned i = 0; i < n; ++i)
    out += pieces()[rng() % pieces().size()];
  return out;
}

std::string percent_encoded(const std::string& s) {
  std::string out;
  constexpr char hex[] = "0123456789ABCDEF";
  for (const unsigned char c : s) {
    out += '%';
    out += hex[c >> 4U];
    out += hex[c & 0xFU];
  }
  return out;
}

/// A JSON string literal holding `s`: raw bytes (the parser must refuse what is not UTF-8) or
/// escaped (\u0000 and friends reach the handlers as text).
std::string json_literal(const std::string& s, bool escape) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\' || (escape && c < 0x20)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string hostile_body(std::mt19937& rng) {
  static const std::vector<std::string> fields{
      "id",     "name",         "description", "reason",  "object",  "role",     "poolId",
      "nodeId", "targetNodeId", "hostname",    "address", "comment", "password", "user",
      "cidr",   "format",       "url",         "kind",    "vmIds",   "nodeIds"};
  std::string body = "{";
  const bool escape = rng() % 2 == 0;
  for (const auto& f : fields) {
    if (rng() % 3 != 0)
      continue;
    if (body.size() > 1)
      body += ",";
    body += "\"" + f + "\":" + json_literal(hostile_string(rng), escape);
  }
  if (rng() % 2 == 0)
    body += std::string{body.size() > 1 ? "," : ""} + R"("spec":{"name":)" +
            json_literal(hostile_string(rng), escape) + R"(,"vcpus":1,"memoryMib":512})";
  return body + "}";
}

} // namespace

TEST_F(hostile, random_hostile_strings_through_every_route_leave_a_log_that_reads_back) {
  register_node("n1");
  create_vm("vm1");
  const auto operations = documented_operations();
  ASSERT_GT(operations.size(), 50u) << "docs/api/openapi.yaml was not read";
  std::mt19937 rng{20261206};
  std::map<unsigned, unsigned> statuses;
  for (int i = 0; i < 600; ++i) {
    const auto& [method, pattern] = operations[rng() % operations.size()];
    if (pattern == "/api/v1/watch" || pattern.find("/session") != std::string::npos)
      continue;
    std::string target;
    for (std::size_t at = 0; at < pattern.size();) {
      const auto open = pattern.find('{', at);
      if (open == std::string::npos) {
        target += pattern.substr(at);
        break;
      }
      target += pattern.substr(at, open - at);
      target += rng() % 4 == 0 ? std::string{"vm1"} : percent_encoded(hostile_string(rng));
      at = pattern.find('}', open) + 1;
    }
    if (rng() % 3 == 0)
      target +=
          "?" + percent_encoded(hostile_string(rng)) + "=" + percent_encoded(hostile_string(rng));
    std::string headers = "Host: h\r\nConnection: close\r\n";
    if (rng() % 3 == 0) {
      auto id = hostile_string(rng);
      std::erase_if(id, [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
      headers += "X-Request-Id: " + id + "\r\n";
    }
    std::string body;
    if (method != "GET" && method != "DELETE") {
      body = hostile_body(rng);
      headers += "Content-Type: application/json\r\n";
    }
    headers += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    raw_socket s{server().port()};
    s.write_all(method + " " + target + " HTTP/1.1\r\n" + headers + "\r\n" + body);
    const auto resp = s.read_response(20s);
    ASSERT_TRUE(resp) << "no answer to " << method << " " << target;
    const auto status = static_cast<unsigned>(std::stoul(resp->first.substr(9, 3)));
    ++statuses[status];
    EXPECT_NE(status, 500u) << method << " " << target << "\n" << body << "\n" << resp->second;
  }
  std::string seen;
  for (const auto& [status, n] : statuses)
    seen += std::to_string(status) + " x" + std::to_string(n) + "  ";
  std::cout << "[hostile] " << seen << "\n";
  EXPECT_EQ(api().get("/ready").status, 200u) << server().stderr_tail();
  // Every record the server wrote reads back: the events API renders them all, and the log
  // tools verify and dump the whole log once the server has stopped.
  const auto events = api().get("/api/v1/events?limit=1000");
  EXPECT_EQ(events.status, 200u) << show(events);
  ASSERT_EQ(server().stop(SIGTERM), 0) << server().stderr_tail();
  const auto data = dir_.sub("data");
  const auto verify =
      run_shell(std::string{QX_QVDC_PATH} + " log verify --data-dir '" + data + "' 2>&1");
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  const auto dump =
      run_shell(std::string{QX_QVDC_PATH} + " log dump --data-dir '" + data + "' 2>&1 >/dev/null");
  EXPECT_EQ(dump.exit_code, 0) << dump.out;
  server().start();
  client_ = std::make_unique<api_client>(server().base_url());
  ASSERT_TRUE(wait_ready());
}

// --- a log of the released version ------------------------------------------------------

class hostile_released : public api_test {
 protected:
  void SetUp() override {
    // The data directory as the released version left it: a cluster whose create carried
    // a request id that is not UTF-8, and a later event chained to that record.
    {
      events::rocksdb_store_options o;
      o.path = dir_.sub("data") + "/log";
      std::filesystem::create_directories(dir_.sub("data"));
      auto store = events::open_rocksdb_store(o);
      ASSERT_TRUE(store) << store.error().to_string();
      events::v1::ClusterCreated c;
      c.set_id("c1");
      c.set_name("c1");
      events::append_request req;
      req.stream = "cluster-c1";
      req.events.push_back({"qx.events.v1.ClusterCreated", c.SerializeAsString()});
      req.metadata = {"anonymous", "x@QXBAD", "", ""};
      ASSERT_TRUE((*store)->append(req));
    }
    rewrite_as_released(dir_.sub("data") + "/log", "@QXBAD");
    api_test::SetUp();
  }
};

TEST_F(hostile_released, a_log_holding_a_record_of_the_released_version_opens_and_serves) {
  EXPECT_EQ(api().get("/ready").status, 200u);
  EXPECT_EQ(api().get("/api/v1/clusters/c1").status, 200u);
  const auto events = api().get("/api/v1/events?limit=10");
  ASSERT_EQ(events.status, 200u) << show(events);
  EXPECT_NE(events.body.find(R"(x\\xFFQXBAD)"), std::string::npos) << events.body;
  // It goes on writing, and restarts.
  EXPECT_EQ(api().post("/api/v1/clusters", R"({"id":"c2","name":"c2"})").status, 201u);
  restart(SIGTERM);
  EXPECT_EQ(api().get("/api/v1/clusters/c2").status, 200u);
}

// --- stop under load ----------------------------------------------------------------------

TEST_F(hostile, sigterm_with_requests_in_flight_stops_cleanly) {
  register_node("n1");
  std::atomic<bool> stop{false};
  std::mutex acked_mutex;
  std::vector<std::string> acked; // clusters whose create was answered 201
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t)
    load.emplace_back([&, t] {
      api_client own{server().base_url()};
      for (int i = 0; !stop.load(); ++i) {
        const auto id = "c" + std::to_string(t) + "-" + std::to_string(i);
        // The server goes away under this load: the client's failures are the point.
        try {
          if (own.post("/api/v1/clusters", R"({"id":")" + id + R"(","name":")" + id + "\"}")
                  .status == 201) {
            const std::lock_guard lock{acked_mutex};
            acked.push_back(id);
          }
          (void)own.get("/api/v1/clusters?limit=5");
        } catch (const std::exception&) {
          return;
        }
      }
    });
  // Wait until the load has written something, then stop the server under it.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  const auto start = log_head();
  while (log_head() < start + 50 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  const int status = server().stop(SIGTERM);
  stop = true;
  for (auto& th : load)
    th.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n"
                                                             << server().stderr_tail(4000);
  const auto err = server().stderr_tail(100000);
  EXPECT_EQ(err.find("AddressSanitizer"), std::string::npos) << err;
  EXPECT_EQ(err.find("malloc()"), std::string::npos) << err;
  // Everything it acknowledged is there after a restart.
  server().start();
  client_ = std::make_unique<api_client>(server().base_url());
  ASSERT_TRUE(wait_ready());
  ASSERT_FALSE(acked.empty());
  for (const auto& id : acked)
    EXPECT_EQ(api().get("/api/v1/clusters/" + id).status, 200u) << id << " was acknowledged";
}

// --- every operation ends -----------------------------------------------------------------

/// `qvdc serve` with no stand-in and no agent, so no host ever confirms a VM's start: one
/// node, VM vm1, and its start asked; `op` is the start's operation.
struct unconfirmed_start {
  temp_dir dir;
  std::unique_ptr<server_process> server;
  std::unique_ptr<api_client> api;
  std::string op;

  void start(const std::vector<std::string>& extra) {
    std::vector<std::string> argv{QX_QVDC_PATH, "serve",         "--listen", "127.0.0.1:0",
                                  "--data-dir", dir.sub("data"), "--no-auth"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    server = server_process::program(argv, dir.sub("err"));
    ASSERT_NO_THROW(server->start());
    api = std::make_unique<api_client>(server->base_url());
    const auto ready_by = std::chrono::steady_clock::now() + 30s;
    while (api->get("/ready").status != 200 && std::chrono::steady_clock::now() < ready_by)
      std::this_thread::yield();
    ASSERT_EQ(api->post("/api/v1/nodes", node_body("n1")).status, 201u);
    ASSERT_EQ(api->post("/api/v1/vms", vm_body("vm1")).status, 201u);
    const auto started = api->post("/api/v1/vms/vm1/start");
    ASSERT_EQ(started.status, 202u) << show(started);
    op = str(started.json(), "id");
  }

  /// The operation once it has failed (or the last answer, after 20 s).
  web::json::value failed_operation() {
    web::json::value j;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (str(j, "state") != "failed" && std::chrono::steady_clock::now() < deadline)
      j = api->get("/api/v1/operations/" + op).json();
    return j;
  }
};

TEST(hostile_operations, an_operation_no_host_confirms_fails_timed_out) {
  unconfirmed_start s;
  ASSERT_NO_FATAL_FAILURE(s.start({"--operation-timeout", "1"}));
  const auto j = s.failed_operation();
  ASSERT_EQ(str(j, "state"), "failed") << j.serialize();
  EXPECT_EQ(str(j.at("error"), "code"), "TIMED_OUT") << j.serialize();
  EXPECT_EQ(s.server->stop(SIGTERM), 0);
}

TEST(hostile_operations, a_start_that_falls_back_to_stopped_fails_with_the_reason_given) {
  // What the agent does when libvirt refuses a VM (the control plane records a force-stop
  // with the host's error): the operation ends failed, with that reason, at once.
  unconfirmed_start s;
  ASSERT_NO_FATAL_FAILURE(s.start({}));
  ASSERT_EQ(
      s.api->post("/api/v1/vms/vm1/force-stop", R"({"reason":"START_FAILED: libvirt refused"})")
          .status,
      200u);
  const auto j = s.failed_operation();
  ASSERT_EQ(str(j, "state"), "failed") << j.serialize();
  EXPECT_NE(str(j.at("error"), "message").find("libvirt refused"), std::string::npos)
      << j.serialize();
  EXPECT_EQ(str(s.api->get("/api/v1/vms/vm1").json(), "lastReason"),
            "START_FAILED: libvirt refused");
  EXPECT_EQ(s.server->stop(SIGTERM), 0);
}

} // namespace qx::test
