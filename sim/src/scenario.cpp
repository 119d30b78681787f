#include "qx/sim/scenario.hpp"

#include "qx/events/mapping_keys.hpp"
#include "qx/events/utf8.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace qx::sim {

namespace {

namespace fs = std::filesystem;

/// A refusal of the field at `path`. Thrown inside this file only (parse_scenario turns it
/// into an error value), so that the readers below stay straight-line.
struct refusal {
  std::string path;
  std::string message;
};

[[noreturn]] void refuse(const std::string& path, std::string message) {
  throw refusal{path, std::move(message)};
}

std::string at(const std::string& path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}

std::string at(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

void expect_map(const YAML::Node& n, const std::string& path,
                std::initializer_list<std::string_view> keys) {
  if (!n.IsMap())
    refuse(path, "must be a mapping");
  key_set seen{keys};
  for (const auto& kv : n) {
    if (!kv.first.IsScalar())
      refuse(path, "keys must be plain names");
    const auto& key = kv.first.Scalar();
    if (auto why = seen.add(key))
      refuse(at(path, key), std::move(*why));
  }
}

const YAML::Node* child(const YAML::Node& n, std::string_view key, std::vector<YAML::Node>& keep) {
  keep.push_back(n[std::string{key}]);
  return keep.back().IsDefined() && !keep.back().IsNull() ? &keep.back() : nullptr;
}

std::string scalar(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar())
    refuse(path, "must be a single value");
  return n.Scalar();
}

void read(const YAML::Node& n, std::string_view key, const std::string& path, std::string& out,
          bool required, std::size_t max_len = 256) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr) {
    if (required)
      refuse(at(path, key), "is required");
    return;
  }
  out = scalar(*v, at(path, key));
  if (out.size() > max_len)
    refuse(at(path, key), "is longer than " + std::to_string(max_len) + " characters");
}

template<class Int>
void read(const YAML::Node& n, std::string_view key, const std::string& path, Int& out,
          bool required, Int min, Int max) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr) {
    if (required)
      refuse(at(path, key), "is required");
    return;
  }
  const auto text = scalar(*v, at(path, key));
  Int value{};
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size() || value < min ||
      value > max)
    refuse(at(path, key),
           "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  out = value;
}

void read(const YAML::Node& n, std::string_view key, const std::string& path, double& out,
          double min, double max) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr)
    return;
  const auto text = scalar(*v, at(path, key));
  double value = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size() ||
      !std::isfinite(value) || value < min || value > max) {
    std::ostringstream range;
    range << "must be a number from " << min << " to " << max;
    refuse(at(path, key), range.str());
  }
  out = value;
}

void read(const YAML::Node& n, std::string_view key, const std::string& path, bool& out) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr)
    return;
  const auto text = scalar(*v, at(path, key));
  if (text == "true")
    out = true;
  else if (text == "false")
    out = false;
  else
    refuse(at(path, key), "must be true or false");
}

void read(const YAML::Node& n, std::string_view key, const std::string& path, sim_duration& out,
          bool required, sim_duration max) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr) {
    if (required)
      refuse(at(path, key), "is required");
    return;
  }
  const auto d = parse_duration(scalar(*v, at(path, key)));
  if (!d || *d > max)
    refuse(at(path, key), "must be a duration such as 90s, 5m, 2h or 1d, at most " +
                              std::to_string(max.count() / 1000) + "s");
  out = *d;
}

void read_list(const YAML::Node& n, std::string_view key, const std::string& path,
               std::vector<std::string>& out, std::size_t max) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr)
    return;
  if (!v->IsSequence())
    refuse(at(path, key), "must be a list");
  if (v->size() > max)
    refuse(at(path, key), "holds more than " + std::to_string(max) + " items");
  for (std::size_t i = 0; i < v->size(); ++i)
    out.push_back(scalar((*v)[i], at(at(path, key), i)));
}

void check_id(const std::string& id, const std::string& path) {
  const bool ok = !id.empty() && id.size() <= 64 && id.front() != '.' && id.front() != '-' &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                  });
  if (!ok)
    refuse(path, "must be 1 to 64 of A-Z a-z 0-9 . _ -, not starting with . or -");
}

