// Replay as an auditor uses it: while the API runs, every body a GET showed (with the log
// position it reflects, X-Log-Position) is rebuilt exactly by `GET …?asOf=<position>` (or as_of)
// and by `qvdc replay --until <position>` (a separate process on the same data directory), for one
// object and for the whole datacenter; a time bound gives the state after the last event
// at or before it. Bad bounds are refused with the field at fault.
#include "api_fixture.hpp"
#include "shell_command.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace qx::test {
namespace {

using njson = nlohmann::json;

/// What the API showed once: a body and the log position it reflects.
struct sighting {
  std::uint64_t position = 0;
  njson body;
};

class api_replay : public api_test {
 protected:
  sighting look(const std::string& target) {
    const auto r = api().get(target);
    EXPECT_EQ(r.status, 200U) << target << ": " << show(r);
    EXPECT_FALSE(r.header("X-Log-Position").empty()) << target;
    return {std::stoull("0" + r.header("X-Log-Position")), njson::parse(r.body)};
  }

  shell_result replay(const std::string& args) {
    return run_shell(std::string{QX_QVDC_PATH} + " replay --data-dir " + dir_.sub("data") + " " +
                     args + " 2>/dev/null");
  }

  njson replay_json(const std::string& args) {
    const auto r = replay(args);
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.out;
    return r.exit_code == 0 ? njson::parse(r.out) : njson{};
  }
};

TEST_F(api_replay, as_of_and_qvdc_replay_rebuild_every_state_the_api_showed) {
  register_node("n1");
  std::vector<sighting> vm_states;
  std::vector<sighting> vm_lists;
  auto saw = [&] {
    vm_states.push_back(look("/api/v1/vms/web"));
    vm_lists.push_back(look("/api/v1/vms?limit=1000"));
  };
  create_vm("web");
  saw();
  start_vm("web", "n1");
  saw();
  create_vm("db", 4, 4096);
  saw();
  ASSERT_EQ(api().post("/api/v1/vms/web/stop").status, 200U);
  ASSERT_TRUE(wait_field("/api/v1/vms/web", "powerState", "stopped"));
  saw();
  ASSERT_EQ(api().del("/api/v1/vms/db").status, 200U);
  saw();

  for (const auto& s : vm_states) {
    const auto p = std::to_string(s.position);
    SCOPED_TRACE("vm web at position " + p);
    const auto as_of = look("/api/v1/vms/web?asOf=" + p);
    EXPECT_EQ(as_of.body, s.body);
    EXPECT_EQ(as_of.position, s.position);
    const auto one = replay_json("--until " + p + " --stream vm-web");
    EXPECT_EQ(one["resource"], s.body);
    EXPECT_TRUE(one["exists"].get<bool>());
    EXPECT_EQ(one["position"].get<std::uint64_t>(), s.position);
  }
  for (const auto& s : vm_lists) {
    const auto p = std::to_string(s.position);
    SCOPED_TRACE("vm list at position " + p);
    const auto all = replay_json("--until " + p);
    EXPECT_EQ(all["resources"]["vm"], s.body["items"]);
    EXPECT_EQ(all["position"].get<std::uint64_t>(), s.position);
  }
  // The states differ from one another: the comparisons above were not of one state.
  EXPECT_NE(vm_states.front().body, vm_states.back().body);
  EXPECT_NE(vm_lists[2].body["items"], vm_lists[4].body["items"]);

  // db before it was created, and after its deletion: absent from reads, kept in the replay.
  const auto before = std::to_string(vm_states.front().position);
  EXPECT_TRUE(is_error(api().get("/api/v1/vms/db?as_of=" + before), 404, "NOT_FOUND"));
  const auto gone =
      replay_json("--until " + std::to_string(vm_lists.back().position) + " --stream vm-db");
  EXPECT_FALSE(gone["exists"].get<bool>());
  EXPECT_EQ(gone["resource"]["powerState"], "deleted");
  EXPECT_TRUE(replay_json("--until " + before + " --stream vm-db")["resource"].is_null());
}

TEST_F(api_replay, a_time_bound_gives_the_state_after_the_last_event_at_or_before_it) {
  create_vm("t1");
  create_vm("t2");
  const auto events = api().get("/api/v1/events?limit=1000");
  ASSERT_EQ(events.status, 200U);
  const auto list = njson::parse(events.body)["items"];
  ASSERT_GE(list.size(), 2U);
  // The first VM's creation: its time must select exactly the state at its position.
  std::string time;
  std::uint64_t position = 0;
  for (const auto& e : list)
    if (e["stream"] == "vm-t1") {
      time = e["time"].get<std::string>();
      position = e["position"].get<std::uint64_t>();
      break;
    }
  ASSERT_FALSE(time.empty());
  const auto by_time = replay_json("--until " + time);
  const auto by_position = replay_json("--until " + std::to_string(position));
  EXPECT_EQ(by_time["resources"], by_position["resources"]);
  EXPECT_EQ(by_time["position"], by_position["position"]);
  ASSERT_EQ(by_time["resources"]["vm"].size(), 1U);

  const auto r = api().get("/api/v1/vms/t1?as_of=" + time);
  ASSERT_EQ(r.status, 200U) << show(r);
  EXPECT_EQ(njson::parse(r.body)["id"], "t1");
  EXPECT_TRUE(is_error(api().get("/api/v1/vms/t1?as_of=2000-01-01T00:00:00Z"), 404, "NOT_FOUND"));
}

TEST_F(api_replay, get_datacenter_as_of_shows_what_every_list_showed_then) {
  std::vector<sighting> lists;
  create_vm("early");
  lists.push_back(look("/api/v1/vms?limit=1000"));
  create_vm("late");
  lists.push_back(look("/api/v1/vms?limit=1000"));
  ASSERT_EQ(api().del("/api/v1/vms/early").status, 200U);
  lists.push_back(look("/api/v1/vms?limit=1000"));
  for (const auto& s : lists) {
    const auto p = std::to_string(s.position);
    SCOPED_TRACE("datacenter at " + p);
    const auto then = look("/api/v1/datacenter?asOf=" + p);
    EXPECT_EQ(then.body["resources"]["vm"], s.body["items"]);
    EXPECT_EQ(then.position, s.position);
    EXPECT_EQ(then.body["position"].get<std::uint64_t>(), s.position);
    auto by_cli = replay_json("--until " + p)["resources"]; // `qvdc replay`, users and all
    by_cli.erase("user");
    by_cli.erase("role");
    EXPECT_EQ(then.body["resources"], by_cli);
    EXPECT_FALSE(then.body["resources"].contains("user"));
    EXPECT_FALSE(then.body["resources"].contains("role"));
  }
  // The deleted VM is shown as it was before its deletion, and is gone after.
  EXPECT_EQ(lists[1].body["items"].size(), 2U);
  EXPECT_EQ(lists[2].body["items"].size(), 1U);
  EXPECT_TRUE(is_error(api().get("/api/v1/datacenter"), 400, "INVALID_ARGUMENT", "asOf"));
  EXPECT_TRUE(
      is_error(api().get("/api/v1/datacenter?asOf=99999999"), 400, "INVALID_ARGUMENT", "asOf"));
  EXPECT_TRUE(is_error(api().get("/api/v1/datacenter?asOf=soon"), 400, "INVALID_ARGUMENT", "asOf"));
}

TEST_F(api_replay, bad_bounds_are_refused_with_the_field_at_fault) {
  create_vm("b1");
  const std::vector<std::string> bounds = {"",
                                           "0",
                                           "-1",
                                           "1e3",
                                           "abc",
                                           "99999999999",
                                           "184467440737095516160",
                                           "2026-13-01T00:00:00Z",
                                           std::string(2'000, '7'),
                                           "1%00",
                                           "%27%20OR%201%3D1"};
  for (const auto& bad : bounds) {
    SCOPED_TRACE("as_of=" + bad);
    // A NUL is refused at the border, before any route, naming the query parameter as sent.
    const auto field = bad == "1%00" ? "query.as_of" : "asOf";
    EXPECT_TRUE(is_error(api().get("/api/v1/vms/b1?as_of=" + bad), 400, "INVALID_ARGUMENT", field));
  }
  EXPECT_TRUE(is_error(api().get("/api/v1/vms?asOf=1"), 400, "INVALID_ARGUMENT", "asOf"));

  EXPECT_EQ(replay("--until 99999999").exit_code, 2);
  EXPECT_EQ(replay("--until yesterday").exit_code, 2);
  EXPECT_EQ(replay("").exit_code, 2); // --until is required
  EXPECT_EQ(replay("--until 1 --stream audit").exit_code, 2);
  EXPECT_EQ(run_shell(std::string{QX_QVDC_PATH} + " replay --until 1 --data-dir " +
                      dir_.sub("missing") + " 2>/dev/null")
                .exit_code,
            2);
  // A stream of a known kind that never had an event: nothing existed.
  const auto none = replay_json("--until 1 --stream vm-never");
  EXPECT_FALSE(none["exists"].get<bool>());
  EXPECT_TRUE(none["resource"].is_null());
}

} // namespace
} // namespace qx::test
