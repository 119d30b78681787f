#include "qx/sim/scenario.hpp"

#include "trace_files.hpp"

#include "qx/base/mapping_keys.hpp"
#include "qx/base/utf8.hpp"

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

/// A refusal of the field at `path`, as an error value: every reader below answers one (or
/// success), and the first refusal met is the one the caller sees.
qx::error refuse(const std::string& path, const std::string& message) {
  return {errc::invalid_argument, path + " " + message, {{"field", path}}};
}

std::string at(const std::string& path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}

std::string at(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

status expect_map(const YAML::Node& n, const std::string& path,
                  std::initializer_list<std::string_view> keys) {
  if (!n.IsMap())
    return refuse(path, "must be a mapping");
  key_set seen{keys};
  for (const auto& kv : n) {
    if (!kv.first.IsScalar())
      return refuse(path, "keys must be plain names");
    const auto& key = kv.first.Scalar();
    if (auto why = seen.add(key))
      return refuse(at(path, key), *why);
  }
  return {};
}

const YAML::Node* child(const YAML::Node& n, std::string_view key, std::vector<YAML::Node>& keep) {
  keep.push_back(n[std::string{key}]);
  return keep.back().IsDefined() && !keep.back().IsNull() ? &keep.back() : nullptr;
}

result<std::string> scalar(const YAML::Node& n, const std::string& path) {
  if (!n.IsScalar())
    return refuse(path, "must be a single value");
  return n.Scalar();
}

status read(const YAML::Node& n, std::string_view key, const std::string& path, std::string& out,
            bool required, std::size_t max_len = 256) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr) {
    if (required)
      return refuse(at(path, key), "is required");
    return {};
  }
  auto text = scalar(*v, at(path, key));
  if (!text)
    return std::move(text).error();
  out = std::move(*text);
  if (out.size() > max_len)
    return refuse(at(path, key), "is longer than " + std::to_string(max_len) + " characters");
  return {};
}

template<class Int>
status read(const YAML::Node& n, std::string_view key, const std::string& path, Int& out,
            bool required, Int min, Int max) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr) {
    if (required)
      return refuse(at(path, key), "is required");
    return {};
  }
  const auto text = scalar(*v, at(path, key));
  if (!text)
    return text.error();
  Int value{};
  const auto r = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || r.ec != std::errc{} || r.ptr != text->data() + text->size() || value < min ||
      value > max)
    return refuse(at(path, key),
                  "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  out = value;
  return {};
}

status read(const YAML::Node& n, std::string_view key, const std::string& path, double& out,
            double min, double max) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr)
    return {};
  const auto text = scalar(*v, at(path, key));
  if (!text)
    return text.error();
  double value = 0;
  const auto r = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || r.ec != std::errc{} || r.ptr != text->data() + text->size() ||
      !std::isfinite(value) || value < min || value > max) {
    std::ostringstream range;
    range << "must be a number from " << min << " to " << max;
    return refuse(at(path, key), range.str());
  }
  out = value;
  return {};
}

status read(const YAML::Node& n, std::string_view key, const std::string& path, bool& out) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr)
    return {};
  const auto text = scalar(*v, at(path, key));
  if (!text)
    return text.error();
  if (*text != "true" && *text != "false")
    return refuse(at(path, key), "must be true or false");
  out = *text == "true";
  return {};
}

status read(const YAML::Node& n, std::string_view key, const std::string& path, sim_duration& out,
            bool required, sim_duration max) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr) {
    if (required)
      return refuse(at(path, key), "is required");
    return {};
  }
  const auto text = scalar(*v, at(path, key));
  if (!text)
    return text.error();
  const auto d = parse_duration(*text);
  if (!d || *d > max)
    return refuse(at(path, key), "must be a duration such as 90s, 5m, 2h or 1d, at most " +
                                     std::to_string(max.count() / 1000) + "s");
  out = *d;
  return {};
}

status read_list(const YAML::Node& n, std::string_view key, const std::string& path,
                 std::vector<std::string>& out, std::size_t max) {
  std::vector<YAML::Node> keep;
  const auto* v = child(n, key, keep);
  if (v == nullptr)
    return {};
  if (!v->IsSequence())
    return refuse(at(path, key), "must be a list");
  if (v->size() > max)
    return refuse(at(path, key), "holds more than " + std::to_string(max) + " items");
  for (std::size_t i = 0; i < v->size(); ++i) {
    auto item = scalar((*v)[i], at(at(path, key), i));
    if (!item)
      return std::move(item).error();
    out.push_back(std::move(*item));
  }
  return {};
}