void one_of(const std::string& value, std::initializer_list<std::string_view> allowed,
            const std::string& path) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end())
    return;
  std::string list;
  for (const auto a : allowed)
    list += (list.empty() ? "" : ", ") + std::string{a};
  refuse(path, "must be one of " + list);
}

/// The sequence at `key` (empty when absent), at most `max` items.
YAML::Node sequence(const YAML::Node& root, std::string_view key, std::size_t max) {
  const auto n = root[std::string{key}];
  if (!n.IsDefined() || n.IsNull())
    return YAML::Node{YAML::NodeType::Sequence};
  if (!n.IsSequence())
    refuse(std::string{key}, "must be a list");
  if (n.size() > max)
    refuse(std::string{key}, "holds more than " + std::to_string(max) + " items");
  return n;
}

/// `relative` resolved against `base`; refused when it leaves `base` (.., absolute paths,
/// symlinks pointing out) or does not exist as the kind wanted.
fs::path inside(const fs::path& base, const std::string& relative, bool directory,
                const std::string& path) {
  if (relative.empty() || relative.find('\0') != std::string::npos)
    refuse(path, "must be a path relative to the scenario's folder");
  std::error_code ec;
  const auto root = fs::weakly_canonical(base, ec);
  std::error_code ec2;
  auto target = fs::weakly_canonical(base / relative, ec2);
  if (ec || ec2)
    refuse(path, "cannot be resolved: " + (ec ? ec : ec2).message());
  const auto rel = target.lexically_relative(root);
  if (fs::path{relative}.is_absolute() || rel.empty() || *rel.begin() == "..")
    refuse(path, "must stay inside the scenario's folder");
  if (directory ? !fs::is_directory(target, ec) : !fs::is_regular_file(target, ec))
    refuse(path, std::string{"must name an existing "} + (directory ? "folder" : "file"));
  return target;
}

workload_spec read_workload(const YAML::Node& n, const std::string& path, const fs::path& base) {
  workload_spec w;
  expect_map(n, path,
             {"type", "cpu", "memory", "amplitude", "peak_hour", "step", "peak", "every", "length",
              "path", "interval"});
  read(n, "type", path, w.type, true, 32);
  one_of(w.type, {"constant", "diurnal", "random_walk", "spikes", "trace", "folder"},
         at(path, "type"));
  read(n, "cpu", path, w.cpu, 0.0, 1.0);
  read(n, "memory", path, w.memory, 0.0, 1.0);
  read(n, "amplitude", path, w.amplitude, 0.0, 1.0);
  read(n, "peak_hour", path, w.peak_hour, 0.0, 24.0);
  read(n, "step", path, w.step, 0.0, 1.0);
  read(n, "peak", path, w.peak, 0.0, 1.0);
  read(n, "every", path, w.every, false, std::chrono::hours{24 * 31});
  read(n, "length", path, w.length, false, std::chrono::hours{24 * 31});
  read(n, "interval", path, w.interval, false, std::chrono::hours{24});
  if (w.type == "spikes" && (w.every.count() <= 0 || w.length > w.every))
    refuse(at(path, "length"), "must be shorter than every, which must be above 0");
  if (w.type == "folder" && w.interval.count() <= 0)
    refuse(at(path, "interval"), "must be above 0");
  if (w.type == "trace" || w.type == "folder") {
    std::string p;
    read(n, "path", path, p, true, 4096);
    w.path = inside(base, p, w.type == "folder", at(path, "path"));
  }
  return w;
}

vm_spec read_vm(const YAML::Node& n, const std::string& path, const fs::path& base) {
  vm_spec v;
  expect_map(n, path,
             {"id", "cluster", "host", "vcpus", "memory_mib", "priority", "ha_protected", "pools",
              "workload"});
  read(n, "id", path, v.id, true, 64);
  check_id(v.id, at(path, "id"));
  read(n, "cluster", path, v.cluster, true, 64);
  read(n, "host", path, v.host, false, 64);
  read<std::uint32_t>(n, "vcpus", path, v.vcpus, true, 1, 256);
  read<std::uint64_t>(n, "memory_mib", path, v.memory_mib, true, 16, std::uint64_t{16} << 20U);
  read<std::int32_t>(n, "priority", path, v.priority, false, -2, 2);
  read(n, "ha_protected", path, v.ha_protected);
  read_list(n, "pools", path, v.pools, 16);
  if (const auto w = n["workload"]; w.IsDefined() && !w.IsNull())
    v.workload = read_workload(w, at(path, "workload"), base);
  return v;
}

