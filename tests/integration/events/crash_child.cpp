// Appends from many concurrent streams and prints every acknowledged event as
//   ACK <position> <stream> <version>
// one line per event, written only after the store said the append is durable. The crash test
// SIGKILLs this process at a random moment and checks that every ACK survived.
//
// usage: events_crash_child DATA_DIR STREAMS SEED
#include <qx/events/rocksdb_store.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

void write_line(const std::string& line) {
  // One write(2) per line below PIPE_BUF is atomic, so lines from threads never interleave.
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    auto n = ::write(STDOUT_FILENO, p, left);
    if (n <= 0)
      std::_Exit(3);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DATA_DIR STREAMS SEED\n", argv[0]);
    return 2;
  }
  qx::events::rocksdb_store_options opts;
  opts.path = argv[1];
  const int streams = std::atoi(argv[2]);
  const auto seed = std::strtoull(argv[3], nullptr, 10);
  auto store = qx::events::open_rocksdb_store(opts);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().to_string().c_str());
    return 1;
  }
  write_line("READY\n");
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s)
    threads.emplace_back([&, s] {
      std::mt19937_64 rng{seed * 1000 + static_cast<unsigned>(s)};
      const auto stream = "crash-" + std::to_string(s);
      auto version = *(*store)->stream_version(stream);
      for (;;) {
        qx::events::append_request req;
        req.stream = stream;
        req.expected = qx::events::expected_version::exact(version);
        const auto count = 1 + rng() % 3; // multi-event appends must be all or nothing
        for (std::uint64_t i = 0; i < count; ++i)
          req.events.push_back(
              {"test.Crash", std::string(50 + rng() % 400, 'a' + static_cast<char>(s % 26))});
        req.metadata.actor = "test:crash";
        req.metadata.command_id = stream + "-" + std::to_string(version);
        auto r = (*store)->append(std::move(req));
        if (!r) {
          std::fprintf(stderr, "append: %s\n", r.error().to_string().c_str());
          std::_Exit(1);
        }
        for (std::uint32_t i = 0; i < r->count; ++i)
          write_line("ACK " + std::to_string(r->first_position + i) + " " + stream + " " +
                     std::to_string(r->first_version + i) + "\n");
        version = r->last_version;
      }
    });
  for (auto& t : threads)
    t.join();
}
