// The end of a run: the acknowledged-commands check, the result, and the files in the output
// folder (events.jsonl, metrics.csv, report.html, notes.txt).
#include "engine.hpp"

#include <qx/events/payload_json.hpp>
#include <qx/events/text_fields.hpp>
#include <qx/events/v1/drs.pb.h>
#include <qx/events/v1/ha.pb.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string_view>

namespace qx::sim {

namespace {

status write_file(const std::filesystem::path& path,
                  const std::function<void(std::ostream&)>& body) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  if (!out)
    return error{errc::io_error, "cannot write " + path.string(), {{"field", "out"}}};
  body(out);
  out.flush();
  if (!out)
    return error{errc::io_error, "cannot write " + path.string(), {{"field", "out"}}};
  return {};
}

/// One event as a JSON line; the payload rendered with its schema.
std::string json_line(const events::recorded_event& e) {
  nlohmann::ordered_json j;
  j["position"] = e.position;
  j["stream"] = e.stream;
  j["version"] = e.version;
  j["type"] = e.type;
  j["time_unix_ms"] = e.time_unix_ns / 1'000'000;
  j["actor"] = e.metadata.actor;
  if (!e.metadata.correlation_id.empty())
    j["correlation_id"] = e.metadata.correlation_id;
  auto payload = events::payload_to_json(e.type, e.payload);
  j["payload"] = payload ? nlohmann::ordered_json::parse(*payload) : nlohmann::ordered_json{};
  return j.dump();
}

/// The payload of `e` as message M, or nullopt when it does not parse.
template<class M>
std::optional<M> payload_as(const events::recorded_event& e) {
  M m;
  if (!events::parse_message(m, e.payload))
    return std::nullopt;
  return m;
}

/// One DRS or HA decision from event `e`, if it is one. `vm_of` maps a DRS recommendation's
/// id to its VM (a rejection names only the recommendation).
std::optional<decision> decision_of(const events::recorded_event& e,
                                    std::map<std::string, std::string>& vm_of) {
  constexpr std::string_view prefix = "qx.events.v1.";
  const auto kind = e.type.substr(std::min(e.type.size(), prefix.size()));
  if (e.type == "qx.events.v1.DrsRecommended") {
    const auto m = payload_as<events::v1::DrsRecommended>(e);
    if (!m)
      return std::nullopt;
    vm_of[m->recommendation_id()] = m->vm_id();
    return decision{{},
                    kind,
                    m->vm_id(),
                    m->source_node_id() + " -> " + m->target_node_id() +
                        (m->automatic() ? ", automatic" : ", awaiting approval"),
                    m->reason()};
  }
  if (e.type == "qx.events.v1.DrsRecommendationRejected") {
    const auto m = payload_as<events::v1::DrsRecommendationRejected>(e);
    if (!m)
      return std::nullopt;
    return decision{{},
                    kind,
                    vm_of[m->recommendation_id()],
                    "recommendation " + m->recommendation_id(),
                    m->reason()};
  }
  if (e.type == "qx.events.v1.HaNodeFailed") {
    const auto m = payload_as<events::v1::HaNodeFailed>(e);
    if (!m)
      return std::nullopt;
    return decision{
        {}, kind, m->node_id(), std::to_string(m->vm_ids_size()) + " VMs on it", "HEARTBEAT_LOST"};
  }
  if (e.type == "qx.events.v1.HaRestartPlanned") {
    const auto m = payload_as<events::v1::HaRestartPlanned>(e);
    if (!m)
      return std::nullopt;
    return decision{{},
                    kind,
                    m->vm_id(),
                    m->failed_node_id() + " -> " + m->target_node_id() + ", priority " +
                        std::to_string(m->priority()) + ", attempt " + std::to_string(m->attempt()),
                    "NODE_FAILED"};
  }
  if (e.type == "qx.events.v1.HaVmLeftDown") {
    const auto m = payload_as<events::v1::HaVmLeftDown>(e);
    if (!m)
      return std::nullopt;
    return decision{{}, kind, m->vm_id(), "", m->reason()};
  }
  return std::nullopt;
}

/// DRS's and HA's decisions in the log, each at its simulated time.
std::vector<decision> decisions_of(const std::vector<events::recorded_event>& log,
                                   std::int64_t epoch_unix_ms) {
  std::vector<decision> out;
  std::map<std::string, std::string> vm_of;
  for (const auto& e : log)
    if (auto d = decision_of(e, vm_of)) {
      d->at = sim_duration{e.time_unix_ns / 1'000'000 - epoch_unix_ms};
      out.push_back(std::move(*d));
    }
  return out;
}

} // namespace

result<run_result> engine::finish() {
  run_result out;
  auto all = store_->read_all(1, std::numeric_limits<std::size_t>::max());
  if (!all)
    return std::move(all).error();
  std::vector<std::string> violations = world_.violations();
  // Every acknowledged command is in the log: its positions exist and hold its events.
  const auto last = all->empty() ? 0 : all->back().position;
  for (const auto& [first, count] : acknowledged_)
    if (first == 0 || first + count - 1 > last)
      violations.push_back("acknowledged command at position " + std::to_string(first) + " (" +
                           std::to_string(count) + " events) is not in the log");
  const auto head = store_->head();
  auto& s = out.summary;
  s.scenario = scenario_.name;
  s.seed = opts_.seed;
  s.duration = scenario_.duration;
  s.log_hash = events::to_hex({reinterpret_cast<const char*>(head.hash.data()), head.hash.size()});
  s.events = all->size();
  s.migrations = migrations_;
  s.restarts = restarts_;
  s.violations = violations;
  s.downtime = downtime_;
  s.refusals = refusals_;
  s.notes = notes_;
  s.decisions = decisions_of(*all, opts_.epoch_unix_ms);
  s.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  out.samples = samples_;
  out.event_counts = event_counts_;
  for (const auto& [id, vm] : world_.vms())
    if (auto host = world_.host_of(id); !host.empty())
      out.placement[id] = host;
  for (const auto& [id, vm] : view_.vms())
    out.power[id] = vm.power;
  out.meant_to_run = {desired_.begin(), desired_.end()};
  if (opts_.out_dir.empty())
    return out;
  std::error_code ec;
  std::filesystem::create_directories(opts_.out_dir, ec);
  if (ec)
    return error{errc::io_error,
                 "cannot create " + opts_.out_dir.string() + ": " + ec.message(),
                 {{"field", "out"}}};
  for (const auto& [name, body] : std::vector<
           std::pair<std::string, std::function<void(std::ostream&)>>>{{"events.jsonl",
                                                                        [&](std::ostream& o) {
                                                                          for (const auto& e : *all)
                                                                            o << json_line(e)
                                                                              << '\n';
                                                                        }},
                                                                       {"metrics.csv",
                                                                        [&](std::ostream& o) {
                                                                          write_metrics_csv(
                                                                              o, samples_);
                                                                        }},
                                                                       {"report.html",
                                                                        [&](std::ostream& o) {
                                                                          o << render_report(
                                                                              s, samples_);
                                                                        }},
                                                                       {"notes.txt",
                                                                        [&](std::ostream& o) {
                                                                          for (const auto& n :
                                                                               notes_)
                                                                            o << n << '\n';
                                                                        }}})
    if (auto ok = write_file(opts_.out_dir / name, body); !ok)
      return std::move(ok).error();
  return out;
}

result<run_result> run_scenario(const scenario& s, const run_options& opts) {
  engine e{s, opts};
  return e.play();
}

} // namespace qx::sim
