// Scenario files: a full one reads back as written; every malformed, oversized or hostile one
// is refused with the field at fault, and nothing is returned half read.
#include <qx/sim/scenario.hpp>
#include <qx/sim/workload.hpp>

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace qx::sim {
namespace {

using namespace std::chrono_literals;

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream{p} << text;
}

const std::string full = R"(
name: host failure with restart by priority
duration: 2h
drs_interval: 5m
clusters:
  - id: c1
    drs: {enabled: true, automation: manual, threshold: 4, placement: pack, max_moves: 3,
          max_per_host: 1, max_per_cluster: 4, hold: 15m, min_gain: 0.05, fail_back: false,
          migration_gib_per_s: 2.5, cpu_overcommit: 2}
    ha: {enabled: true, admission: percentage, reserved_percent: 30, shutdown_policy: migrate}
hosts:
  - {id: h1, cluster: c1, cpus: 32, memory_mib: 262144, pools: [shared]}
  - {id: h2, cluster: c1, cpus: 32, memory_mib: 262144, pools: [shared]}
vms:
  - id: db1
    cluster: c1
    host: h1
    vcpus: 4
    memory_mib: 16384
    priority: 2
    workload: {type: diurnal, cpu: 0.4, amplitude: 0.3, peak_hour: 15}
  - {id: web1, cluster: c1, vcpus: 2, memory_mib: 4096, workload: {type: trace, path: traces/web1.csv}}
  - {id: batch, cluster: c1, state: stopped, vcpus: 8, memory_mib: 8192, ha_protected: false}
rules:
  - {name: apart, kind: keep_apart, vms: [db1, web1]}
  - {name: pin, kind: must_run_on, vms: [batch], hosts: [h2]}
timeline:
  - {at: 30m, action: host_power_off, target: h1}
  - {at: 10m, action: add_vm, vm: {id: late, cluster: c1, vcpus: 1, memory_mib: 1024}}
  - {at: 20m, action: vm_stop, target: late}
  - {at: 40m, action: slow_libvirt, target: h2, duration: 2s}
)";

class scenarios : public ::testing::Test {
 protected:
  void SetUp() override {
    write(dir_.path() / "traces/web1.csv", "0,1,2048\n60,2,2048\n");
    std::filesystem::create_directory_symlink("/etc", dir_.path() / "out");
  }

  result<scenario> parse(const std::string& text, const scenario_limits& l = {}) {
    return parse_scenario(text, dir_.path(), l);
  }

  /// The text refused, naming `field`.
  ::testing::AssertionResult refused(const std::string& text, const std::string& field,
                                     const scenario_limits& l = {}) {
    const auto r = parse(text, l);
    if (r)
      return ::testing::AssertionFailure() << "accepted:\n" << text;
    const auto& e = r.error();
    const auto it = e.details.find("field");
    if (it == e.details.end() || it->second != field)
      return ::testing::AssertionFailure()
             << "field " << (it == e.details.end() ? "(none)" : it->second) << ", wanted " << field
             << ": " << e.message;
    return ::testing::AssertionSuccess() << e.message;
  }

  test::temp_dir dir_;
};

