#include "telemetry.hpp"

#include <qx/base/log.hpp>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <fstream>
#include <sstream>

namespace qx::node {

namespace {

/// Busy and total jiffies of all CPUs (first line of /proc/stat).
std::pair<std::uint64_t, std::uint64_t> cpu_jiffies() {
  std::ifstream in{"/proc/stat"};
  std::string cpu;
  std::uint64_t user = 0;
  std::uint64_t nice = 0;
  std::uint64_t system = 0;
  std::uint64_t idle = 0;
  std::uint64_t iowait = 0;
  std::uint64_t irq = 0;
  std::uint64_t softirq = 0;
  std::uint64_t steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const auto busy = user + nice + system + irq + softirq + steal;
  return {busy, busy + idle + iowait};
}

/// MemTotal and MemAvailable in MiB.
std::pair<std::uint64_t, std::uint64_t> memory_mib() {
  std::ifstream in{"/proc/meminfo"};
  std::string key;
  std::uint64_t value = 0;
  std::string unit;
  std::uint64_t total = 0;
  std::uint64_t available = 0;
  while (in >> key >> value >> unit) {
    if (key == "MemTotal:")
      total = value / 1024;
    else if (key == "MemAvailable:")
      available = value / 1024;
  }
  return {total, available};
}

/// Bytes received and sent by every interface but loopback.
std::pair<std::uint64_t, std::uint64_t> net_bytes() {
  std::ifstream in{"/proc/net/dev"};
  std::string line;
  std::uint64_t rx = 0;
  std::uint64_t tx = 0;
  std::getline(in, line);
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    auto name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name == "lo")
      continue;
    std::istringstream fields{line.substr(colon + 1)};
    std::uint64_t v[9] = {};
    for (auto& f : v)
      fields >> f;
    rx += v[0];
    tx += v[8];
  }
  return {rx, tx};
}

} // namespace

void telemetry_sampler::reload_demand() {
  struct stat st {};
  if (demand_file_.empty() || ::stat(demand_file_.c_str(), &st) != 0)
    return;
  const std::int64_t mtime = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
  if (mtime == demand_mtime_ns_ || st.st_size > 1'048'576)
    return;
  demand_mtime_ns_ = mtime;
  std::ifstream in{demand_file_};
  std::map<std::string, demand::model> models;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (const auto hash = line.find('#'); hash != std::string::npos)
      line.erase(hash);
    std::vector<std::string_view> words;
    std::string_view rest{line};
    while (!rest.empty()) {
      const auto start = rest.find_first_not_of(" \t\r");
      if (start == std::string_view::npos)
        break;
      rest.remove_prefix(start);
      const auto end = rest.find_first_of(" \t\r");
      words.push_back(rest.substr(0, end));
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    if (words.empty())
      continue;
    auto m = demand::parse({words.begin() + 1, words.end()});
    if (!m) {
      log::warn("telemetry", "demand file ignored",
                {{"file", demand_file_}, {"line", std::int64_t{n}}, {"error", m.error().message}});
      return;
    }
    models[std::string{words[0]}] = *m;
  }
  demand_ = std::move(models);
}

qx::agent::v1::Telemetry telemetry_sampler::sample(hypervisor& hv) {
  reload_demand();
  qx::agent::v1::Telemetry t;
  const auto now = std::chrono::steady_clock::now();
  t.set_sampled_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
  const auto [busy, total] = cpu_jiffies();
  if (prev_total_ != 0 && total > prev_total_)
    t.set_cpu_percent(100.0 * static_cast<double>(busy - prev_busy_) /
                      static_cast<double>(total - prev_total_));
  prev_busy_ = busy;
  prev_total_ = total;
  const auto [mem_total, mem_available] = memory_mib();
  t.set_memory_total_mib(mem_total);
  t.set_memory_used_mib(mem_total - std::min(mem_total, mem_available));
  struct statvfs fs {};
  if (!disk_path_.empty() && statvfs(disk_path_.c_str(), &fs) == 0) {
    t.set_disk_total_bytes(static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize);
    t.set_disk_used_bytes(static_cast<std::uint64_t>(fs.f_blocks - fs.f_bfree) * fs.f_frsize);
  }
  const auto [rx, tx] = net_bytes();
  t.set_net_rx_bytes(rx);
  t.set_net_tx_bytes(tx);
  const double elapsed_ns =
      prev_at_ == std::chrono::steady_clock::time_point{}
          ? 0.0
          : static_cast<double>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(now - prev_at_).count());
  prev_at_ = now;
  std::map<std::string, std::uint64_t> cpu_ns;
  if (auto domains = hv.list_domains()) {
    for (const auto& d : *domains) {
      if (!d.active)
        continue;
      auto stats = hv.query_stats(d.id);
      if (!stats)
        continue;
      auto* vm = t.add_vms();
      vm->set_id(d.id);
      vm->set_memory_used_mib(stats->memory_kib / 1024);
      const auto prev = prev_cpu_ns_.find(d.id);
      const auto model = demand_.count(d.id) != 0 ? demand_.find(d.id) : demand_.find("*");
      if (model != demand_.end())
        vm->set_cpu_percent(
            100.0 * stats->vcpus *
            demand::at(model->second, static_cast<std::int64_t>(t.sampled_unix_ms())));
      else if (elapsed_ns > 0 && prev != prev_cpu_ns_.end() && stats->cpu_time_ns >= prev->second)
        vm->set_cpu_percent(100.0 * static_cast<double>(stats->cpu_time_ns - prev->second) /
                            elapsed_ns);
      cpu_ns[d.id] = stats->cpu_time_ns;
    }
  }
  prev_cpu_ns_ = std::move(cpu_ns);
  return t;
}

} // namespace qx::node
