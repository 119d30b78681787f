// A control plane that is killed: registers a node, then creates and starts VMs from many
// concurrent clients through the datacenter coordinator, printing one line per acknowledged
// command:  ACK <vm-id> <version>
//
// usage: actors_crash_child DATA_DIR CLIENTS ROUND
#include <qx/actors/datacenter.hpp>
#include <qx/events/rocksdb_store.hpp>

#include <caf/all.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace qx;
using namespace qx::actors;

namespace {

void say(const std::string& line) {
  if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    std::_Exit(3);
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 4)
    return 2;
  const std::string round = argv[3];
  events::rocksdb_store_options opts;
  opts.path = argv[1];
  auto store = events::open_rocksdb_store(opts);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().to_string().c_str());
    return 1;
  }
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", std::size_t{2});
  caf::actor_system sys{cfg};
  auto dc = spawn_datacenter(sys, **store);
  if (!dc)
    return 1;
  const int clients = std::atoi(argv[2]);
  const command_meta meta{"test:crash", "", "", "", {}};
  {
    caf::scoped_actor self{sys};
    domain::node::register_node r{"host", "10.0.0.1", {}, ""};
    r.hardware.set_cpu_cores(1024);
    r.hardware.set_cpu_threads(4096);
    r.hardware.set_memory_mib(std::uint64_t{1} << 24U); // 16 TiB
    auto once = meta;
    once.command_id = "register-host-1"; // a restarted child's registration is a retry
    self->request(dc->coordinator, caf::infinite,
                  command_request<node_aggregate>{"host-1", r, once})
        .receive(
            [](command_outcome& registered) {
              if (!registered) {
                std::fprintf(stderr, "register: %s\n", registered.error().to_string().c_str());
                std::_Exit(6);
              }
            },
            [](caf::error&) { std::_Exit(6); });
  }
  say("READY\n");
  // Each client loops: create vm-<client>-<n>, then start it; prints each acknowledged step.
  for (int c = 0; c < clients; ++c)
    sys.spawn(
        [&, c](caf::event_based_actor* self, int /*unused, see tests/README.md*/) {
          auto n = std::make_shared<int>(0);
          auto step = std::make_shared<std::function<void()>>();
          *step = [=, coord = dc->coordinator]() {
            const auto id = "vm-" + round + "-" + std::to_string(c) + "-" + std::to_string((*n)++);
            events::v1::VmSpec spec;
            spec.set_name(id);
            spec.set_vcpus(1);
            spec.set_memory_mib(64);
            self->request(coord, caf::infinite,
                          command_request<vm_aggregate>{id, domain::vm::create{spec}, meta})
                .then([=](command_outcome& created) {
                  if (!created) {
                    std::fprintf(stderr, "create %s: %s\n", id.c_str(),
                                 created.error().to_string().c_str());
                    std::_Exit(4);
                  }
                  say("ACK " + id + " " + std::to_string(created->version) + "\n");
                  self->request(coord, caf::infinite, start_vm{id, "", meta, {}})
                      .then([=](placement_outcome& started) {
                        if (!started) {
                          std::fprintf(stderr, "start %s: %s\n", id.c_str(),
                                       started.error().to_string().c_str());
                          std::_Exit(5);
                        }
                        say("ACK " + id + " " + std::to_string(started->vm.version) + "\n");
                        (*step)();
                      });
                });
          };
          (*step)();
        },
        0);
  for (;;)
    pause(); // runs until killed
}