status check_id(const std::string& id, const std::string& path) {
  const bool ok = !id.empty() && id.size() <= 64 && id.front() != '.' && id.front() != '-' &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                  });
  if (!ok)
    return refuse(path, "must be 1 to 64 of A-Z a-z 0-9 . _ -, not starting with . or -");
  return {};
}

status one_of(const std::string& value, std::initializer_list<std::string_view> allowed,
              const std::string& path) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end())
    return {};
  std::string list;
  for (const auto a : allowed)
    list += (list.empty() ? "" : ", ") + std::string{a};
  return refuse(path, "must be one of " + list);
}

/// The sequence at `key` (empty when absent), at most `max` items.
result<YAML::Node> sequence(const YAML::Node& root, std::string_view key, std::size_t max) {
  const auto n = root[std::string{key}];
  if (!n.IsDefined() || n.IsNull())
    return YAML::Node{YAML::NodeType::Sequence};
  if (!n.IsSequence())
    return refuse(std::string{key}, "must be a list");
  if (n.size() > max)
    return refuse(std::string{key}, "holds more than " + std::to_string(max) + " items");
  return n;
}

/// Reads each item of the sequence at `key` of `root` with `read_one` (which answers a
/// result<T>), appending to `out`; stops at the first refusal.
template<class T, class Read>
status read_items(const YAML::Node& root, std::string_view key, std::size_t max,
                  std::vector<T>& out, Read read_one) {
  const auto items = sequence(root, key, max);
  if (!items)
    return items.error();
  // Looked into as a const node: yaml-cpp's non-const operator[] may change what it looks into.
  const YAML::Node& list = *items;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto item = read_one(list[i], at(std::string{key}, i));
    if (!item)
      return std::move(item).error();
    out.push_back(std::move(*item));
  }
  return {};
}

/// Reads the optional mapping at `key` of `n` with `read_one` (which answers a result) into
/// `out`; absent or null leaves `out` as it is.
template<class T, class Read>
status read_section(const YAML::Node& n, std::string_view key, const std::string& path, T& out,
                    Read read_one) {
  const auto v = n[std::string{key}];
  if (!v.IsDefined() || v.IsNull())
    return {};
  auto got = read_one(v, at(path, key));
  if (!got)
    return std::move(got).error();
  out = std::move(*got);
  return {};
}

/// `relative` resolved against `base`; refused when it leaves `base` (.., absolute paths,
/// symlinks pointing out) or does not exist as the kind wanted.
result<fs::path> inside(const fs::path& base, const std::string& relative, bool directory,
                        const std::string& path) {
  if (relative.empty() || relative.find('\0') != std::string::npos)
    return refuse(path, "must be a path relative to the scenario's folder");
  std::error_code ec;
  // A scenario named without a folder ("main.yaml") has the base "": the working directory.
  const auto root =
      fs::weakly_canonical(base.empty() ? fs::current_path() : fs::absolute(base), ec);
  std::error_code ec2;
  auto target = fs::weakly_canonical(root / relative, ec2);
  if (ec || ec2)
    return refuse(path, "cannot be resolved: " + (ec ? ec : ec2).message());
  const auto rel = target.lexically_relative(root);
  if (fs::path{relative}.is_absolute() || rel.empty() || *rel.begin() == "..")
    return refuse(path, "must stay inside the scenario's folder");
  if (directory ? !fs::is_directory(target, ec) : !fs::is_regular_file(target, ec))
    return refuse(path, std::string{"must name an existing "} + (directory ? "folder" : "file"));
  return target;
}

/// The workload's levels; which of them a type uses is up to the type.
status read_levels(const YAML::Node& n, const std::string& path, workload_spec& w) {
  if (auto ok = read(n, "cpu", path, w.cpu, 0.0, 1.0); !ok)
    return ok;
  if (auto ok = read(n, "memory", path, w.memory, 0.0, 1.0); !ok)
    return ok;
  if (auto ok = read(n, "amplitude", path, w.amplitude, 0.0, 1.0); !ok)
    return ok;
  if (auto ok = read(n, "peak_hour", path, w.peak_hour, 0.0, 24.0); !ok)
    return ok;
  if (auto ok = read(n, "step", path, w.step, 0.0, 1.0); !ok)
    return ok;
  return read(n, "peak", path, w.peak, 0.0, 1.0);
}