TEST_F(scenarios, a_full_scenario_reads_back_as_written) {
  const auto r = parse(full);
  ASSERT_TRUE(r) << r.error().message;
  const auto& s = *r;
  EXPECT_EQ(s.name, "host failure with restart by priority");
  EXPECT_EQ(s.duration, 2h);
  EXPECT_EQ(s.drs_interval, 5min);
  ASSERT_EQ(s.clusters.size(), 1u);
  EXPECT_EQ(s.clusters[0].drs.automation, "manual");
  EXPECT_EQ(s.clusters[0].drs.threshold, 4u);
  EXPECT_EQ(s.clusters[0].drs.placement, "pack");
  EXPECT_EQ(s.clusters[0].drs.max_moves, 3u);
  EXPECT_EQ(s.clusters[0].drs.max_per_host, 1u);
  EXPECT_EQ(s.clusters[0].drs.max_per_cluster, 4u);
  EXPECT_EQ(s.clusters[0].drs.hold, std::optional<sim_duration>{15min});
  EXPECT_DOUBLE_EQ(s.clusters[0].drs.min_gain, 0.05);
  EXPECT_FALSE(s.clusters[0].drs.fail_back);
  EXPECT_EQ(s.clusters[0].drs.migration_gib_per_s, std::optional<double>{2.5});
  EXPECT_EQ(s.clusters[0].drs.cpu_overcommit, std::optional<double>{2.0});
  EXPECT_EQ(s.clusters[0].ha.admission, "percentage");
  EXPECT_EQ(s.clusters[0].ha.reserved_percent, 30u);
  EXPECT_EQ(s.clusters[0].ha.shutdown_policy, "migrate");
  ASSERT_EQ(s.hosts.size(), 2u);
  EXPECT_EQ(s.hosts[1].memory_mib, 262144u);
  EXPECT_EQ(s.hosts[1].pools, std::vector<std::string>{"shared"});
  ASSERT_EQ(s.vms.size(), 3u);
  EXPECT_EQ(s.vms[0].priority, 2);
  EXPECT_EQ(s.vms[0].host, "h1");
  EXPECT_EQ(s.vms[0].workload.type, "diurnal");
  EXPECT_DOUBLE_EQ(s.vms[0].workload.peak_hour, 15);
  EXPECT_EQ(s.vms[1].workload.path,
            std::filesystem::weakly_canonical(dir_.path() / "traces/web1.csv"));
  EXPECT_FALSE(s.vms[2].ha_protected);
  EXPECT_EQ(s.vms[0].state, "running") << "the default";
  EXPECT_EQ(s.vms[2].state, "stopped");
  ASSERT_EQ(s.rules.size(), 2u);
  EXPECT_EQ(s.rules[1].hosts, std::vector<std::string>{"h2"});
  // The timeline comes out in time order.
  ASSERT_EQ(s.timeline.size(), 4u);
  EXPECT_EQ(s.timeline[0].action, "add_vm");
  ASSERT_TRUE(s.timeline[0].vm);
  EXPECT_EQ(s.timeline[0].vm->id, "late");
  EXPECT_EQ(s.timeline[1].action, "vm_stop");
  EXPECT_EQ(s.timeline[2].at, 30min);
  EXPECT_EQ(s.timeline[3].duration, 2s);
  // load_scenario reads the same file from disk, resolving paths against its folder.
  write(dir_.path() / "s.yaml", full);
  const auto loaded = load_scenario(dir_.path() / "s.yaml");
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->vms.size(), 3u);
}

