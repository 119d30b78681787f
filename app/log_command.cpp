#include "log_command.hpp"

#include "demo_history.hpp"
#include "open_log.hpp"

#include <qx/base/paths.hpp>
#include <qx/events/payload_json.hpp>
#include <qx/events/verify.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

namespace qx::app {

namespace {

constexpr std::size_t read_batch = 4096;

struct log_args {
  std::string data_dir = "./var/qvdc";
  std::uint64_t from = 1;
  std::uint64_t to = 0; // 0: up to the head
  std::string stream;
};

result<std::unique_ptr<events::event_store>> open_store(const log_args& args, bool read_only) {
  // The tools must open a damaged log to report on it; verify does the full check itself.
  return open_log(args.data_dir, read_only, false);
}

std::string rfc3339(std::int64_t unix_ns) {
  const auto secs = unix_ns / 1'000'000'000;
  const auto nanos = unix_ns % 1'000'000'000;
  std::time_t t = secs;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%09lldZ", static_cast<long long>(nanos));
  return std::string{buf, n} + frac;
}

nlohmann::json to_json(const events::recorded_event& ev) {
  nlohmann::json j;
  j["position"] = ev.position;
  j["stream"] = ev.stream;
  j["version"] = ev.version;
  j["type"] = ev.type;
  j["time"] = rfc3339(ev.time_unix_ns);
  j["actor"] = ev.metadata.actor;
  j["correlation_id"] = ev.metadata.correlation_id;
  j["causation_id"] = ev.metadata.causation_id;
  j["command_id"] = ev.metadata.command_id;
  j["prev_hash"] =
      events::to_hex({reinterpret_cast<const char*>(ev.prev_hash.data()), ev.prev_hash.size()});
  if (auto payload = events::payload_to_json(ev.type, ev.payload); payload)
    j["payload"] = nlohmann::json::parse(*payload);
  else
    j["payload_hex"] = events::to_hex(ev.payload);
  return j;
}

int run_verify(const log_args& args) {
  auto store = open_store(args, true);
  if (!store)
    return report_failure("log", store.error());
  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  auto report = events::verify_log(**store, 1, [&](std::uint64_t checked, std::uint64_t head) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_report > std::chrono::seconds{2}) {
      last_report = now;
      std::cerr << "verify: " << checked << " of " << head << " records\n";
    }
  });
  if (!report)
    return report_failure("log", report.error());
  nlohmann::json out;
  out["ok"] = report->ok;
  out["records"] = report->records;
  out["last_position"] = report->last_position;
  const auto head = (*store)->head();
  out["head_position"] = head.position;
  out["head_hash"] =
      events::to_hex({reinterpret_cast<const char*>(head.hash.data()), head.hash.size()});
  if (!report->ok) {
    out["break_position"] = *report->break_position;
    out["problem"] = report->problem;
  }
  std::cout << out.dump() << "\n";
  return report->ok ? exit_ok : exit_broken;
}

int run_dump(const log_args& args) {
  auto store = open_store(args, true);
  if (!store)
    return report_failure("log", store.error());
  const auto to = args.to == 0 ? ~std::uint64_t{0} : args.to;
  auto emit = [&](const std::vector<events::recorded_event>& batch) {
    for (const auto& ev : batch)
      if (ev.position <= to)
        std::cout << to_json(ev).dump() << "\n";
  };
  if (!args.stream.empty()) {
    // A stream filter reads the stream's own index rather than scanning the whole log.
    for (std::uint64_t version = 1;;) {
      auto batch = (*store)->read_stream(args.stream, version, read_batch);
      if (!batch)
        return report_failure("log", batch.error());
      if (batch->empty())
        return exit_ok;
      std::erase_if(*batch, [&](const auto& ev) { return ev.position < args.from; });
      emit(*batch);
      version += read_batch;
    }
  }
  for (auto pos = args.from; pos <= to;) {
    auto batch = (*store)->read_all(pos, read_batch);
    if (!batch)
      return report_failure("log", batch.error());
    if (batch->empty())
      break;
    emit(*batch);
    pos = batch->back().position + 1;
  }
  return exit_ok;
}