/// The workload's periods, checked against its type once all are read.
status read_periods(const YAML::Node& n, const std::string& path, workload_spec& w) {
  if (auto ok = read(n, "every", path, w.every, false, std::chrono::hours{24 * 31}); !ok)
    return ok;
  if (auto ok = read(n, "length", path, w.length, false, std::chrono::hours{24 * 31}); !ok)
    return ok;
  if (auto ok = read(n, "interval", path, w.interval, false, std::chrono::hours{24}); !ok)
    return ok;
  if (w.type == "spikes" && (w.every.count() <= 0 || w.length > w.every))
    return refuse(at(path, "length"), "must be shorter than every, which must be above 0");
  if (w.type == "folder" && w.interval.count() <= 0)
    return refuse(at(path, "interval"), "must be above 0");
  return {};
}

/// A folder's `match` and, for match: mapping, its `mapping` file.
status read_match(const YAML::Node& n, const std::string& path, const fs::path& base,
                  workload_spec& w) {
  if (auto ok = read(n, "match", path, w.match, false, 16); !ok)
    return ok;
  if (auto ok = one_of(w.match, {"name", "order", "mapping"}, at(path, "match")); !ok)
    return ok;
  if (w.type != "folder" && w.match != "name")
    return refuse(at(path, "match"), "is only for folder workloads");
  std::string mapping;
  if (auto ok = read(n, "mapping", path, mapping, w.match == "mapping", 4096); !ok)
    return ok;
  if (w.match != "mapping") {
    if (!mapping.empty())
      return refuse(at(path, "mapping"), "is only for match: mapping");
    return {};
  }
  auto resolved = inside(base, mapping, false, at(path, "mapping"));
  if (!resolved)
    return std::move(resolved).error();
  w.mapping = std::move(*resolved);
  return {};
}

result<workload_spec> read_workload(const YAML::Node& n, const std::string& path,
                                    const fs::path& base) {
  workload_spec w;
  if (auto ok = expect_map(n, path,
                           {"type", "cpu", "memory", "amplitude", "peak_hour", "step", "peak",
                            "every", "length", "path", "interval", "match", "mapping"});
      !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "type", path, w.type, true, 32); !ok)
    return std::move(ok).error();
  if (auto ok = one_of(w.type, {"constant", "diurnal", "random_walk", "spikes", "trace", "folder"},
                       at(path, "type"));
      !ok)
    return std::move(ok).error();
  if (auto ok = read_levels(n, path, w); !ok)
    return std::move(ok).error();
  if (auto ok = read_periods(n, path, w); !ok)
    return std::move(ok).error();
  if (w.type == "trace" || w.type == "folder") {
    std::string p;
    if (auto ok = read(n, "path", path, p, true, 4096); !ok)
      return std::move(ok).error();
    auto resolved = inside(base, p, w.type == "folder", at(path, "path"));
    if (!resolved)
      return std::move(resolved).error();
    w.path = std::move(*resolved);
  }
  if (auto ok = read_match(n, path, base, w); !ok)
    return std::move(ok).error();
  return w;
}

/// The VM's identity, size and HA settings (all but its workload).
status read_vm_fields(const YAML::Node& n, const std::string& path, vm_spec& v) {
  if (auto ok = read(n, "id", path, v.id, true, 64); !ok)
    return ok;
  if (auto ok = check_id(v.id, at(path, "id")); !ok)
    return ok;
  if (auto ok = read(n, "cluster", path, v.cluster, true, 64); !ok)
    return ok;
  if (auto ok = read(n, "host", path, v.host, false, 64); !ok)
    return ok;
  if (auto ok = read(n, "state", path, v.state, false, 16); !ok)
    return ok;
  if (auto ok = one_of(v.state, {"running", "stopped"}, at(path, "state")); !ok)
    return ok;
  if (auto ok = read<std::uint32_t>(n, "vcpus", path, v.vcpus, true, 1, 256); !ok)
    return ok;
  if (auto ok = read<std::uint64_t>(n, "memory_mib", path, v.memory_mib, true, 16,
                                    std::uint64_t{16} << 20U);
      !ok)
    return ok;
  if (auto ok = read<std::int32_t>(n, "priority", path, v.priority, false, -2, 2); !ok)
    return ok;
  if (auto ok = read(n, "ha_protected", path, v.ha_protected); !ok)
    return ok;
  return read_list(n, "pools", path, v.pools, 16);
}

