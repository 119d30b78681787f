#include "world.hpp"

namespace qx::sim {

namespace {

std::string at_time(sim_duration t) {
  return "t=" + std::to_string(t.count() / 1000) + "s: ";
}

} // namespace

void world::add_host(const host_spec& h) {
  host_truth t;
  t.spec = h;
  hosts_[h.id] = std::move(t);
}

void world::remove_vm(const std::string& id) {
  ++generation_;
  for (const auto& h : running_[id])
    on_host_[h].erase(id);
  running_.erase(id);
  vms_.erase(id);
}

void world::violation(const std::string& what, sim_duration now) {
  violations_.push_back(at_time(now) + what);
}

void world::run(const std::string& vm, const std::string& host, sim_duration now) {
  ++generation_;
  auto& where = running_[vm];
  where.insert(host);
  on_host_[host].insert(vm);
  if (where.size() > 1) {
    std::string hosts;
    for (const auto& h : where)
      hosts += (hosts.empty() ? "" : ", ") + h;
    violations_.push_back(at_time(now) + "VM " + vm + " runs twice: on " + hosts);
  }
  check_capacity(host, now);
}

void world::stop(const std::string& vm, const std::string& host) {
  ++generation_;
  if (auto it = running_.find(vm); it != running_.end()) {
    it->second.erase(host);
    if (it->second.empty())
      running_.erase(it);
  }
  on_host_[host].erase(vm);
}

void world::stop_all(const std::string& host) {
  for (const auto& vm : vms_on(host))
    stop(vm, host);
}

bool world::reachable(const std::string& host) const {
  const auto it = hosts_.find(host);
  return it != hosts_.end() && it->second.powered && it->second.network && it->second.agent;
}

bool world::runs(const std::string& vm, const std::string& host) const {
  const auto it = running_.find(vm);
  return it != running_.end() && it->second.count(host) != 0;
}

std::set<std::string> world::vms_on(const std::string& host) const {
  const auto it = on_host_.find(host);
  return it == on_host_.end() ? std::set<std::string>{} : it->second;
}

std::string world::host_of(const std::string& vm) const {
  const auto it = running_.find(vm);
  return it == running_.end() || it->second.empty() ? std::string{} : *it->second.begin();
}

void world::check_capacity(const std::string& host, sim_duration now) {
  const auto h = hosts_.find(host);
  if (h == hosts_.end())
    return;
  std::uint64_t vcpus = 0;
  std::uint64_t memory = 0;
  for (const auto& vm : on_host_[host]) {
    const auto& spec = vms_.at(vm);
    vcpus += spec.vcpus;
    memory += spec.memory_mib;
  }
  const auto& spec = h->second.spec;
  if (static_cast<double>(vcpus) > spec.cpus * h->second.cpu_overcommit ||
      static_cast<double>(memory) > static_cast<double>(spec.memory_mib) * memory_overcommit)
    violations_.push_back(at_time(now) + "host " + host +
                          " overcommitted: " + std::to_string(vcpus) + " vCPUs, " +
                          std::to_string(memory) + " MiB for " + std::to_string(spec.cpus) +
                          " CPUs, " + std::to_string(spec.memory_mib) + " MiB");
}

} // namespace qx::sim