int run_stats(const log_args& args) {
  auto store = open_store(args, true);
  if (!store)
    return report_failure("log", store.error());
  std::uint64_t records = 0;
  std::uint64_t record_bytes = 0;
  std::uint64_t payload_bytes = 0;
  std::set<std::string> streams;
  std::map<std::string, std::uint64_t> by_type;
  std::int64_t first_time = 0;
  std::int64_t last_time = 0;
  for (std::uint64_t pos = 1;;) {
    auto raw = (*store)->read_raw(pos, read_batch);
    if (!raw)
      return report_failure("log", raw.error());
    if (raw->empty())
      break;
    auto decoded = (*store)->read_all(pos, raw->size());
    if (!decoded)
      return report_failure("log", decoded.error());
    for (const auto& r : *raw)
      record_bytes += r.bytes.size();
    for (const auto& ev : *decoded) {
      ++records;
      payload_bytes += ev.payload.size();
      streams.insert(ev.stream);
      ++by_type[ev.type];
      if (first_time == 0)
        first_time = ev.time_unix_ns;
      last_time = ev.time_unix_ns;
    }
    pos = raw->back().position + 1;
  }
  std::uint64_t disk_bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(args.data_dir))
    if (entry.is_regular_file())
      disk_bytes += entry.file_size();
  const auto head = (*store)->head();
  nlohmann::json out;
  out["records"] = records;
  out["streams"] = streams.size();
  out["record_bytes"] = record_bytes;
  out["payload_bytes"] = payload_bytes;
  out["disk_bytes"] = disk_bytes;
  out["head_position"] = head.position;
  out["head_hash"] =
      events::to_hex({reinterpret_cast<const char*>(head.hash.data()), head.hash.size()});
  out["by_type"] = by_type;
  if (records > 0) {
    out["first_time"] = rfc3339(first_time);
    out["last_time"] = rfc3339(last_time);
  }
  std::cout << out.dump(2) << "\n";
  return exit_ok;
}

int run_demo(const log_args& args) {
  {
    std::error_code ec;
    std::filesystem::create_directories(args.data_dir, ec);
    auto store = open_store(args, false);
    if (!store)
      return report_failure("log", store.error());
    if (auto ok = append_demo_history(**store); !ok)
      return report_failure("log", ok.error());
  }
  std::cout << "demo history written to " << args.data_dir << "; its statistics:\n";
  return run_stats(args);
}

} // namespace

void add_log_command(CLI::App& app, int& exit_code) {
  auto* log = app.add_subcommand("log", "inspect and check the event log");
  log->require_subcommand(1);
  auto args = std::make_shared<log_args>();
  auto data_dir = [&](CLI::App* sub) {
    sub->add_option("--data-dir", args->data_dir, "the event log's folder")
        ->transform(qx::absolute_path, "", "PATH")
        ->capture_default_str();
  };
  auto* verify = log->add_subcommand(
      "verify", "check the hash chain and that positions have no gap (exit 0 only if whole)");
  data_dir(verify);
  verify->callback([args, &exit_code] { exit_code = run_verify(*args); });

  auto* dump = log->add_subcommand("dump", "print events as JSON lines");
  data_dir(dump);
  dump->add_option("--from", args->from, "first position")->check(CLI::PositiveNumber);
  dump->add_option("--to", args->to, "last position (default: the head)");
  dump->add_option("--stream", args->stream, "only this stream");
  dump->callback([args, &exit_code] { exit_code = run_dump(*args); });

  auto* stats = log->add_subcommand("stats", "print counts and sizes");
  data_dir(stats);
  stats->callback([args, &exit_code] { exit_code = run_stats(*args); });

  auto* demo = log->add_subcommand("demo", "write a small sample history, then print its stats");
  data_dir(demo);
  demo->callback([args, &exit_code] { exit_code = run_demo(*args); });
}

} // namespace qx::app