result<vm_spec> read_vm(const YAML::Node& n, const std::string& path, const fs::path& base) {
  vm_spec v;
  if (auto ok = expect_map(n, path,
                           {"id", "cluster", "host", "state", "vcpus", "memory_mib", "priority",
                            "ha_protected", "pools", "workload"});
      !ok)
    return std::move(ok).error();
  if (auto ok = read_vm_fields(n, path, v); !ok)
    return std::move(ok).error();
  const auto workload = [&](const YAML::Node& w, const std::string& p) {
    return read_workload(w, p, base);
  };
  if (auto ok = read_section(n, "workload", path, v.workload, workload); !ok)
    return std::move(ok).error();
  return v;
}

/// should_run_on's `priorities`: host -> 0..100 (higher preferred), each a host of the rule.
status read_priorities(const YAML::Node& n, const std::string& path, rule_spec& r) {
  const auto m = n["priorities"];
  if (!m.IsDefined() || m.IsNull())
    return {};
  const auto p = at(path, "priorities");
  if (r.kind != "should_run_on")
    return refuse(p, "is only for should_run_on");
  if (!m.IsMap())
    return refuse(p, "must be a map of host to priority");
  for (const auto& kv : m) {
    auto host = scalar(kv.first, p);
    if (!host)
      return std::move(host).error();
    if (std::find(r.hosts.begin(), r.hosts.end(), *host) == r.hosts.end())
      return refuse(at(p, *host), "is not one of the rule's hosts");
    auto text = scalar(kv.second, at(p, *host));
    if (!text)
      return std::move(text).error();
    int value = -1;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || end != text->data() + text->size() || value < 0 || value > 100)
      return refuse(at(p, *host), "must be an integer from 0 to 100");
    r.priorities[*host] = value;
  }
  return {};
}

