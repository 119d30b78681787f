#include "qx/sim/workload.hpp"

#include <qx/base/demand_model.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <numbers>

namespace qx::sim {

namespace {

namespace fs = std::filesystem;

constexpr std::uintmax_t max_file_bytes = std::uintmax_t{16} << 20U;

/// SplitMix64: a counter-based generator, so any minute's step is known without the others'.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31U);
}

std::uint64_t hash_of(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL; // FNV-1a
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

/// A uniform double in [-1, 1] from the stream and a counter.
double unit(std::uint64_t stream, std::uint64_t n) {
  return static_cast<double>(mix(stream ^ mix(n)) >> 11U) * 0x1.0p-53 * 2.0 - 1.0;
}

error file_error(const fs::path& file, std::size_t line, const std::string& what) {
  return error{
      errc::invalid_argument,
      file.string() + (line > 0 ? ":" + std::to_string(line) : "") + ": " + what,
      {{"field", "workload.path"}, {"file", file.string()}, {"line", std::to_string(line)}}};
}

result<std::string> read_small(const fs::path& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec)
    return file_error(file, 0, "cannot be read: " + ec.message());
  if (size > max_file_bytes)
    return file_error(file, 0, "is larger than 16 MiB");
  std::ifstream in{file, std::ios::binary};
  return std::string{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

bool number(std::string_view text, double& out) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && r.ec == std::errc{} && r.ptr == text.data() + text.size() &&
         std::isfinite(out);
}

/// Calls f(line number, text) for each line; stops at the first false.
template<class F>
bool each_line(std::string_view text, F&& f) {
  std::size_t n = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!f(++n, line))
      return false;
  }
  return true;
}

} // namespace

result<workload> workload::make(const workload_spec& spec, const vm_spec& vm, std::uint64_t seed) {
  workload w;
  w.spec_ = spec;
  for (const auto& [name, k] :
       {std::pair{"diurnal", kind::diurnal}, std::pair{"random_walk", kind::random_walk},
        std::pair{"spikes", kind::spikes}, std::pair{"trace", kind::trace},
        std::pair{"folder", kind::folder}})
    if (spec.type == name)
      w.kind_ = k;
  w.stream_ = mix(seed ^ hash_of(vm.id));
  w.walk_ = spec.cpu;
  if (spec.type == "spikes" && spec.every.count() > 0)
    w.phase_ms_ =
        static_cast<std::int64_t>(mix(w.stream_) % static_cast<std::uint64_t>(spec.every.count()));
  if (spec.type == "trace") {
    // time in seconds, CPU demand in vCPUs, memory demand in MiB; a header line may come first.
    auto text = read_small(spec.path);
    if (!text)
      return text.error();
    std::optional<error> bad;
    each_line(*text, [&](std::size_t n, std::string_view line) {
      if (line.empty() || line == "\r" || line.front() == '#')
        return true;
      const auto c1 = line.find(',');
      const auto c2 = c1 == std::string_view::npos ? c1 : line.find(',', c1 + 1);
      double t = 0;
      double cpu = 0;
      double memory = 0;
      if (c2 == std::string_view::npos || !number(line.substr(0, c1), t) ||
          !number(line.substr(c1 + 1, c2 - c1 - 1), cpu) || !number(line.substr(c2 + 1), memory)) {
        double first = 0;
        if (n == 1 && !number(line.substr(0, c1), first))
          return true; // a header: its first field is no number
        bad = file_error(spec.path, n, "expected: seconds,cpu_vcpus,memory_mib");
        return false;
      }
      const auto ms = static_cast<std::int64_t>(t * 1000);
      if (t < 0 || t > 1e9 || cpu < 0 || memory < 0 ||
          (!w.times_.empty() && ms <= w.times_.back())) {
        bad = file_error(spec.path, n, "times must grow and values must not be negative");
        return false;
      }
      w.times_.push_back(ms);
      w.points_.push_back(
          demand{std::min(1.0, cpu / std::max<double>(vm.vcpus, 1)),
                 std::min(1.0, memory / std::max<double>(static_cast<double>(vm.memory_mib), 1))});
      return true;
    });
    if (bad)
      return *bad;
    if (w.times_.empty())
      return file_error(spec.path, 0, "holds no sample");
  }
  if (spec.type == "folder") {
    // One file per VM, one CPU utilisation percentage per line: the one the scenario chose
    // (and checked), else the one named after the VM.
    auto file = spec.file.empty() ? spec.path / vm.id : spec.file;
    if (spec.file.empty() && !fs::is_regular_file(file))
      file = spec.path / (vm.id + ".txt");
    auto text = read_small(file);
    if (!text)
      return text.error();
    std::optional<error> bad;
    each_line(*text, [&](std::size_t n, std::string_view line) {
      if (line.empty() || line == "\r")
        return true;
      double pct = 0;
      if (!number(line, pct) || pct < 0 || pct > 100) {
        bad = file_error(file, n, "expected a percentage from 0 to 100");
        return false;
      }
      w.samples_.push_back(pct / 100.0);
      return true;
    });
    if (bad)
      return *bad;
    if (w.samples_.empty())
      return file_error(file, 0, "holds no sample");
  }
  return w;
}

demand workload::at(sim_duration t) {
  const auto ms = std::max<std::int64_t>(t.count(), 0);
  const auto& s = spec_;
  if (kind_ == kind::diurnal)
    return {qx::demand::diurnal(ms, s.cpu, s.amplitude, s.peak_hour), s.memory};
  if (kind_ == kind::random_walk) {
    const auto minute = ms / 60'000;
    if (minute < walk_minute_) {
      walk_minute_ = 0;
      walk_ = s.cpu;
    }
    for (; walk_minute_ < minute; ++walk_minute_)
      walk_ = std::clamp(walk_ + s.step * unit(stream_, static_cast<std::uint64_t>(walk_minute_)),
                         0.0, 1.0);
    return {walk_, s.memory};
  }
  if (kind_ == kind::spikes)
    return {qx::demand::spikes(ms, s.cpu, s.peak, s.every.count(), s.length.count(), phase_ms_),
            s.memory};
  if (kind_ == kind::trace) {
    const auto it = std::upper_bound(times_.begin(), times_.end(), ms);
    if (it == times_.begin())
      return points_.front();
    return points_[static_cast<std::size_t>(it - times_.begin()) - 1];
  }
  if (kind_ == kind::folder) {
    // Past the last line the file plays again from the start.
    const auto i = static_cast<std::size_t>(ms / std::max<std::int64_t>(s.interval.count(), 1));
    return {samples_[i % samples_.size()], s.memory};
  }
  return {s.cpu, s.memory};
}

} // namespace qx::sim