rule_spec read_rule(const YAML::Node& n, const std::string& path) {
  rule_spec r;
  expect_map(n, path, {"name", "kind", "vms", "hosts"});
  read(n, "name", path, r.name, true, 64);
  check_id(r.name, at(path, "name"));
  read(n, "kind", path, r.kind, true, 32);
  one_of(r.kind, {"keep_together", "keep_apart", "must_run_on", "must_not_run_on", "should_run_on"},
         at(path, "kind"));
  read_list(n, "vms", path, r.vms, 10'000);
  read_list(n, "hosts", path, r.hosts, 10'000);
  if (r.vms.empty())
    refuse(at(path, "vms"), "must name at least one VM");
  const bool host_rule =
      r.kind == "must_run_on" || r.kind == "must_not_run_on" || r.kind == "should_run_on";
  if (host_rule == r.hosts.empty())
    refuse(at(path, "hosts"), host_rule ? "must name at least one host"
                                        : "is only for must_run_on, must_not_run_on and "
                                          "should_run_on");
  return r;
}

/// Checks that every name a scenario uses names something it defines.
class references {
 public:
  explicit references(const scenario& s) {
    for (const auto& c : s.clusters)
      clusters_.insert(c.id);
    for (const auto& h : s.hosts)
      hosts_[h.id] = h.cluster;
    for (const auto& v : s.vms)
      vms_.insert(v.id);
  }

  void host(const std::string& id, const std::string& path) const {
    if (!hosts_.contains(id))
      refuse(path, "names no host of the scenario: " + id);
  }
  void cluster(const std::string& id, const std::string& path) const {
    if (!clusters_.contains(id))
      refuse(path, "names no cluster of the scenario: " + id);
  }
  void vm(const std::string& id, const std::string& path) const {
    if (!vms_.contains(id))
      refuse(path, "names no VM of the scenario (or added before this step): " + id);
  }
  void add_vm(const std::string& id, const std::string& path) {
    if (!vms_.insert(id).second)
      refuse(path, "is the id of another VM");
  }
  [[nodiscard]] const std::string& cluster_of_host(const std::string& id) const {
    return hosts_.at(id);
  }

 private:
  std::set<std::string> clusters_;
  std::map<std::string, std::string> hosts_;
  std::set<std::string> vms_;
};

template<class T, class Id>
void unique_ids(const std::vector<T>& items, Id id, const std::string& what) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < items.size(); ++i)
    if (!seen.insert(id(items[i])).second)
      refuse(at(what, i) + ".id", "repeats the id " + id(items[i]));
}

void check_vm_refs(const vm_spec& v, const std::string& path, const references& refs) {
  refs.cluster(v.cluster, at(path, "cluster"));
  if (!v.host.empty()) {
    refs.host(v.host, at(path, "host"));
    if (refs.cluster_of_host(v.host) != v.cluster)
      refuse(at(path, "host"), "is not in the VM's cluster " + v.cluster);
  }
}

void check_rule_refs(const rule_spec& r, const std::string& path, const references& refs) {
  for (std::size_t i = 0; i < r.vms.size(); ++i)
    refs.vm(r.vms[i], at(at(path, "vms"), i));
  for (std::size_t i = 0; i < r.hosts.size(); ++i)
    refs.host(r.hosts[i], at(at(path, "hosts"), i));
}