result<rule_spec> read_rule(const YAML::Node& n, const std::string& path) {
  rule_spec r;
  if (auto ok = expect_map(n, path, {"name", "kind", "vms", "hosts", "priorities"}); !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "name", path, r.name, true, 64); !ok)
    return std::move(ok).error();
  if (auto ok = check_id(r.name, at(path, "name")); !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "kind", path, r.kind, true, 32); !ok)
    return std::move(ok).error();
  if (auto ok =
          one_of(r.kind,
                 {"keep_together", "keep_apart", "must_run_on", "must_not_run_on", "should_run_on"},
                 at(path, "kind"));
      !ok)
    return std::move(ok).error();
  if (auto ok = read_list(n, "vms", path, r.vms, 10'000); !ok)
    return std::move(ok).error();
  if (auto ok = read_list(n, "hosts", path, r.hosts, 10'000); !ok)
    return std::move(ok).error();
  if (r.vms.empty())
    return refuse(at(path, "vms"), "must name at least one VM");
  const bool host_rule =
      r.kind == "must_run_on" || r.kind == "must_not_run_on" || r.kind == "should_run_on";
  if (host_rule == r.hosts.empty())
    return refuse(at(path, "hosts"), host_rule ? "must name at least one host"
                                               : "is only for must_run_on, must_not_run_on and "
                                                 "should_run_on");
  if (auto ok = read_priorities(n, path, r); !ok)
    return std::move(ok).error();
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

  status host(const std::string& id, const std::string& path) const {
    if (!hosts_.contains(id))
      return refuse(path, "names no host of the scenario: " + id);
    return {};
  }
  status cluster(const std::string& id, const std::string& path) const {
    if (!clusters_.contains(id))
      return refuse(path, "names no cluster of the scenario: " + id);
    return {};
  }
  status vm(const std::string& id, const std::string& path) const {
    if (!vms_.contains(id))
      return refuse(path, "names no VM of the scenario (or added before this step): " + id);
    return {};
  }
  status add_vm(const std::string& id, const std::string& path) {
    if (!vms_.insert(id).second)
      return refuse(path, "is the id of another VM");
    return {};
  }
  /// The cluster of a host that host() accepted.
  [[nodiscard]] const std::string& cluster_of_host(const std::string& id) const {
    return hosts_.at(id);
  }

 private:
  std::set<std::string> clusters_;
  std::map<std::string, std::string> hosts_;
  std::set<std::string> vms_;
};

template<class T>
status unique_ids(const std::vector<T>& items, const std::string& what) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < items.size(); ++i)
    if (!seen.insert(items[i].id).second)
      return refuse(at(what, i) + ".id", "repeats the id " + items[i].id);
  return {};
}

status check_vm_refs(const vm_spec& v, const std::string& path, const references& refs) {
  if (auto ok = refs.cluster(v.cluster, at(path, "cluster")); !ok)
    return ok;
  if (v.host.empty())
    return {};
  if (auto ok = refs.host(v.host, at(path, "host")); !ok)
    return ok;
  if (refs.cluster_of_host(v.host) != v.cluster)
    return refuse(at(path, "host"), "is not in the VM's cluster " + v.cluster);
  return {};
}

status check_rule_refs(const rule_spec& r, const std::string& path, const references& refs) {
  for (std::size_t i = 0; i < r.vms.size(); ++i)
    if (auto ok = refs.vm(r.vms[i], at(at(path, "vms"), i)); !ok)
      return ok;
  for (std::size_t i = 0; i < r.hosts.size(); ++i)
    if (auto ok = refs.host(r.hosts[i], at(at(path, "hosts"), i)); !ok)
      return ok;
  return {};
}

result<step_spec> read_step(const YAML::Node& n, const std::string& path, const fs::path& base,
                            const scenario_limits& limits) {
  step_spec st;
  if (auto ok = expect_map(n, path, {"at", "action", "target", "to", "duration", "vm", "rule"});
      !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "at", path, st.at, true, limits.max_duration); !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "action", path, st.action, true, 32); !ok)
    return std::move(ok).error();
  const auto& actions = step_actions();
  if (std::find(actions.begin(), actions.end(), st.action) == actions.end())
    return refuse(at(path, "action"), "is not a step action: " + st.action);
  if (auto ok = read(n, "target", path, st.target, false, 64); !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "to", path, st.to, false, 64); !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "duration", path, st.duration, false, limits.max_duration); !ok)
    return std::move(ok).error();
  const auto vm = [&](const YAML::Node& v, const std::string& p) {
    return read_vm(v, p, base);
  };
  if (auto ok = read_section(n, "vm", path, st.vm, vm); !ok)
    return std::move(ok).error();
  if (auto ok = read_section(n, "rule", path, st.rule, read_rule); !ok)
    return std::move(ok).error();
  return st;
}

/// The host or VM a step acts on, and the host it moves a VM to.
status check_step_target(const step_spec& st, const std::string& path, const references& refs) {
  const auto& a = st.action;
  const bool on_host = a.starts_with("host_") || a.starts_with("network_") ||
                       a == "agent_restart" || a.starts_with("maintenance_") ||
                       a == "slow_libvirt" || a == "fail_libvirt";
  const bool on_vm = a.starts_with("vm_") || a == "delete_vm";
  if (on_host)
    if (auto ok = refs.host(st.target, at(path, "target")); !ok)
      return ok;
  if (on_vm)
    if (auto ok = refs.vm(st.target, at(path, "target")); !ok)
      return ok;
  if (!st.to.empty())
    return refs.host(st.to, at(path, "to"));
  return {};
}

status check_step_refs(const step_spec& st, const std::string& path, references& refs) {
  if (auto ok = check_step_target(st, path, refs); !ok)
    return ok;
  const auto& a = st.action;
  if (a == "add_vm") {
    if (!st.vm)
      return refuse(at(path, "vm"), "is required for add_vm");
    if (auto ok = check_vm_refs(*st.vm, at(path, "vm"), refs); !ok)
      return ok;
    if (auto ok = refs.add_vm(st.vm->id, at(at(path, "vm"), "id")); !ok)
      return ok;
  }
  if (a == "set_rule") {
    if (!st.rule)
      return refuse(at(path, "rule"), "is required for set_rule");
    if (auto ok = check_rule_refs(*st.rule, at(path, "rule"), refs); !ok)
      return ok;
  }
  if (a == "remove_rule" && st.target.empty())
    return refuse(at(path, "target"), "must name the rule to remove");
  if ((a == "slow_libvirt" || a == "fail_libvirt") && st.duration.count() <= 0)
    return refuse(at(path, "duration"), "must be above 0 for " + a);
  return {};
}

