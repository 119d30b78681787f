#pragma once

// The fixture of every API integration test: a fresh data directory, `qvdc serve` on it as a
// child process, a cpprestsdk client, and the helpers the tests share (register a node, create
// a VM, follow an operation, count the events in the log, check an error body).

#include "api_client.hpp"
#include "server_process.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace qx::test {

using namespace std::chrono_literals;

/// Text of a JSON string member (empty when absent or not a string).
inline std::string str(const web::json::value& v, const std::string& key) {
  if (!v.is_object() || !v.has_field(key) || !v.at(key).is_string())
    return {};
  return v.at(key).as_string();
}

/// A non-negative integer member (0 when absent).
inline std::uint64_t num(const web::json::value& v, const std::string& key) {
  if (!v.is_object() || !v.has_field(key) || !v.at(key).is_number())
    return 0;
  return v.at(key).as_number().to_uint64();
}

/// The strings of an array member.
inline std::vector<std::string> strings(const web::json::value& v, const std::string& key) {
  std::vector<std::string> out;
  if (!v.is_object() || !v.has_field(key) || !v.at(key).is_array())
    return out;
  for (const auto& e : v.at(key).as_array())
    out.push_back(e.is_string() ? e.as_string() : e.serialize());
  return out;
}

/// The "items" of a list answer.
inline std::vector<web::json::value> items(const api_response& r) {
  std::vector<web::json::value> out;
  const auto j = r.json();
  if (!j.is_object() || !j.has_field("items") || !j.at("items").is_array()) {
    ADD_FAILURE() << "no items in " << r.status << " " << r.body.substr(0, 300);
    return out;
  }
  for (const auto& e : j.at("items").as_array())
    out.push_back(e);
  return out;
}

inline std::vector<std::string> ids(const api_response& r, const std::string& key = "id") {
  std::vector<std::string> out;
  for (const auto& e : items(r))
    out.push_back(str(e, key));
  return out;
}

/// For messages: status and the start of the body.
inline std::string show(const api_response& r) {
  return std::to_string(r.status) + " " + r.body.substr(0, 600);
}

/// Checks an error answer: status, error.code and (when given) error.details.field.
inline ::testing::AssertionResult is_error(const api_response& r, unsigned status,
                                           const std::string& code, const std::string& field = {}) {
  if (r.status != status)
    return ::testing::AssertionFailure() << "expected " << status << ", got " << show(r);
  web::json::value j;
  try {
    j = web::json::value::parse(r.body);
  } catch (const std::exception&) {
    return ::testing::AssertionFailure() << "error body is not JSON: " << show(r);
  }
  if (!j.has_field("error") || !j.at("error").is_object())
    return ::testing::AssertionFailure() << "no error object: " << show(r);
  const auto& e = j.at("error");
  if (str(e, "code") != code)
    return ::testing::AssertionFailure() << "expected code " << code << ": " << show(r);
  if (str(e, "message").empty())
    return ::testing::AssertionFailure() << "empty message: " << show(r);
  if (!field.empty()) {
    if (!e.has_field("details") || str(e.at("details"), "field") != field)
      return ::testing::AssertionFailure() << "expected details.field " << field << ": " << show(r);
  }
  if (r.header("Content-Type").rfind("application/json", 0) != 0)
    return ::testing::AssertionFailure() << "error without a JSON content type: " << show(r);
  return ::testing::AssertionSuccess();
}

inline std::string node_body(const std::string& id, unsigned threads = 16,
                             std::uint64_t memory_mib = 65536) {
  return R"({"id":")" + id + R"(","hostname":"host-)" + id + R"(","address":"10.0.0.)" +
         std::to_string(id.size()) + R"(","hardware":{"cpuThreads":)" + std::to_string(threads) +
         R"(,"cpuCores":)" + std::to_string(threads / 2) + R"(,"memoryMib":)" +
         std::to_string(memory_mib) + "}}";
}

inline std::string vm_body(const std::string& id, unsigned vcpus = 2,
                           std::uint64_t memory_mib = 2048, const std::string& extra_spec = "") {
  return R"({"id":")" + id + R"(","spec":{"name":"vm )" + id + R"(","vcpus":)" +
         std::to_string(vcpus) + R"(,"memoryMib":)" + std::to_string(memory_mib) +
         (extra_spec.empty() ? "" : "," + extra_spec) + "}}";
}

class api_test : public ::testing::Test {
 protected:
  /// Extra `qvdc serve` options of a test (its fixture overrides this).
  virtual std::vector<std::string> server_args() const { return {}; }

  void SetUp() override {
    server_ =
        std::make_unique<server_process>(dir_.sub("data"), dir_.sub("qvdc.stderr"), server_args());
    ASSERT_NO_THROW(server_->start());
    client_ = std::make_unique<api_client>(server_->base_url());
    ASSERT_TRUE(wait_ready()) << server_->stderr_tail();
  }