step_spec read_step(const YAML::Node& n, const std::string& path, const fs::path& base,
                    const scenario_limits& limits) {
  step_spec st;
  expect_map(n, path, {"at", "action", "target", "to", "duration", "vm", "rule"});
  read(n, "at", path, st.at, true, limits.max_duration);
  read(n, "action", path, st.action, true, 32);
  const auto& actions = step_actions();
  if (std::find(actions.begin(), actions.end(), st.action) == actions.end())
    refuse(at(path, "action"), "is not a step action: " + st.action);
  read(n, "target", path, st.target, false, 64);
  read(n, "to", path, st.to, false, 64);
  read(n, "duration", path, st.duration, false, limits.max_duration);
  if (const auto v = n["vm"]; v.IsDefined() && !v.IsNull())
    st.vm = read_vm(v, at(path, "vm"), base);
  if (const auto r = n["rule"]; r.IsDefined() && !r.IsNull())
    st.rule = read_rule(r, at(path, "rule"));
  return st;
}

void check_step_refs(const step_spec& st, const std::string& path, references& refs) {
  const auto& a = st.action;
  const bool on_host = a.starts_with("host_") || a.starts_with("network_") ||
                       a == "agent_restart" || a.starts_with("maintenance_") ||
                       a == "slow_libvirt" || a == "fail_libvirt";
  const bool on_vm = a.starts_with("vm_") || a == "delete_vm";
  if (on_host)
    refs.host(st.target, at(path, "target"));
  if (on_vm)
    refs.vm(st.target, at(path, "target"));
  if (!st.to.empty())
    refs.host(st.to, at(path, "to"));
  if (a == "add_vm") {
    if (!st.vm)
      refuse(at(path, "vm"), "is required for add_vm");
    check_vm_refs(*st.vm, at(path, "vm"), refs);
    refs.add_vm(st.vm->id, at(at(path, "vm"), "id"));
  }
  if (a == "set_rule") {
    if (!st.rule)
      refuse(at(path, "rule"), "is required for set_rule");
    check_rule_refs(*st.rule, at(path, "rule"), refs);
  }
  if (a == "remove_rule" && st.target.empty())
    refuse(at(path, "target"), "must name the rule to remove");
  if ((a == "slow_libvirt" || a == "fail_libvirt") && st.duration.count() <= 0)
    refuse(at(path, "duration"), "must be above 0 for " + a);
}