/// The expectation's `running_on`: a map of VM to host.
status read_running_on(const YAML::Node& n, const std::string& path,
                       std::map<std::string, std::string>& out) {
  const auto m = n["running_on"];
  if (!m.IsDefined() || m.IsNull())
    return {};
  const auto p = at(path, "running_on");
  if (!m.IsMap())
    return refuse(p, "must be a map of VM to host");
  for (const auto& kv : m) {
    auto vm = scalar(kv.first, p);
    if (!vm)
      return std::move(vm).error();
    auto host = scalar(kv.second, at(p, *vm));
    if (!host)
      return std::move(host).error();
    out[*vm] = std::move(*host);
  }
  return {};
}

/// The expectation at `path` ("expect", where the paths it refuses start).
result<expectation> read_expectation(const YAML::Node& n, const std::string& path) {
  if (auto ok =
          expect_map(n, path, {"running_on", "running", "not_running", "events", "no_events"});
      !ok)
    return std::move(ok).error();
  expectation e;
  if (auto ok = read_running_on(n, path, e.running_on); !ok)
    return std::move(ok).error();
  if (auto ok = read_list(n, "running", path, e.running, 100'000); !ok)
    return std::move(ok).error();
  if (auto ok = read_list(n, "not_running", path, e.not_running, 100'000); !ok)
    return std::move(ok).error();
  if (auto ok = read_list(n, "events", path, e.events, 1000); !ok)
    return std::move(ok).error();
  if (auto ok = read_list(n, "no_events", path, e.no_events, 1000); !ok)
    return std::move(ok).error();
  return e;
}

result<drs_spec> read_drs(const YAML::Node& n, const std::string& path) {
  drs_spec d;
  if (auto ok = expect_map(n, path,
                           {"enabled", "automation", "threshold", "placement", "max_moves",
                            "max_per_host", "max_per_cluster", "hold", "min_gain", "fail_back",
                            "migration_gib_per_s", "cpu_overcommit"});
      !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "enabled", path, d.enabled); !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "automation", path, d.automation, false, 32); !ok)
    return std::move(ok).error();
  if (auto ok = one_of(d.automation, {"manual", "partially_automated", "fully_automated"},
                       at(path, "automation"));
      !ok)
    return std::move(ok).error();
  if (auto ok = read<std::uint32_t>(n, "threshold", path, d.threshold, false, 1, 5); !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "placement", path, d.placement, false, 16); !ok)
    return std::move(ok).error();
  if (auto ok = one_of(d.placement, {"spread", "pack"}, at(path, "placement")); !ok)
    return std::move(ok).error();
  if (auto ok = read<std::uint32_t>(n, "max_moves", path, d.max_moves, false, 1, 1000); !ok)
    return std::move(ok).error();
  if (auto ok = read<std::uint32_t>(n, "max_per_host", path, d.max_per_host, false, 1, 64); !ok)
    return std::move(ok).error();
  if (auto ok = read<std::uint32_t>(n, "max_per_cluster", path, d.max_per_cluster, false, 1, 1000);
      !ok)
    return std::move(ok).error();
  std::vector<YAML::Node> keep;
  if (child(n, "hold", keep) != nullptr) {
    sim_duration hold{0};
    if (auto ok = read(n, "hold", path, hold, false, std::chrono::hours{24}); !ok)
      return std::move(ok).error();
    if (hold < std::chrono::seconds{1})
      return refuse(at(path, "hold"), "must be at least 1s");
    d.hold = hold;
  }
  if (auto ok = read(n, "min_gain", path, d.min_gain, 0.0, 1.0); !ok)
    return std::move(ok).error();
  if (d.min_gain <= 0)
    return refuse(at(path, "min_gain"), "must be above 0");
  if (auto ok = read(n, "fail_back", path, d.fail_back); !ok)
    return std::move(ok).error();
  if (child(n, "cpu_overcommit", keep) != nullptr) {
    double ratio = 0;
    if (auto ok = read(n, "cpu_overcommit", path, ratio, 1.0, 16.0); !ok)
      return std::move(ok).error();
    d.cpu_overcommit = ratio;
  }
  if (child(n, "migration_gib_per_s", keep) != nullptr) {
    double bandwidth = 0;
    if (auto ok = read(n, "migration_gib_per_s", path, bandwidth, 0.1, 100.0); !ok)
      return std::move(ok).error();
    d.migration_gib_per_s = bandwidth;
  }
  return d;
}

result<ha_spec> read_ha(const YAML::Node& n, const std::string& path) {
  ha_spec h;
  if (auto ok = expect_map(n, path,
                           {"enabled", "admission", "host_failures_to_tolerate", "reserved_percent",
                            "shutdown_policy"});
      !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "enabled", path, h.enabled); !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "admission", path, h.admission, false, 32); !ok)
    return std::move(ok).error();
  if (auto ok = one_of(h.admission, {"host_failures", "percentage", "none"}, at(path, "admission"));
      !ok)
    return std::move(ok).error();
  if (auto ok = read<std::uint32_t>(n, "host_failures_to_tolerate", path,
                                    h.host_failures_to_tolerate, false, 0, 100);
      !ok)
    return std::move(ok).error();
  if (auto ok = read<std::uint32_t>(n, "reserved_percent", path, h.reserved_percent, false, 0, 100);
      !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "shutdown_policy", path, h.shutdown_policy, false, 32); !ok)
    return std::move(ok).error();
  if (auto ok =
          one_of(h.shutdown_policy, {"freeze", "failover", "migrate"}, at(path, "shutdown_policy"));
      !ok)
    return std::move(ok).error();
  return h;
}

