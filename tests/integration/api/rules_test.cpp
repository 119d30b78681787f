// A cluster's placement rules through the API: create, read, replace, delete; each hostile or
// wrong body refused with the one error shape naming the field, and nothing written; a rule
// that contradicts another names it; the rules are in the log (GET ?asOf= shows them as they
// were).
#include "api_fixture.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>

namespace qx::test {
namespace {

class api_rules : public api_test {
 protected:
  void SetUp() override {
    api_test::SetUp();
    for (const auto* n : {"n1", "n2", "n3"})
      register_node(n);
    for (const auto* c : {"c1", "c2"})
      ASSERT_EQ(api()
                    .post("/api/v1/clusters",
                          std::string{R"({"id":")"} + c + R"(","name":")" + c + R"("})")
                    .status,
                201u);
    ASSERT_EQ(api().post("/api/v1/clusters/c1/nodes/n1", "{}").status, 200u);
    ASSERT_EQ(api().post("/api/v1/clusters/c1/nodes/n2", "{}").status, 200u);
    ASSERT_EQ(api().post("/api/v1/clusters/c2/nodes/n3", "{}").status, 200u);
    for (const auto* vm : {"a", "b", "c", "elsewhere"})
      create_vm(vm, 1, 512);
    start_vm("a", "n1");
    start_vm("elsewhere", "n3");
  }
};

TEST_F(api_rules, create_read_replace_delete) {
  auto r = api().post("/api/v1/clusters/c1/rules",
                      R"({"name":"apart","kind":"keep_apart","vmIds":["a","b"]})");
  ASSERT_EQ(r.status, 201u) << show(r);
  ASSERT_EQ(items(api().get("/api/v1/clusters/c1/rules")).size(), 1u);
  const auto at_one_rule = log_head();
  r = api().get("/api/v1/clusters/c1/rules/apart");
  ASSERT_EQ(r.status, 200u) << show(r);
  EXPECT_EQ(str(r.json(), "kind"), "keep_apart");
  EXPECT_EQ(strings(r.json(), "vmIds"), (std::vector<std::string>{"a", "b"}));
  // The same name again by POST: 409; by PUT: replaced.
  EXPECT_TRUE(is_error(api().post("/api/v1/clusters/c1/rules",
                                  R"({"name":"apart","kind":"keep_apart","vmIds":["a","c"]})"),
                       409, "ALREADY_EXISTS", "name"));
  r = api().put("/api/v1/clusters/c1/rules/prefer",
                R"({"kind":"should_run_on","vmIds":["b"],"nodeIds":["n1","n2"],)"
                R"("priorities":{"n2":80,"n1":10}})");
  ASSERT_EQ(r.status, 200u) << show(r);
  r = api().get("/api/v1/clusters/c1/rules/prefer");
  EXPECT_EQ(r.json().at("priorities").at("n2").as_integer(), 80) << show(r);
  // The cluster shows its rules too; as of before the second, only the first.
  EXPECT_EQ(api().get("/api/v1/clusters/c1").json().at("rules").as_array().size(), 2u);
  r = api().get("/api/v1/clusters/c1?asOf=" + std::to_string(at_one_rule));
  ASSERT_EQ(r.status, 200u) << show(r);
  EXPECT_EQ(r.json().at("rules").as_array().size(), 1u) << show(r);
  r = api().del("/api/v1/clusters/c1/rules/apart");
  ASSERT_EQ(r.status, 200u) << show(r);
  EXPECT_TRUE(is_error(api().get("/api/v1/clusters/c1/rules/apart"), 404, "NOT_FOUND"));
  EXPECT_TRUE(is_error(api().del("/api/v1/clusters/c1/rules/apart"), 404, "NOT_FOUND"));
  EXPECT_TRUE(is_error(api().get("/api/v1/clusters/ghost/rules"), 404, "NOT_FOUND"));
}

TEST_F(api_rules, every_wrong_body_is_a_400_naming_the_field_and_writes_nothing) {
  const auto before = event_count();
  const std::pair<std::string, std::string> cases[] = {
      {R"({"name":"r","kind":"keep_near","vmIds":["a","b"]})", "kind"},
      {R"({"name":"r","kind":"keep_apart","vmIds":["a"]})", "vmIds"},
      {R"({"name":"r","kind":"keep_apart","vmIds":["a","a"]})", "vmIds[1]"},
      {R"({"name":"r","kind":"keep_apart","vmIds":["a","ghost"]})", "vmIds[1]"},
      {R"({"name":"r","kind":"keep_apart","vmIds":["a","elsewhere"]})", "vmIds[1]"},
      {R"({"name":"r","kind":"must_run_on","vmIds":["a"],"nodeIds":["n3"]})", "nodeIds[0]"},
      {R"({"name":"r","kind":"must_run_on","vmIds":["a"]})", "nodeIds"},
      {R"({"name":"r","kind":"keep_apart","vmIds":["a","b"],"nodeIds":["n1"]})", "nodeIds"},
      {R"({"name":"r","kind":"should_run_on","vmIds":["a"],"nodeIds":["n1"],"priorities":{"n1":101}})",
       "priorities.n1"},
      {R"({"name":"r","kind":"should_run_on","vmIds":["a"],"nodeIds":["n1"],"priorities":{"n2":5}})",
       "priorities"},
      {R"({"name":"r","kind":"should_run_on","vmIds":["a"],"nodeIds":["n1"],"priorities":[1]})",
       "priorities"},
      {R"({"name":"","kind":"keep_apart","vmIds":["a","b"]})", "name"},
      {R"({"name":"r\u0000x","kind":"keep_apart","vmIds":["a","b"]})", "name"},
      {R"({"name":"r","kind":"keep_apart","vmIds":"a"})", "vmIds"},
      {R"({"name":"r","kind":"keep_apart","vmIds":["a","b"],"color":"red"})", "color"},
      {R"({"name":")" + std::string(81, 'n') + R"(","kind":"keep_apart","vmIds":["a","b"]})",
       "name"},
  };
  for (const auto& [body, field] : cases)
    EXPECT_TRUE(
        is_error(api().post("/api/v1/clusters/c1/rules", body), 400, "INVALID_ARGUMENT", field))
        << body;
  EXPECT_TRUE(is_error(api().post("/api/v1/clusters/c1/rules", "[1,2"), 400, "MALFORMED_JSON"));
  EXPECT_TRUE(is_error(api().put("/api/v1/clusters/c1/rules/x",
                                 R"({"name":"y","kind":"keep_apart","vmIds":["a","b"]})"),
                       400, "INVALID_ARGUMENT", "name"))
      << "the body's name differs from the path's";
  EXPECT_EQ(event_count(), before) << "nothing written by a refused rule";
}

TEST_F(api_rules, a_rule_that_contradicts_another_names_it) {
  ASSERT_EQ(api()
                .post("/api/v1/clusters/c1/rules",
                      R"({"name":"together","kind":"keep_together","vmIds":["a","b","c"]})")
                .status,
            201u);
  const auto r = api().post("/api/v1/clusters/c1/rules",
                            R"({"name":"apart","kind":"keep_apart","vmIds":["b","c"]})");
  ASSERT_TRUE(is_error(r, 400, "RULE_CONFLICT", "vmIds")) << show(r);
  EXPECT_EQ(str(r.json().at("error").at("details"), "conflictsWith"), "together") << show(r);
}

TEST_F(api_rules, a_start_through_the_api_obeys_the_vms_rules) {
  // b must run on n2: a start that names no node lands there; one that names n1 is refused
  // with the rule's name, nothing started.
  ASSERT_EQ(api()
                .post("/api/v1/clusters/c1/rules",
                      R"({"name":"b-on-n2","kind":"must_run_on","vmIds":["b"],"nodeIds":["n2"]})")
                .status,
            201u);
  auto r = api().post("/api/v1/vms/b/start", R"({"nodeId":"n1"})");
  EXPECT_TRUE(is_error(r, 409, "RULE_VIOLATION", "nodeId")) << show(r);
  EXPECT_NE(r.body.find("b-on-n2"), std::string::npos) << show(r);
  EXPECT_EQ(str(get_json("/api/v1/vms/b"), "powerState"), "defined");
  start_vm("b");
  EXPECT_EQ(str(get_json("/api/v1/vms/b"), "nodeId"), "n2");
  // c, kept apart from a (on n1), goes to the cluster's other node.
  ASSERT_EQ(api()
                .post("/api/v1/clusters/c1/rules",
                      R"({"name":"a-c-apart","kind":"keep_apart","vmIds":["a","c"]})")
                .status,
            201u);
  start_vm("c");
  EXPECT_EQ(str(get_json("/api/v1/vms/c"), "nodeId"), "n2");
}

// Maintenance of a clustered node goes through DRS: its VMs leave where the cluster's rules
// allow, the node enters maintenance once empty, and they come back after it; DRS's records
// name the operator and the reason.
TEST_F(api_rules, maintenance_empties_the_node_within_the_rules_and_brings_the_vms_back) {
  register_node("n4");
  ASSERT_EQ(api().post("/api/v1/clusters/c1/nodes/n4", "{}").status, 200u);
  start_vm("b", "n2");
  start_vm("c", "n1");
  // a (on n1) and b (on n2) apart: a may go to n4 only.
  ASSERT_EQ(api()
                .post("/api/v1/clusters/c1/rules",
                      R"({"name":"apart","kind":"keep_apart","vmIds":["a","b"]})")
                .status,
            201u);
  auto op = run_operation("/api/v1/nodes/n1/enter-maintenance");
  ASSERT_EQ(str(op, "state"), "succeeded") << op.serialize();
  EXPECT_EQ(str(op, "kind"), "node.enter-maintenance");
  EXPECT_EQ(str(get_json("/api/v1/nodes/n1"), "state"), "maintenance");
  EXPECT_EQ(str(get_json("/api/v1/vms/a"), "nodeId"), "n4");
  EXPECT_NE(str(get_json("/api/v1/vms/c"), "nodeId"), "n1");
  for (const auto* vm : {"a", "c"})
    EXPECT_EQ(str(get_json(std::string{"/api/v1/vms/"} + vm), "powerState"), "running") << vm;
  std::vector<std::string> types;
  for (const auto& e : items(api().get("/api/v1/events?stream=drs-c1"))) {
    types.push_back(str(e, "type"));
    EXPECT_EQ(str(e, "principal"), "anonymous") << e.serialize();
    if (str(e, "type") == "qx.events.v1.DrsRecommended") {
      EXPECT_EQ(str(e.at("data"), "reason"), "MAINTENANCE") << e.serialize();
    }
  }
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), "qx.events.v1.DrsMaintenanceRequested");