expectation read_expectation(const YAML::Node& n) {
  expect_map(n, "expect", {"running_on", "running", "not_running", "events", "no_events"});
  expectation e;
  if (const auto m = n["running_on"]; m.IsDefined() && !m.IsNull()) {
    if (!m.IsMap())
      refuse("expect.running_on", "must be a map of VM to host");
    for (const auto& kv : m) {
      const auto vm = scalar(kv.first, "expect.running_on");
      e.running_on[vm] = scalar(kv.second, at("expect.running_on", vm));
    }
  }
  read_list(n, "running", "expect", e.running, 100'000);
  read_list(n, "not_running", "expect", e.not_running, 100'000);
  read_list(n, "events", "expect", e.events, 1000);
  read_list(n, "no_events", "expect", e.no_events, 1000);
  return e;
}

scenario read_scenario(const YAML::Node& root, const fs::path& base,
                       const scenario_limits& limits) {
  scenario s;
  expect_map(root, "",
             {"name", "duration", "drs_interval", "metrics_interval", "hosts", "clusters", "vms",
              "rules", "timeline", "expect"});
  read(root, "name", "", s.name, false, 256);
  read(root, "duration", "", s.duration, true, limits.max_duration);
  read(root, "drs_interval", "", s.drs_interval, false, std::chrono::hours{24});
  read(root, "metrics_interval", "", s.metrics_interval, false, std::chrono::hours{24});
  if (s.duration.count() <= 0)
    refuse("duration", "must be above 0");
  if (s.drs_interval.count() <= 0)
    refuse("drs_interval", "must be above 0");
  if (s.metrics_interval.count() <= 0)
    refuse("metrics_interval", "must be above 0");

  const auto clusters = sequence(root, "clusters", 1000);
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    const auto p = at("clusters", i);
    const auto& n = clusters[i];
    expect_map(n, p, {"id", "drs", "ha"});
    cluster_spec c;
    read(n, "id", p, c.id, true, 64);
    check_id(c.id, at(p, "id"));
    if (const auto d = n["drs"]; d.IsDefined() && !d.IsNull()) {
      expect_map(d, at(p, "drs"), {"enabled", "automation", "threshold"});
      read(d, "enabled", at(p, "drs"), c.drs.enabled);
      read(d, "automation", at(p, "drs"), c.drs.automation, false, 32);
      one_of(c.drs.automation, {"manual", "partially_automated", "fully_automated"},
             at(at(p, "drs"), "automation"));
      read<std::uint32_t>(d, "threshold", at(p, "drs"), c.drs.threshold, false, 1, 5);
    }
    if (const auto h = n["ha"]; h.IsDefined() && !h.IsNull()) {
      const auto hp = at(p, "ha");
      expect_map(h, hp,
                 {"enabled", "admission", "host_failures_to_tolerate", "reserved_percent",
                  "shutdown_policy"});
      read(h, "enabled", hp, c.ha.enabled);
      read(h, "admission", hp, c.ha.admission, false, 32);
      one_of(c.ha.admission, {"host_failures", "percentage", "none"}, at(hp, "admission"));
      read<std::uint32_t>(h, "host_failures_to_tolerate", hp, c.ha.host_failures_to_tolerate, false,
                          0, 100);
      read<std::uint32_t>(h, "reserved_percent", hp, c.ha.reserved_percent, false, 0, 100);
      read(h, "shutdown_policy", hp, c.ha.shutdown_policy, false, 32);
      one_of(c.ha.shutdown_policy, {"freeze", "failover", "migrate"}, at(hp, "shutdown_policy"));
    }
    s.clusters.push_back(std::move(c));
  }
  unique_ids(
      s.clusters, [](const cluster_spec& c) { return c.id; }, "clusters");

  const auto hosts = sequence(root, "hosts", limits.max_hosts);
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    const auto p = at("hosts", i);
    const auto& n = hosts[i];
    expect_map(n, p, {"id", "cluster", "cpus", "memory_mib", "pools"});
    host_spec h;
    read(n, "id", p, h.id, true, 64);
    check_id(h.id, at(p, "id"));
    read(n, "cluster", p, h.cluster, false, 64);
    read<std::uint32_t>(n, "cpus", p, h.cpus, true, 1, 4096);
    read<std::uint64_t>(n, "memory_mib", p, h.memory_mib, true, 256, std::uint64_t{64} << 20U);
    read_list(n, "pools", p, h.pools, 64);
    s.hosts.push_back(std::move(h));
  }
  unique_ids(
      s.hosts, [](const host_spec& h) { return h.id; }, "hosts");

  const auto vms = sequence(root, "vms", limits.max_vms);
  for (std::size_t i = 0; i < vms.size(); ++i)
    s.vms.push_back(read_vm(vms[i], at("vms", i), base));
  unique_ids(
      s.vms, [](const vm_spec& v) { return v.id; }, "vms");

  const auto rules = sequence(root, "rules", 100'000);
  for (std::size_t i = 0; i < rules.size(); ++i)
    s.rules.push_back(read_rule(rules[i], at("rules", i)));

  const auto steps = sequence(root, "timeline", limits.max_steps);
  for (std::size_t i = 0; i < steps.size(); ++i)
    s.timeline.push_back(read_step(steps[i], at("timeline", i), base, limits));

  if (const auto e = root["expect"]; e.IsDefined() && !e.IsNull())
    s.expect = read_expectation(e);

  references refs{s};
  for (std::size_t i = 0; i < s.hosts.size(); ++i)
    if (!s.hosts[i].cluster.empty())
      refs.cluster(s.hosts[i].cluster, at(at("hosts", i), "cluster"));
  for (std::size_t i = 0; i < s.vms.size(); ++i)
    check_vm_refs(s.vms[i], at("vms", i), refs);
  for (std::size_t i = 0; i < s.rules.size(); ++i)
    check_rule_refs(s.rules[i], at("rules", i), refs);
  // Steps in time order; a step may name a VM an earlier add_vm step added.
  std::vector<std::size_t> order(s.timeline.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return s.timeline[a].at < s.timeline[b].at;
  });
  std::vector<step_spec> sorted;
  for (const auto i : order) {
    check_step_refs(s.timeline[i], at("timeline", i), refs);
    if (s.timeline[i].at > s.duration)
      refuse(at(at("timeline", i), "at"), "is after the end of the scenario");
    sorted.push_back(s.timeline[i]);
  }
  s.timeline = std::move(sorted);
  // Checked after the timeline, whose add_vm steps may add the VMs the expectation names.
  for (const auto& [vm, host] : s.expect.running_on) {
    refs.vm(vm, at("expect.running_on", vm));
    refs.host(host, at("expect.running_on", vm));
  }
  for (const auto* list : {&s.expect.running, &s.expect.not_running})
    for (std::size_t i = 0; i < list->size(); ++i)
      refs.vm((*list)[i],
              at(list == &s.expect.running ? "expect.running" : "expect.not_running", i));
  return s;
}

} // namespace