result<cluster_spec> read_cluster(const YAML::Node& n, const std::string& path) {
  if (auto ok = expect_map(n, path, {"id", "drs", "ha"}); !ok)
    return std::move(ok).error();
  cluster_spec c;
  if (auto ok = read(n, "id", path, c.id, true, 64); !ok)
    return std::move(ok).error();
  if (auto ok = check_id(c.id, at(path, "id")); !ok)
    return std::move(ok).error();
  if (auto ok = read_section(n, "drs", path, c.drs, read_drs); !ok)
    return std::move(ok).error();
  if (auto ok = read_section(n, "ha", path, c.ha, read_ha); !ok)
    return std::move(ok).error();
  return c;
}

result<host_spec> read_host(const YAML::Node& n, const std::string& path) {
  if (auto ok = expect_map(n, path, {"id", "cluster", "cpus", "memory_mib", "pools"}); !ok)
    return std::move(ok).error();
  host_spec h;
  if (auto ok = read(n, "id", path, h.id, true, 64); !ok)
    return std::move(ok).error();
  if (auto ok = check_id(h.id, at(path, "id")); !ok)
    return std::move(ok).error();
  if (auto ok = read(n, "cluster", path, h.cluster, false, 64); !ok)
    return std::move(ok).error();
  if (auto ok = read<std::uint32_t>(n, "cpus", path, h.cpus, true, 1, 4096); !ok)
    return std::move(ok).error();
  if (auto ok = read<std::uint64_t>(n, "memory_mib", path, h.memory_mib, true, 256,
                                    std::uint64_t{64} << 20U);
      !ok)
    return std::move(ok).error();
  if (auto ok = read_list(n, "pools", path, h.pools, 64); !ok)
    return std::move(ok).error();
  return h;
}

/// The scenario's name and times.
status read_settings(const YAML::Node& root, const scenario_limits& limits, scenario& s) {
  if (auto ok = read(root, "name", "", s.name, false, 256); !ok)
    return ok;
  if (auto ok = read(root, "duration", "", s.duration, true, limits.max_duration); !ok)
    return ok;
  if (auto ok = read(root, "drs_interval", "", s.drs_interval, false, std::chrono::hours{24}); !ok)
    return ok;
  if (auto ok =
          read(root, "metrics_interval", "", s.metrics_interval, false, std::chrono::hours{24});
      !ok)
    return ok;
  if (s.duration.count() <= 0)
    return refuse("duration", "must be above 0");
  if (s.drs_interval.count() <= 0)
    return refuse("drs_interval", "must be above 0");
  if (s.metrics_interval.count() <= 0)
    return refuse("metrics_interval", "must be above 0");
  return {};
}

/// The clusters, hosts and VMs, each list checked for repeated ids once read.
status read_inventory(const YAML::Node& root, const fs::path& base, const scenario_limits& limits,
                      scenario& s) {
  if (auto ok = read_items(root, "clusters", 1000, s.clusters, read_cluster); !ok)
    return ok;
  if (auto ok = unique_ids(s.clusters, "clusters"); !ok)
    return ok;
  if (auto ok = read_items(root, "hosts", limits.max_hosts, s.hosts, read_host); !ok)
    return ok;
  if (auto ok = unique_ids(s.hosts, "hosts"); !ok)
    return ok;
  const auto vm = [&](const YAML::Node& n, const std::string& p) {
    return read_vm(n, p, base);
  };
  if (auto ok = read_items(root, "vms", limits.max_vms, s.vms, vm); !ok)
    return ok;
  return unique_ids(s.vms, "vms");
}

