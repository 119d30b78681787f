// Workloads: each type's shape, determinism per seed and VM, and the files traces and folders
// are read from (malformed lines named by file and line).
#include <qx/sim/workload.hpp>

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace qx::sim {
namespace {

using namespace std::chrono_literals;

vm_spec vm_of(const std::string& id, std::uint32_t vcpus = 4, std::uint64_t memory_mib = 8192) {
  vm_spec v;
  v.id = id;
  v.vcpus = vcpus;
  v.memory_mib = memory_mib;
  return v;
}

workload make(const workload_spec& s, const std::string& vm = "v1", std::uint64_t seed = 1) {
  auto w = workload::make(s, vm_of(vm), seed);
  EXPECT_TRUE(w) << w.error().message;
  return std::move(*w);
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::ofstream{p} << text;
}

TEST(workloads, constant_and_diurnal) {
  workload_spec s;
  s.cpu = 0.3;
  s.memory = 0.6;
  auto c = make(s);
  EXPECT_DOUBLE_EQ(c.at(0ms).cpu, 0.3);
  EXPECT_DOUBLE_EQ(c.at(5h).memory, 0.6);
  s.type = "diurnal";
  s.cpu = 0.5;
  s.amplitude = 0.3;
  s.peak_hour = 14;
  auto d = make(s);
  EXPECT_NEAR(d.at(14h).cpu, 0.8, 1e-9);
  EXPECT_NEAR(d.at(2h).cpu, 0.2, 1e-9);
  EXPECT_NEAR(d.at(14h + 24h).cpu, 0.8, 1e-9) << "the next day repeats";
  EXPECT_LT(d.at(20h).cpu, d.at(14h).cpu);
  // Clamped to 0..1.
  s.cpu = 0.9;
  s.amplitude = 0.5;
  EXPECT_DOUBLE_EQ(make(s).at(14h).cpu, 1.0);
}

TEST(workloads, random_walk_is_deterministic_per_seed_and_vm) {
  workload_spec s;
  s.type = "random_walk";
  s.cpu = 0.5;
  s.step = 0.05;
  auto a = make(s, "v1", 7);
  auto b = make(s, "v1", 7);
  auto other_vm = make(s, "v2", 7);
  auto other_seed = make(s, "v1", 8);
  bool vm_differs = false;
  bool seed_differs = false;
  double prev = 0.5;
  std::vector<double> first;
  for (int m = 0; m < 600; ++m) {
    const auto t = std::chrono::minutes{m};
    const auto x = a.at(t).cpu;
    first.push_back(x);
    EXPECT_DOUBLE_EQ(x, b.at(t).cpu);
    EXPECT_GE(x, 0.0);
    EXPECT_LE(x, 1.0);
    EXPECT_LE(std::abs(x - prev), 0.05 + 1e-12) << "minute " << m;
    prev = x;
    vm_differs = vm_differs || other_vm.at(t).cpu != x;
    seed_differs = seed_differs || other_seed.at(t).cpu != x;
  }
  EXPECT_TRUE(vm_differs);
  EXPECT_TRUE(seed_differs);
  // Asking for an earlier time replays the same walk.
  EXPECT_DOUBLE_EQ(a.at(100min).cpu, first[100]);
}

TEST(workloads, spikes_take_their_share_of_the_time) {
  workload_spec s;
  s.type = "spikes";
  s.cpu = 0.1;
  s.peak = 0.9;
  s.every = 60min;
  s.length = 6min;
  auto w = make(s);
  int at_peak = 0;
  const int samples = 24 * 60;
  for (int m = 0; m < samples; ++m) {
    const auto x = w.at(std::chrono::minutes{m}).cpu;
    EXPECT_TRUE(x == 0.1 || x == 0.9) << x;
    at_peak += x == 0.9 ? 1 : 0;
  }
  EXPECT_EQ(at_peak, samples / 10);
}

TEST(workloads, traces_are_step_functions_of_a_csv) {
  test::temp_dir dir;
  const auto csv = dir.path() / "t.csv";
  write(csv, "seconds,cpu,memory\n0,1,2048\n60,3,4096\r\n# a comment\n120,8,8192\n");
  workload_spec s;
  s.type = "trace";
  s.path = csv;
  auto w = make(s);
  EXPECT_DOUBLE_EQ(w.at(0s).cpu, 0.25);
  EXPECT_DOUBLE_EQ(w.at(59s).cpu, 0.25);
  EXPECT_DOUBLE_EQ(w.at(60s).cpu, 0.75);
  EXPECT_DOUBLE_EQ(w.at(60s).memory, 0.5);
  EXPECT_DOUBLE_EQ(w.at(10h).cpu, 1.0);
  struct bad {
    std::string text;
    std::string line;
  };
  for (const auto& b : std::vector<bad>{{"0,1,2\n60,x,3\n", "2"},
                                        {"0,1,2\n60,1\n", "2"},
                                        {"0,1,2\n0,1,2\n", "2"},
                                        {"0,1,2\n30,-1,2\n", "2"},
                                        {"0,1,inf\n", "1"},
                                        {"", "0"},
                                        {"seconds,cpu,memory\n", "0"}}) {
    write(csv, b.text);
    const auto r = workload::make(s, vm_of("v1"), 1);
    ASSERT_FALSE(r) << b.text;
    EXPECT_EQ(r.error().details.at("line"), b.line) << b.text << ": " << r.error().message;
  }
  std::filesystem::resize_file(csv, (std::uintmax_t{16} << 20U) + 1);
  EXPECT_FALSE(workload::make(s, vm_of("v1"), 1)) << "a trace over 16 MiB";
}

TEST(workloads, folders_hold_one_file_per_vm) {
  test::temp_dir dir;
  write(dir.path() / "v1", "10\n50\n90\n");
  write(dir.path() / "v2.txt", "100\n");
  workload_spec s;
  s.type = "folder";
  s.path = dir.path();
  s.interval = 5min;
  s.memory = 0.4;
  auto w = make(s, "v1");
  EXPECT_DOUBLE_EQ(w.at(0min).cpu, 0.1);
  EXPECT_DOUBLE_EQ(w.at(5min).cpu, 0.5);
  EXPECT_DOUBLE_EQ(w.at(14min).cpu, 0.9);
  EXPECT_DOUBLE_EQ(w.at(15min).cpu, 0.1) << "past the end the file plays again";
  EXPECT_DOUBLE_EQ(w.at(15min).memory, 0.4);
  EXPECT_DOUBLE_EQ(make(s, "v2").at(0min).cpu, 1.0);
  EXPECT_FALSE(workload::make(s, vm_of("v3"), 1)) << "no file for v3";
  write(dir.path() / "v4", "10\n101\n");
  const auto r = workload::make(s, vm_of("v4"), 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().details.at("line"), "2");
}

} // namespace
} // namespace qx::sim