  void TearDown() override {
    client_.reset();
    if (server_ && server_->pid() > 0) {
      const int status = server_->stop(SIGTERM);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "qvdc did not stop cleanly on SIGTERM (status " << status << ")\n"
          << server_->stderr_tail();
    }
    if (HasFailure() && server_)
      std::cerr << "--- qvdc stderr (end) ---\n" << server_->stderr_tail(2000) << "\n";
  }

  /// Stops the server with `sig` and starts it again over the same data directory.
  void restart(int sig) {
    client_.reset();
    const int status = server_->stop(sig);
    if (sig == SIGTERM) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
    } else {
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "status " << status;
    }
    server_->start();
    client_ = std::make_unique<api_client>(server_->base_url());
    ASSERT_TRUE(wait_ready()) << server_->stderr_tail();
  }

  /// GET /ready until 200 (the read models caught up with the log).
  bool wait_ready(std::chrono::milliseconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        if (api().get("/ready").status == 200)
          return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  api_client& api() { return *client_; }
  server_process& server() { return *server_; }

  /// The newest log position (from /ready).
  std::uint64_t log_head() { return num(api().get("/ready").json(), "logHead"); }

  /// Every event in the log, through GET /api/v1/events (paged).
  std::vector<web::json::value> all_events() {
    std::vector<web::json::value> out;
    std::uint64_t from = 1;
    for (;;) {
      const auto r = api().get("/api/v1/events?limit=1000&fromPosition=" + std::to_string(from));
      if (r.status != 200) {
        ADD_FAILURE() << show(r);
        return out;
      }
      const auto j = r.json();
      for (const auto& e : j.at("items").as_array())
        out.push_back(e);
      from = num(j, "nextFromPosition");
      if (from == 0)
        return out;
    }
  }
  std::size_t event_count() { return all_events().size(); }

  void register_node(const std::string& id, unsigned threads = 16,
                     std::uint64_t memory_mib = 65536) {
    const auto r = api().post("/api/v1/nodes", node_body(id, threads, memory_mib));
    ASSERT_EQ(r.status, 201u) << show(r);
  }

  void create_vm(const std::string& id, unsigned vcpus = 2, std::uint64_t memory_mib = 2048,
                 const std::string& extra_spec = "") {
    const auto r = api().post("/api/v1/vms", vm_body(id, vcpus, memory_mib, extra_spec));
    ASSERT_EQ(r.status, 201u) << show(r);
  }

  /// Polls an operation until it leaves "running"; returns its last state.
  web::json::value wait_operation(const std::string& id, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    web::json::value op;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto r = api().get("/api/v1/operations/" + id);
      if (r.status != 200) {
        ADD_FAILURE() << show(r);
        return op;
      }
      op = r.json();
      if (str(op, "state") != "running")
        return op;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "operation " << id << " still running: " << op.serialize();
    return op;
  }

  /// POSTs a long action (202 + operation) and follows it to the end; returns the operation.
  web::json::value run_operation(const std::string& target, const std::string& body = "{}") {
    const auto r = api().post(target, body);
    if (r.status != 202) {
      ADD_FAILURE() << target << ": " << show(r);
      return web::json::value::null();
    }
    const auto op = r.json();
    EXPECT_EQ(r.header("Location"), "/api/v1/operations/" + str(op, "id"));
    return wait_operation(str(op, "id"));
  }

  /// Starts a VM (on `node` when given) and waits until it runs.
  void start_vm(const std::string& id, const std::string& node = "") {
    const auto op = run_operation("/api/v1/vms/" + id + "/start",
                                  node.empty() ? "{}" : R"({"nodeId":")" + node + R"("})");
    ASSERT_EQ(str(op, "state"), "succeeded") << op.serialize();
    ASSERT_EQ(str(get_json("/api/v1/vms/" + id), "powerState"), "running");
  }

  /// GET that must answer 200; the body parsed.
  web::json::value get_json(const std::string& target) {
    const auto r = api().get(target);
    EXPECT_EQ(r.status, 200u) << target << ": " << show(r);
    return r.json();
  }

  /// Waits until GET `target` shows `key` == `want` (the stand-in confirms asynchronously).
  bool wait_field(const std::string& target, const std::string& key, const std::string& want,
                  std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (str(api().get(target).json(), key) == want)
        return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  /// Polls `pred` until it holds; false on timeout.
  static bool eventually(const std::function<bool()>& pred,
                         std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  temp_dir dir_;
  std::unique_ptr<server_process> server_;
  std::unique_ptr<api_client> client_;
};

} // namespace qx::test