/// Checks the steps in time order (a step may name a VM an earlier add_vm step added), and
/// leaves the timeline sorted so.
status check_timeline(scenario& s, references& refs) {
  std::vector<std::size_t> order(s.timeline.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return s.timeline[a].at < s.timeline[b].at;
  });
  std::vector<step_spec> sorted;
  for (const auto i : order) {
    if (auto ok = check_step_refs(s.timeline[i], at("timeline", i), refs); !ok)
      return ok;
    if (s.timeline[i].at > s.duration)
      return refuse(at(at("timeline", i), "at"), "is after the end of the scenario");
    sorted.push_back(s.timeline[i]);
  }
  s.timeline = std::move(sorted);
  return {};
}

/// Checked after the timeline, whose add_vm steps may add the VMs the expectation names.
status check_expectation(const expectation& e, const references& refs) {
  for (const auto& [vm, host] : e.running_on) {
    if (auto ok = refs.vm(vm, at("expect.running_on", vm)); !ok)
      return ok;
    if (auto ok = refs.host(host, at("expect.running_on", vm)); !ok)
      return ok;
  }
  for (const auto* list : {&e.running, &e.not_running}) {
    const std::string path = list == &e.running ? "expect.running" : "expect.not_running";
    for (std::size_t i = 0; i < list->size(); ++i)
      if (auto ok = refs.vm((*list)[i], at(path, i)); !ok)
        return ok;
  }
  return {};
}

status check_references(scenario& s) {
  references refs{s};
  for (std::size_t i = 0; i < s.hosts.size(); ++i) {
    if (s.hosts[i].cluster.empty())
      continue; // a standalone host
    if (auto ok = refs.cluster(s.hosts[i].cluster, at(at("hosts", i), "cluster")); !ok)
      return ok;
  }
  for (std::size_t i = 0; i < s.vms.size(); ++i)
    if (auto ok = check_vm_refs(s.vms[i], at("vms", i), refs); !ok)
      return ok;
  for (std::size_t i = 0; i < s.rules.size(); ++i)
    if (auto ok = check_rule_refs(s.rules[i], at("rules", i), refs); !ok)
      return ok;
  if (auto ok = check_timeline(s, refs); !ok)
    return ok;
  return check_expectation(s.expect, refs);
}

result<scenario> read_scenario(const YAML::Node& root, const fs::path& base,
                               const scenario_limits& limits) {
  scenario s;
  if (auto ok = expect_map(root, "",
                           {"name", "duration", "drs_interval", "metrics_interval", "hosts",
                            "clusters", "vms", "rules", "timeline", "expect"});
      !ok)
    return std::move(ok).error();
  if (auto ok = read_settings(root, limits, s); !ok)
    return std::move(ok).error();
  if (auto ok = read_inventory(root, base, limits, s); !ok)
    return std::move(ok).error();
  if (auto ok = read_items(root, "rules", 100'000, s.rules, read_rule); !ok)
    return std::move(ok).error();
  const auto step = [&](const YAML::Node& n, const std::string& p) {
    return read_step(n, p, base, limits);
  };
  if (auto ok = read_items(root, "timeline", limits.max_steps, s.timeline, step); !ok)
    return std::move(ok).error();
  if (auto ok = read_section(root, "expect", "", s.expect, read_expectation); !ok)
    return std::move(ok).error();
  if (auto ok = detail::assign_trace_files(s, base); !ok) // before the timeline is sorted
    return std::move(ok).error();
  if (auto ok = check_references(s); !ok)
    return std::move(ok).error();
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
  // yaml-cpp reports by throwing (malformed text, conversions, allocation): this is the one
  // border to it. The readers themselves answer their refusals as values.
  try {
    const auto root = YAML::Load(std::string{text});
    return read_scenario(root, base_dir, limits);
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
  std::error_code ec2;
  const auto absolute = fs::absolute(file, ec2);
  return parse_scenario(text, ec2 ? file.parent_path() : absolute.parent_path(), limits);
}

} // namespace qx::sim