const std::vector<std::string>& step_actions() {
  static const std::vector<std::string> actions = {
      "host_power_off", "host_power_on", "host_shutdown",      "network_off",
      "network_on",     "agent_restart", "maintenance_enable", "maintenance_disable",
      "vm_start",       "vm_stop",       "vm_migrate",         "vm_relocate",
      "add_vm",         "delete_vm",     "set_rule",           "remove_rule",
      "slow_libvirt",   "fail_libvirt"};
  return actions;
}

std::optional<sim_duration> parse_duration(std::string_view text) {
  std::uint64_t n = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
  if (r.ec != std::errc{} || r.ptr == text.data())
    return std::nullopt;
  const std::string_view unit{r.ptr, static_cast<std::size_t>(text.data() + text.size() - r.ptr)};
  std::uint64_t ms_per = 0;
  if (unit == "ms")
    ms_per = 1;
  else if (unit == "s")
    ms_per = 1000;
  else if (unit == "m")
    ms_per = 60'000;
  else if (unit == "h")
    ms_per = 3'600'000;
  else if (unit == "d")
    ms_per = 86'400'000;
  else
    return std::nullopt;
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (n > max / ms_per)
    return std::nullopt;
  return sim_duration{static_cast<std::int64_t>(n * ms_per)};
}

result<scenario> parse_scenario(std::string_view text, const fs::path& base_dir,
                                const scenario_limits& limits) {
  if (text.size() > limits.max_file_bytes)
    return error{errc::too_large,
                 "the scenario is larger than the limit",
                 {{"limit", std::to_string(limits.max_file_bytes)}}};
  if (const auto bad = invalid_utf8_at(text))
    return error{errc::invalid_argument,
                 "the scenario is not valid UTF-8 (byte " + std::to_string(*bad) + ")",
                 {{"field", ""}, {"byte", std::to_string(*bad)}}};
  try {
    const auto root = YAML::Load(std::string{text});
    return read_scenario(root, base_dir, limits);
  } catch (const refusal& r) {
    return error{errc::invalid_argument, r.path + " " + r.message, {{"field", r.path}}};
  } catch (const YAML::Exception& e) {
    return error{errc::invalid_argument,
                 "the scenario is not valid YAML: " + e.msg,
                 {{"field", ""},
                  {"line", std::to_string(e.mark.line + 1)},
                  {"column", std::to_string(e.mark.column + 1)}}};
  } catch (const std::exception& e) { // yaml-cpp's conversions, allocation failures
    return error{errc::invalid_argument,
                 std::string{"the scenario cannot be read: "} + e.what(),
                 {{"field", ""}}};
  }
}

result<scenario> load_scenario(const fs::path& file, const scenario_limits& limits) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec)
    return error{
        errc::not_found, "cannot read " + file.string() + ": " + ec.message(), {{"field", "file"}}};
  if (size > limits.max_file_bytes)
    return error{errc::too_large,
                 file.string() + " is larger than the limit",
                 {{"limit", std::to_string(limits.max_file_bytes)}}};
  std::ifstream in{file, std::ios::binary};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (!in && !in.eof())
    return error{errc::io_error, "cannot read " + file.string(), {{"field", "file"}}};
  return parse_scenario(text, file.parent_path(), limits);
}

} // namespace qx::sim