  op = run_operation("/api/v1/nodes/n1/exit-maintenance");
  ASSERT_EQ(str(op, "state"), "succeeded") << op.serialize();
  EXPECT_EQ(str(get_json("/api/v1/nodes/n1"), "state"), "connected");
  EXPECT_TRUE(eventually(
      [&] {
        return str(get_json("/api/v1/vms/a"), "nodeId") == "n1" &&
               str(get_json("/api/v1/vms/c"), "nodeId") == "n1" &&
               str(get_json("/api/v1/vms/a"), "powerState") == "running" &&
               str(get_json("/api/v1/vms/c"), "powerState") == "running";
      },
      10s))
      << get_json("/api/v1/vms/a").serialize() << get_json("/api/v1/vms/c").serialize();
}

/// DRS with a pass a second and demand (each VM measured 80 % busy by the stand-in).
class api_drs_restart : public api_test {
 protected:
  std::vector<std::string> server_args() const override {
    return {"--stand-in-demand", "0.8", "--drs-interval-s", "1"};
  }
  /// DRS's passes so far (/metrics).
  double passes() {
    const auto m = api().get("/metrics").body;
    const std::string name = "\nqvdc_drs_passes_total ";
    const auto at = m.find(name);
    return at == std::string::npos ? -1 : std::strtod(m.c_str() + at + name.size(), nullptr);
  }
  std::vector<std::string> pending_ids() {
    std::vector<std::string> out;
    for (const auto& r : items(api().get("/api/v1/clusters/c1/drs/recommendations")))
      out.push_back(str(r, "id"));
    std::sort(out.begin(), out.end());
    return out;
  }
};

// A restart of `qvdc serve` resumes DRS from the log: the recommendations waiting for an
// operator are the same ones, and can still be applied.
TEST_F(api_drs_restart, pending_recommendations_survive_a_server_restart) {
  ASSERT_EQ(api()
                .post("/api/v1/clusters",
                      R"({"id":"c1","name":"c1","drs":{"enabled":true,"automation":"manual",)"
                      R"("migrationThreshold":4,"holdSeconds":1}})")
                .status,
            201u);
  for (const auto* n : {"n1", "n2", "n3"}) {
    register_node(n);
    ASSERT_EQ(api().post(std::string{"/api/v1/clusters/c1/nodes/"} + n, "{}").status, 200u);
  }
  for (int i = 0; i < 12; ++i) {
    const auto id = "v" + std::to_string(i);
    create_vm(id);
    start_vm(id, "n1");
  }
  // Settled: the same recommendations across a pass (the first passes may see part of the
  // demand and supersede what they recommended).
  std::vector<std::string> before;
  ASSERT_TRUE(eventually(
      [&] {
        before = pending_ids();
        const auto seen = passes();
        return !before.empty() && eventually([&] { return passes() > seen + 1; }, 5s) &&
               pending_ids() == before;
      },
      30s))
      << show(api().get("/api/v1/clusters/c1/drs"));
  restart(SIGKILL);
  ASSERT_TRUE(eventually(
      [&] { return api().get("/api/v1/clusters/c1/drs").json().at("live").as_bool(); }, 15s));
  const auto after = pending_ids();
  for (const auto& id : before)
    EXPECT_NE(std::find(after.begin(), after.end(), id), after.end())
        << id << " was pending before the restart and is gone after it";
  const auto r =
      api().post("/api/v1/clusters/c1/drs/recommendations/" + before.front() + "/apply", "{}");
  EXPECT_EQ(r.status, 200u) << show(r);
}

} // namespace
} // namespace qx::test
