// One VM on real QEMU under a real libvirtd: the control plane and a qx-node agent on
// qemu:///system, the VM created through the API from a raw volume holding a tiny boot sector.
// It boots (its serial console prints QX-BOOT-OK), virsh sees it running, and a stop through
// the API ends the qemu process. TCG (domain type "qemu"): /dev/kvm is not guaranteed.
//
// Label "qemu": needs root and the packages scripts/install-deps installs; libvirtd is started
// (and stopped) by tests/e2e/libvirtd.sh. Where libvirtd cannot start the test fails, it is not
// skipped: leave it out with `ctest -LE qemu`.
#include "datacenter_fixture.hpp"
#include "shell_command.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace qx::test {
namespace {

namespace fs = std::filesystem;

/// stdout and stderr of a shell command, and its exit status.
std::pair<std::string, int> run(const std::string& command) {
  auto r = run_shell(command + " 2>&1");
  return {std::move(r.out), r.exit_code};
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

/// 512 bytes of x86 real-mode code: writes QX-BOOT-OK to COM1 (port 0x3f8), then halts.
std::string boot_sector() {
  const std::string code{"\x31\xC0"     // xor ax, ax
                         "\x8E\xD8"     // mov ds, ax
                         "\xFC"         // cld
                         "\xBA\xF8\x03" // mov dx, 0x3f8
                         "\xBE\x18\x7C" // mov si, 0x7c18 (the message, below)
                         "\xAC"         // next: lodsb
                         "\x84\xC0"     // test al, al
                         "\x74\x03"     // jz halt
                         "\xEE"         // out dx, al
                         "\xEB\xF8"     // jmp next
                         "\xF4"         // halt: hlt
                         "\xEB\xFD"     // jmp halt
                         "\x90\x90",    // nop nop (the message starts at offset 0x18)
                         24};
  std::string sector = code + "QX-BOOT-OK\r\n" + std::string(1, '\0');
  sector.resize(510, '\0');
  return sector + "\x55\xAA";
}

const std::string& state_dir() {
  static const std::string dir =
      (fs::temp_directory_path() / ("qx-libvirtd-" + std::to_string(::getpid()))).string();
  return dir;
}

constexpr auto lease = 6000ms;
constexpr auto fence_bound = 2000ms;

class e2e_qemu : public datacenter_fixture {
 public:
  e2e_qemu() {
    serve_args_ = {"--ha-lease-ms", std::to_string(lease.count()), "--ha-fence-bound-ms",
                   std::to_string(fence_bound.count())};
  }
  static void SetUpTestSuite() {
    const auto [out, rc] = run(std::string{QX_LIBVIRTD_SCRIPT} + " start " + state_dir());
    libvirtd_up_ = rc == 0;
    libvirtd_log_ = out;
  }
  static void TearDownTestSuite() {
    static_cast<void>(run(std::string{QX_LIBVIRTD_SCRIPT} + " stop " + state_dir()));
  }

 protected:
  /// An agent on qemu:///system joined as node `node_`, a pool on it with a raw volume
  /// holding the boot sector, and VM `vm_` (HA priority `priority`) started there from it.
  void boot_a_vm(int priority = 0) {
    ASSERT_TRUE(libvirtd_up_) << "libvirtd did not start (run ctest -LE qemu to leave this "
                                 "test out):\n"
                              << libvirtd_log_;
    fs::create_directories(serial_dir_);
    add_agent_on("qemu", "qemu:///system", agent_args());
    ASSERT_FALSE(agents_["qemu"].token.empty()) << diagnostics();
    auto r = discover("qemu", node_);
    ASSERT_EQ(r.status, 201u) << r.body << diagnostics();
    ASSERT_TRUE(eventually([&] {
      return get("/api/v1/nodes/" + node_ + "/agent").value("connected", false);
    })) << diagnostics();

    // A pool on the node, and a raw 1 MiB volume in it.
    r = api_->post("/api/v1/storage/pools", json{{"id", pool_},
                                                 {"name", "qemu test pool"},
                                                 {"type", "dir"},
                                                 {"settings", {{"path", pool_dir_.string()}}},
                                                 {"capacityBytes", 1U << 30U}}
                                                .dump());
    ASSERT_EQ(r.status, 201u) << r.body;
    r = api_->post("/api/v1/storage/pools/" + pool_ + "/nodes/" + node_, "{}");
    ASSERT_LT(r.status, 300u) << r.body;
    r = api_->post("/api/v1/volumes", json{{"id", disk_},
                                           {"name", "boot disk"},
                                           {"poolId", pool_},
                                           {"sizeBytes", 1U << 20U},
                                           {"format", "raw"}}
                                          .dump());
    ASSERT_EQ(r.status, 201u) << r.body;
    const auto volume_file = pool_dir_ / disk_;
    ASSERT_TRUE(eventually([&] { return fs::exists(volume_file); }))
        << "libvirt did not create " << volume_file << "\n"
        << diagnostics();
    {
      // The guest's disk: the boot sector written into the volume libvirt created.
      const int fd = ::open(volume_file.c_str(), O_WRONLY);
      ASSERT_GE(fd, 0) << volume_file;
      const auto sector = boot_sector();
      EXPECT_EQ(::pwrite(fd, sector.data(), sector.size(), 0), static_cast<ssize_t>(sector.size()));
      ::close(fd);
    }

    r = api_->post("/api/v1/vms", json{{"id", vm_},
                                       {"spec",
                                        {{"name", "boot sector"},
                                         {"vcpus", 1},
                                         {"memoryMib", 32},
                                         {"haRestartPriority", priority},
                                         {"volumeIds", json::array({disk_})}}}}
                                      .dump());
    ASSERT_EQ(r.status, 201u) << r.body;
    r = api_->post("/api/v1/vms/" + vm_ + "/start", json{{"nodeId", node_}}.dump());
    ASSERT_LT(r.status, 300u) << r.body;
    ASSERT_TRUE(vm_power(vm_, "running")) << get("/api/v1/vms/" + vm_).dump() << diagnostics();
  }

  [[nodiscard]] std::vector<std::string> agent_args() const {
    return {"--domain-type", "qemu", "--serial-log-dir", serial_dir_.string()};
  }

  /// The pid of the qemu process libvirt started for the VM.
  [[nodiscard]] pid_t qemu_pid() const {
    std::string pid_text;
    std::ifstream{"/run/libvirt/qemu/" + vm_ + ".pid"} >> pid_text;
    return pid_text.empty() ? 0 : static_cast<pid_t>(std::stol(pid_text));
  }

  const std::string suffix_ = std::to_string(::getpid());
  const std::string node_ = "qxe2e-node-" + suffix_;
  const std::string pool_ = "qxe2e-pool-" + suffix_;
  const std::string disk_ = "qxe2e-disk-" + suffix_;
  const std::string vm_ = "qxe2e-vm-" + suffix_;
  const fs::path serial_dir_ = dir_.path() / "serial";
  const fs::path pool_dir_ = dir_.path() / "pool";
  static bool libvirtd_up_;
  static std::string libvirtd_log_;
};

bool e2e_qemu::libvirtd_up_ = false;
std::string e2e_qemu::libvirtd_log_;

TEST_F(e2e_qemu, a_vm_created_through_the_api_boots_on_qemu_and_stops_through_the_api) {
  ASSERT_NO_FATAL_FAILURE(boot_a_vm());
  const auto& vm = vm_;
  const auto& serial_dir = serial_dir_;

  // virsh, through the same libvirtd, sees the domain running.
  EXPECT_EQ(trimmed(run("virsh -c qemu:///system domstate " + vm).first), "running");
  // The guest ran its boot sector: its message is on the serial console's log.
  const auto serial_log = serial_dir / (vm + ".serial.log");
  std::string console;
  EXPECT_TRUE(eventually(
      [&] {
        std::ifstream in{serial_log};
        console.assign(std::istreambuf_iterator<char>{in}, {});
        return console.find("QX-BOOT-OK") != std::string::npos;
      },
      30s))
      << "serial console: " << console;
  // The qemu process libvirt started.
  std::string pid_text;
  std::ifstream{"/run/libvirt/qemu/" + vm + ".pid"} >> pid_text;
  ASSERT_FALSE(pid_text.empty()) << "no pid file for " << vm;
  const pid_t qemu = static_cast<pid_t>(std::stol(pid_text));
  std::string cmdline;
  std::ifstream{"/proc/" + pid_text + "/cmdline"} >> cmdline;
  EXPECT_NE(cmdline.find("qemu-system"), std::string::npos) << cmdline;

  // A boot sector has no ACPI, so a guest shutdown would never come: power off, as a user
  // would after the guest ignored the shutdown.
  auto r = api_->post("/api/v1/vms/" + vm + "/force-stop",
                      json{{"reason", "the boot sector ignores ACPI"}}.dump());
  ASSERT_LT(r.status, 300u) << r.body;
  EXPECT_TRUE(vm_power(vm, "stopped")) << get("/api/v1/vms/" + vm).dump();
  EXPECT_TRUE(eventually([&] { return ::kill(qemu, 0) != 0 && errno == ESRCH; }))
      << "qemu " << qemu << " still runs after the stop";
  // libvirtd finishes its cleanup of the ended process a moment later ("in shutdown" first).
  std::string state;
  EXPECT_TRUE(eventually([&] {
    state = trimmed(run("virsh -c qemu:///system domstate " + vm).first);
    return state == "shut off";
  })) << state;

  // Deleting the VM removes the definition from libvirt.
  r = api_->del("/api/v1/vms/" + vm);
  EXPECT_LT(r.status, 300u) << r.body;
  EXPECT_TRUE(eventually([&] {
    return run("virsh -c qemu:///system dominfo " + vm + " >/dev/null").second != 0;
  })) << "the domain is still defined";
}

// HA on real QEMU: the agent is SIGKILLed while a protected VM runs under libvirtd. The VM
// does not die with it (libvirtd owns the qemu process), the agent comes back within its lease
// and reconciles, and HA restarts nothing: the node is never suspected or failed, and the same
// qemu process runs on.
TEST_F(e2e_qemu, an_agent_killed_and_back_within_its_lease_leaves_the_vm_running) {
  ASSERT_NO_FATAL_FAILURE(boot_a_vm(5));
  auto r = api_->post("/api/v1/clusters",
                      json{{"id", "c1"}, {"name", "c1"}, {"ha", {{"enabled", true}}}}.dump());
  ASSERT_EQ(r.status, 201u) << r.body;
  r = api_->post("/api/v1/clusters/c1/nodes/" + node_, "{}");
  ASSERT_LT(r.status, 300u) << r.body;
  const auto qemu = qemu_pid();
  ASSERT_GT(qemu, 0) << "no pid file for " << vm_;
  const auto epoch = get("/api/v1/nodes/" + node_ + "/agent").value("epoch", 0ULL);

  const auto killed_at = std::chrono::steady_clock::now();
  agents_["qemu"].proc->stop(SIGKILL);
  start_agent("qemu", agent_args());
  ASSERT_TRUE(eventually([&] {
    const auto a = get("/api/v1/nodes/" + node_ + "/agent");
    return a.value("connected", false) && a.value("epoch", 0ULL) > epoch;
  })) << diagnostics();
  const auto back_after = std::chrono::steady_clock::now() - killed_at;
  EXPECT_LT(back_after, lease) << "the agent took longer than its lease to return";

  // Until well past lease + fence bound from the kill, HA sees the node alive and the VM runs.
  const auto until = killed_at + lease + fence_bound + 1s;
  while (std::chrono::steady_clock::now() < until) {
    const auto ha = get("/api/v1/clusters/c1/ha");
    for (const auto& n : ha.value("nodes", json::array()))
      ASSERT_EQ(n.value("state", ""), "alive") << ha.dump() << diagnostics();
    ASSERT_EQ(::kill(qemu, 0), 0) << "the qemu process died";
    std::this_thread::sleep_for(200ms); // polling a condition that must stay true
  }
  for (const auto* type : {"HaNodeSuspected", "HaNodeFailed", "HaRestartPlanned"})
    for (const auto& e : get("/api/v1/events?stream=ha-c1").value("items", json::array()))
      EXPECT_NE(e.value("type", ""), std::string{"qx.events.v1."} + type) << e.dump();
  EXPECT_EQ(trimmed(run("virsh -c qemu:///system domstate " + vm_).first), "running");
  const auto v = get("/api/v1/vms/" + vm_);
  EXPECT_EQ(v.value("powerState", ""), "running") << v.dump();
  EXPECT_EQ(v.value("nodeId", ""), node_) << v.dump();
  EXPECT_EQ(qemu_pid(), qemu) << "the VM was restarted";
  for (const auto& e : get("/api/v1/events?stream=vm-" + vm_).value("items", json::array()))
    EXPECT_EQ(e["data"].value("reason", "").find("FOUND_STOPPED"), std::string::npos) << e.dump();

  // Leave libvirtd clean: the boot sector ignores ACPI.
  r = api_->post("/api/v1/vms/" + vm_ + "/force-stop", json{{"reason", "test over"}}.dump());
  EXPECT_LT(r.status, 300u) << r.body;
  EXPECT_TRUE(vm_power(vm_, "stopped")) << diagnostics();
  r = api_->del("/api/v1/vms/" + vm_);
  EXPECT_LT(r.status, 300u) << r.body;
}

} // namespace
} // namespace qx::test