TEST_F(scenarios, durations) {
  EXPECT_EQ(parse_duration("250ms"), sim_duration{250});
  EXPECT_EQ(parse_duration("90s"), sim_duration{90'000});
  EXPECT_EQ(parse_duration("5m"), sim_duration{300'000});
  EXPECT_EQ(parse_duration("2h"), sim_duration{7'200'000});
  EXPECT_EQ(parse_duration("1d"), sim_duration{86'400'000});
  for (const auto* bad : {"", "5", "m", "-1s", "1.5h", "5min", " 5m", "5m ",
                          "99999999999999999999d", "9223372036854775807d"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST_F(scenarios, hostile_and_malformed_files_name_the_field_at_fault) {
  const std::string base = "duration: 1h\nclusters: [{id: c1}]\n"
                           "hosts: [{id: h1, cluster: c1, cpus: 8, memory_mib: 8192}]\n";
  const auto vm = [](const std::string& extra) {
    return "vms: [{id: v1, cluster: c1, vcpus: 1, memory_mib: 512" + extra + "}]\n";
  };
  struct bad {
    std::string text;
    std::string field;
  };
  const std::vector<bad> cases = {
      {"duration: 1h\nowner: root\n", "owner"},
      {"duration: 1h\nclusters: [{id: c1, drs: {placement: tight}}]\n",
       "clusters[0].drs.placement"},
      {"duration: 1h\nclusters: [{id: c1, drs: {max_moves: 0}}]\n", "clusters[0].drs.max_moves"},
      {"duration: 1h\nclusters: [{id: c1, drs: {hold: 0s}}]\n", "clusters[0].drs.hold"},
      {"duration: 1h\nclusters: [{id: c1, drs: {min_gain: 0}}]\n", "clusters[0].drs.min_gain"},
      {"duration: 1h\nclusters: [{id: c1, drs: {min_gain: nan}}]\n", "clusters[0].drs.min_gain"},
      {"duration: 1h\nclusters: [{id: c1, drs: {cpu_overcommit: 0.5}}]\n",
       "clusters[0].drs.cpu_overcommit"},
      {"duration: 1h\nclusters: [{id: c1, drs: {migration_gib_per_s: 0}}]\n",
       "clusters[0].drs.migration_gib_per_s"},
      {"duration: 1h\nclusters: [{id: c1, drs: {fail_back: maybe}}]\n",
       "clusters[0].drs.fail_back"},
      {"duration: 1h\nclusters: [{id: c}]\nhosts: [{id: h1, cluster: c, cpus: 4, memory_mib: "
       "1024}]\n"
       "vms: [{id: v1, cluster: c, vcpus: 1, memory_mib: 512}]\n"
       "rules: [{name: r, kind: should_run_on, vms: [v1], hosts: [h1], priorities: {h2: 1}}]\n",
       "rules[0].priorities.h2"},
      {"duration: 1h\nclusters: [{id: c}]\nhosts: [{id: h1, cluster: c, cpus: 4, memory_mib: "
       "1024}]\n"
       "vms: [{id: v1, cluster: c, vcpus: 1, memory_mib: 512}]\n"
       "rules: [{name: r, kind: should_run_on, vms: [v1], hosts: [h1], priorities: {h1: 101}}]\n",
       "rules[0].priorities.h1"},
      {"duration: 1h\nclusters: [{id: c}]\nhosts: [{id: h1, cluster: c, cpus: 4, memory_mib: "
       "1024}]\n"
       "vms: [{id: v1, cluster: c, vcpus: 1, memory_mib: 512}, {id: v2, cluster: c, vcpus: 1, "
       "memory_mib: 512}]\n"
       "rules: [{name: r, kind: keep_apart, vms: [v1, v2], priorities: {h1: 1}}]\n",
       "rules[0].priorities"},
      {"hosts: []\n", "duration"},
      {"duration: soon\n", "duration"},
      {"duration: 0s\n", "duration"},
      {"duration: 400d\n", "duration"},
      {"duration: 1h\nhosts: {id: h1}\n", "hosts"},
      {"duration: 1h\nhosts: [{id: h1, cpus: 8}]\n", "hosts[0].memory_mib"},
      {"duration: 1h\nhosts: [{id: h1, cpus: 0, memory_mib: 8192}]\n", "hosts[0].cpus"},
      {"duration: 1h\nhosts: [{id: h1, cpus: many, memory_mib: 8192}]\n", "hosts[0].cpus"},
      {"duration: 1h\nhosts: [{id: h1, cpus: [8], memory_mib: 8192}]\n", "hosts[0].cpus"},
      {"duration: 1h\nhosts: [{id: h1, cpus: 99999999999999999999, memory_mib: 8192}]\n",
       "hosts[0].cpus"},
      {"duration: 1h\nhosts: [{id: ../h1, cpus: 8, memory_mib: 8192}]\n", "hosts[0].id"},
      {"duration: 1h\nhosts: [{id: 'a b', cpus: 8, memory_mib: 8192}]\n", "hosts[0].id"},
      {"duration: 1h\nhosts: [{id: h1, cpus: 8, memory_mib: 8192}, {id: h1, cpus: 8, "
       "memory_mib: 8192}]\n",
       "hosts[1].id"},
      {"duration: 1h\nhosts: [{id: h1, cluster: nope, cpus: 8, memory_mib: 8192}]\n",
       "hosts[0].cluster"},
      {base + vm(", cluster: c2"), "vms[0].cluster"}, // a key twice
      {base + "vms: [{id: v1, cluster: c9, vcpus: 1, memory_mib: 512}]\n", "vms[0].cluster"},
      {"duration: 1h\nclusters: [{id: c1}, {id: c2}]\nhosts: [{id: h1, cluster: c2, cpus: 8, "
       "memory_mib: 8192}]\nvms: [{id: v1, cluster: c1, host: h1, vcpus: 1, memory_mib: 512}]\n",
       "vms[0].host"},
      {base + vm(", priority: 3"), "vms[0].priority"},
      {base + vm(", state: paused"), "vms[0].state"},
      {base + vm(", state: [stopped]"), "vms[0].state"},
      {base + vm("") +
           "timeline: [{at: 5m, action: add_vm, vm: {id: v2, cluster: c1, vcpus: 1, "
           "memory_mib: 512, state: off}}]\n",
       "timeline[0].vm.state"},
      {base + vm(", workload: {type: chaos}"), "vms[0].workload.type"},
      {base + vm(", workload: {type: constant, cpu: 1.5}"), "vms[0].workload.cpu"},
      {base + vm(", workload: {type: constant, cpu: nan}"), "vms[0].workload.cpu"},
      {base + vm(", workload: {type: spikes, every: 5m, length: 10m}"), "vms[0].workload.length"},
      {base + vm(", workload: {type: trace}"), "vms[0].workload.path"},
      {base + vm(", workload: {type: trace, path: ../../../etc/passwd}"), "vms[0].workload.path"},
      {base + vm(", workload: {type: trace, path: /etc/passwd}"), "vms[0].workload.path"},
      {base + vm(", workload: {type: trace, path: out/passwd}"), "vms[0].workload.path"},
      {base + vm(", workload: {type: trace, path: \"traces/../../x\"}"), "vms[0].workload.path"},
      {base + vm(", workload: {type: trace, path: traces/none.csv}"), "vms[0].workload.path"},
      {base + vm(", workload: {type: folder, path: traces/web1.csv}"), "vms[0].workload.path"},
      {base + vm("") + "rules: [{name: r, kind: keep_apart, vms: [v1, ghost]}]\n",
       "rules[0].vms[1]"},
      {base + vm("") + "rules: [{name: r, kind: must_run_on, vms: [v1]}]\n", "rules[0].hosts"},
      {base + vm("") + "rules: [{name: r, kind: keep_apart, vms: [v1], hosts: [h1]}]\n",
       "rules[0].hosts"},
      {base + vm("") + "rules: [{name: r, kind: sometimes, vms: [v1]}]\n", "rules[0].kind"},
      {base + vm("") + "timeline: [{at: 5m, action: meteor, target: h1}]\n", "timeline[0].action"},
      {base + vm("") + "timeline: [{at: 5m, action: host_power_off, target: h9}]\n",
       "timeline[0].target"},
      {base + vm("") + "timeline: [{at: 2h, action: host_power_off, target: h1}]\n",
       "timeline[0].at"},
      {base + vm("") +
           "timeline: [{at: 5m, action: vm_stop, target: late}, {at: 9m, action: "
           "add_vm, vm: {id: late, cluster: c1, vcpus: 1, memory_mib: 512}}]\n",
       "timeline[0].target"},
      {base + vm("") +
           "timeline: [{at: 5m, action: add_vm, vm: {id: v1, cluster: c1, vcpus: 1, "
           "memory_mib: 512}}]\n",
       "timeline[0].vm.id"},
      {base + vm("") + "timeline: [{at: 5m, action: add_vm}]\n", "timeline[0].vm"},
      {base + vm("") + "timeline: [{at: 5m, action: fail_libvirt, target: h1}]\n",
       "timeline[0].duration"},
      // Not YAML, or not a scenario.
      {"duration: [1h\n", ""},
      {"just a string\n", ""},
      {"- a\n- b\n", ""},
      {std::string("duration: 1h\nname: \"\xff\xfe\"\n"), ""},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(refused(c.text, c.field)) << c.text;
  }
}

TEST_F(scenarios, limits_hold_against_oversized_and_aliased_input) {
  scenario_limits small;
  small.max_hosts = 3;
  small.max_file_bytes = 4096;
  std::string hosts = "duration: 1h\nhosts:\n";
  for (int i = 0; i < 4; ++i)
    hosts += "  - {id: h" + std::to_string(i) + ", cpus: 1, memory_mib: 512}\n";
  EXPECT_TRUE(refused(hosts, "hosts", small));
  const auto huge = parse("duration: 1h\nname: " + std::string(5000, 'x') + "\n", small);
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, errc::too_large);
  // Aliases that would multiply a list (a "billion laughs") are read as references, and the
  // lists that matter are counted before they are walked.
  std::string laughs = "duration: 1h\na: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    laughs += std::string{c} + ": &" + c + " [";
    for (int i = 0; i < 10; ++i)
      laughs += std::string{i > 0 ? ", " : ""} + "*" + prev;
    laughs += "]\n";
    prev = c;
  }
  EXPECT_TRUE(refused(laughs, "a"));
  EXPECT_TRUE(refused("duration: 1h\nhosts: &h [*h]\n", "hosts[0]"));
  // Deep nesting is refused, not recursed into.
  EXPECT_TRUE(
      refused("duration: 1h\nname: " + std::string(2000, '[') + std::string(2000, ']') + "\n", ""));
  // A file too large is refused before it is read.
  write(dir_.path() / "big.yaml", std::string(8192, '#'));
  const auto big = load_scenario(dir_.path() / "big.yaml", small);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, errc::too_large);
  EXPECT_FALSE(load_scenario(dir_.path() / "missing.yaml"));
}

// A folder workload plays the file named after the VM; a symlink there that leads out of the
// scenario's folder is refused, as any path leaving it is.
TEST_F(scenarios, a_folder_file_that_leads_out_of_the_scenario_folder_is_refused) {
  const std::string text = "duration: 1h\nclusters: [{id: c1}]\n"
                           "hosts: [{id: h1, cluster: c1, cpus: 8, memory_mib: 8192}]\n"
                           "vms: [{id: v1, cluster: c1, vcpus: 1, memory_mib: 512, "
                           "workload: {type: folder, path: pl}}]\n";
  test::temp_dir outside;
  write(outside.path() / "secret", "50\n");
  write(dir_.path() / "pl/readme", "not a trace\n");
  std::filesystem::create_symlink(outside.path() / "secret", dir_.path() / "pl/v1");
  EXPECT_TRUE(refused(text, "vms[0].workload.path"));

  // A symlink to a file elsewhere inside the scenario's folder is followed.
  write(dir_.path() / "shared/v1-cpu", "50\n");
  std::filesystem::remove(dir_.path() / "pl/v1");
  std::filesystem::create_symlink(dir_.path() / "shared/v1-cpu", dir_.path() / "pl/v1");
  const auto r = parse(text);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->vms[0].workload.file,
            std::filesystem::weakly_canonical(dir_.path() / "shared/v1-cpu"));

  // No file for the VM is refused when the scenario is read, not when it runs.
  std::filesystem::remove(dir_.path() / "pl/v1");
  EXPECT_TRUE(refused(text, "vms[0].workload.path"));
}

/// A scenario of VMs v1..vN (N = `vms`) each with the folder workload `workload` (YAML flow
/// mapping body, after `type: folder, path: pl`).
std::string folder_scenario(int vms, const std::string& workload) {
  std::string text = "duration: 1h\nclusters: [{id: c1}]\n"
                     "hosts: [{id: h1, cluster: c1, cpus: 8, memory_mib: 8192}]\nvms:\n";
  for (int i = 1; i <= vms; ++i)
    text += "  - {id: v" + std::to_string(i) +
            ", cluster: c1, vcpus: 1, memory_mib: 512, workload: {type: folder, path: pl" +
            workload + "}}\n";
  return text;
}

/// The CPU demand VM `i` of `s` starts with: which file it plays.
double first_cpu(const scenario& s, std::size_t i) {
  auto w = workload::make(s.vms[i].workload, s.vms[i], 1);
  EXPECT_TRUE(w) << w.error().message;
  return w ? w->at(std::chrono::milliseconds{0}).cpu : -1;
}

// PlanetLab's file names are no VM ids: a folder's files can be taken in order of their names.
TEST_F(scenarios, a_folder_matched_by_order_gives_the_ith_vm_the_ith_file) {
  write(dir_.path() / "pl/b 2011 node", "20\n");
  write(dir_.path() / "pl/a 2011 node", "10\n");
  write(dir_.path() / "pl/.DS_Store", "junk\n");
  write(dir_.path() / "pl/sub/c", "30\n"); // a folder is no file
  const auto r = parse(folder_scenario(2, ", match: order"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->vms[0].workload.file.filename(), "a 2011 node");
  EXPECT_EQ(r->vms[1].workload.file.filename(), "b 2011 node");
  EXPECT_DOUBLE_EQ(first_cpu(*r, 0), 0.1);
  EXPECT_DOUBLE_EQ(first_cpu(*r, 1), 0.2);
  // More VMs than files: the first VM without one is named.
  EXPECT_TRUE(refused(folder_scenario(3, ", match: order"), "vms[2].workload.path"));
  // A file that is a symlink out of the scenario's folder is refused, in order as by name.
  test::temp_dir outside;
  write(outside.path() / "secret", "50\n");
  std::filesystem::create_symlink(outside.path() / "secret", dir_.path() / "pl/0 first");
  EXPECT_TRUE(refused(folder_scenario(2, ", match: order"), "vms[0].workload.path"));
}

TEST_F(scenarios, a_folder_matched_by_a_mapping_file_gives_each_vm_its_named_file) {
  write(dir_.path() / "pl/a 2011 node", "10\n");
  write(dir_.path() / "pl/b 2011 node", "20\n");
  const auto mapped = [&](const std::string& csv) {
    write(dir_.path() / "map.csv", csv);
    return folder_scenario(2, ", match: mapping, mapping: map.csv");
  };
  const auto r =
      parse(mapped("file,vm\r\n# PlanetLab, 3 March\nb 2011 node,v1\n\na 2011 node,v2\n"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->vms[0].workload.file.filename(), "b 2011 node");
  EXPECT_DOUBLE_EQ(first_cpu(*r, 0), 0.2);
  EXPECT_DOUBLE_EQ(first_cpu(*r, 1), 0.1);

  test::temp_dir outside;
  write(outside.path() / "secret", "50\n");
  std::filesystem::create_symlink(outside.path() / "secret", dir_.path() / "pl/link");
  const std::string field = "vms[0].workload.mapping";
  struct bad {
    std::string csv;
    std::string field;
    std::string line;
  };
  for (const auto& b : std::vector<bad>{
           {"a 2011 node,v1\nmissing,v2\n", "vms[1].workload.mapping", ""},
           {"a 2011 node,v1\nb 2011 node,ghost\n", field, "2"},
           {"a 2011 node,v1\na 2011 node,v2\n", field, "2"},
           {"a 2011 node,v1\nb 2011 node,v1\n", field, "2"},
           {"a 2011 node,v1\n../map.csv,v2\n", field, "2"},
           {"a 2011 node,v1\n/etc/passwd,v2\n", field, "2"},
           {"a 2011 node,v1\nlink,v2\n", "vms[1].workload.mapping", ""},
           {"a 2011 node,v1\n", "vms[1].workload.mapping", ""},
           {"a 2011 node v1\n", field, "1"},
       }) {
    const auto got = parse(mapped(b.csv));
    EXPECT_FALSE(got) << "accepted: " << b.csv;
    if (got)
      continue;
    EXPECT_EQ(got.error().details.at("field"), b.field) << b.csv << ": " << got.error().message;
    if (!b.line.empty()) {
      EXPECT_EQ(got.error().details.at("line"), b.line) << b.csv << ": " << got.error().message;
    }
  }
  // A line naming a VM of the scenario that takes no files by this mapping.
  write(dir_.path() / "map.csv", "a 2011 node,v1\nb 2011 node,v2\n");
  EXPECT_TRUE(refused(folder_scenario(1, ", match: mapping, mapping: map.csv") +
                          "  - {id: v2, cluster: c1, vcpus: 1, memory_mib: 512}\n",
                      field));
  // The keys themselves.
  EXPECT_TRUE(refused(folder_scenario(1, ", match: mapping"), field));
  EXPECT_TRUE(refused(folder_scenario(1, ", mapping: map.csv"), field));
  EXPECT_TRUE(refused(folder_scenario(1, ", match: mapping, mapping: ../map.csv"), field));
  EXPECT_TRUE(refused(folder_scenario(1, ", match: mapping, mapping: pl"), field));
  EXPECT_TRUE(refused(folder_scenario(1, ", match: sideways"), "vms[0].workload.match"));
  EXPECT_TRUE(refused("duration: 1h\nclusters: [{id: c1}]\nvms: [{id: v1, cluster: c1, vcpus: 1, "
                      "memory_mib: 512, workload: {type: constant, match: order}}]\n",
                      "vms[0].workload.match"));
}

// The scenario library under sim/scenarios reads without error.
TEST(scenario_library, every_shipped_scenario_reads) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator{QX_SOURCE_DIR "/sim/scenarios"}) {
    if (e.path().extension() != ".yaml")
      continue;
    const auto r = load_scenario(e.path());
    EXPECT_TRUE(r) << e.path() << ": " << (r ? "" : r.error().message);
    ++n;
  }
  EXPECT_GE(n, 2u);
}

} // namespace
} // namespace qx::sim

namespace {

TEST(scenario_rules, a_should_run_on_rule_reads_its_host_priorities) {
  const auto s = qx::sim::parse_scenario(
      "duration: 1h\nclusters: [{id: c}]\nhosts: [{id: h1, cluster: c, cpus: 4, memory_mib: 1024}, "
      "{id: h2, cluster: c, cpus: 4, memory_mib: 1024}]\nvms: [{id: v1, cluster: c, vcpus: 1, "
      "memory_mib: 512}]\nrules: "
      "[{name: home, kind: should_run_on, vms: [v1], "
      "hosts: [h1, h2], priorities: {h1: 10}}]\n",
      std::filesystem::temp_directory_path());
  ASSERT_TRUE(s) << s.error().to_string();
  ASSERT_EQ(s->rules.size(), 1U);
  EXPECT_EQ(s->rules[0].priorities, (std::map<std::string, std::int32_t>{{"h1", 10}}));
}

} // namespace
