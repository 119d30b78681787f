#include "metrics.hpp"

#include <qx/actors/dropped_outcome.hpp>

#include <prometheus/text_serializer.h>

#include <type_traits>

namespace qx::api {

namespace {

prometheus::Gauge* gauge(prometheus::Registry& r, const std::string& name,
                         const std::string& help) {
  return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

prometheus::Counter* counter(prometheus::Registry& r, const std::string& name,
                             const std::string& help, const prometheus::Labels& labels = {}) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add(labels);
}

void advance(prometheus::Counter& c, std::uint64_t now, std::uint64_t before) {
  if (now > before)
    c.Increment(static_cast<double>(now - before));
}

template<class Metric>
prometheus::Family<Metric>& family(prometheus::Registry& r, const std::string& name,
                                   const std::string& help) {
  if constexpr (std::is_same_v<Metric, prometheus::Counter>)
    return prometheus::BuildCounter().Name(name).Help(help).Register(r);
  else
    return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

} // namespace

metrics::metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("qvdc_http_requests_total")
                    .Help("HTTP requests answered, by route pattern, method and status")
                    .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("qvdc_http_request_duration_seconds")
                   .Help("Time from a request's arrival to its answer, by route pattern")
                   .Register(*registry_)),
      dropped_failures_(prometheus::BuildGauge()
                            .Name("qvdc_dropped_outcome_failures")
                            .Help("Commands nobody waits for (reactors, agent reports, undo "
                                  "steps) that failed since start, by component")
                            .Register(*registry_)),
      agent_connected_(family<prometheus::Gauge>(*registry_, "qvdc_agent_connected",
                                                 "1 while the node's agent has a live session")),
      agent_pending_(family<prometheus::Gauge>(*registry_, "qvdc_agent_commands_pending",
                                               "Commands sent to the node's agent, not answered")),
      agent_heartbeat_(
          family<prometheus::Gauge>(*registry_, "qvdc_agent_last_heartbeat_unix_ms",
                                    "When the node's agent sent its latest heartbeat (its clock)")),
      agent_frames_(family<prometheus::Counter>(*registry_, "qvdc_agent_frames_received_total",
                                                "Frames handled from the node's agent")),
      agent_commands_(family<prometheus::Counter>(*registry_, "qvdc_agent_commands_sent_total",
                                                  "Commands sent to the node's agent")),
      agent_failures_(family<prometheus::Counter>(*registry_, "qvdc_agent_command_failures_total",
                                                  "Commands the node's agent answered failed")) {
  auto& r = *registry_;
  // The reactors' decisions, counted from the log as they are recorded (by cluster).
  const std::pair<const char*, std::pair<const char*, const char*>> decisions[] = {
      {"DrsRecommended",
       {"qvdc_drs_recommendations_total", "Moves DRS recorded (applied at once or pending)"}},
      {"DrsRecommendationApplied",
       {"qvdc_drs_recommendations_applied_total", "DRS moves whose migration was asked for"}},
      {"DrsRecommendationRejected",
       {"qvdc_drs_recommendations_rejected_total",
        "DRS moves rejected (by a user, STALE, refused)"}},
      {"HaNodeSuspected", {"qvdc_ha_nodes_suspected_total", "Nodes whose HA lease lapsed"}},
      {"HaNodeFailed",
       {"qvdc_ha_nodes_failed_total", "Nodes failed (lease + fence bound lapsed, or shut down)"}},
      {"HaRestartPlanned", {"qvdc_ha_restarts_total", "VM restarts HA planned"}},
      {"HaVmLeftDown", {"qvdc_ha_vms_left_down_total", "Protected VMs HA could not restart"}},
      {"HaAdmissionChanged",
       {"qvdc_ha_admission_changes_total", "Admission control breached or restored"}},
      {"DrsMaintenanceRequested",
       {"qvdc_drs_maintenance_requests_total", "Maintenance asked of DRS (enter or exit)"}},
      {"DrsRuleCompliance",
       {"qvdc_drs_rule_compliance_changes_total", "Strict rules found unmet, or met again"}},
  };
  for (const auto& [type, name_help] : decisions)
    decisions_[type] = &family<prometheus::Counter>(r, name_help.first, name_help.second);
  migrations_ = &prometheus::BuildCounter()
                     .Name("qvdc_vm_migrations_total")
                     .Help("VM migrations completed")
                     .Register(r)
                     .Add({});
  drs_passes_ = counter(r, "qvdc_drs_passes_total", "DRS passes run since start");
  drs_pass_seconds_ =
      gauge(r, "qvdc_drs_last_pass_seconds", "Wall time of DRS's latest pass over every cluster");
  drs_pass_cpu_seconds_ =
      gauge(r, "qvdc_drs_last_pass_cpu_seconds", "CPU time DRS's latest pass took on its thread");
  drs_imbalance_ = &family<prometheus::Gauge>(
      r, "qvdc_drs_imbalance", "Each DRS cluster's load imbalance (std. dev.) at the latest pass");
  drs_target_ = &family<prometheus::Gauge>(r, "qvdc_drs_target_imbalance",
                                           "The imbalance DRS balances down to, by cluster");
  watch_clients_ = gauge(r, "qvdc_watch_clients", "WebSocket watchers connected");
  in_flight_ = gauge(r, "qvdc_api_commands_in_flight", "Commands waiting for the actors");
  operations_running_ = gauge(r, "qvdc_operations_running", "Operations not yet finished");
  connections_ = gauge(r, "qvdc_http_connections", "Open HTTP and WebSocket connections");
  projection_position_ =
      gauge(r, "qvdc_projection_position", "Log position the read models have applied");
  projection_lag_ = gauge(r, "qvdc_projection_lag_events",
                          "Events durable in the log and not yet applied by the read models");
  projection_failed_ = gauge(r, "qvdc_projection_failed",
                             "1 when the read models stopped: a record of the log cannot be read "
                             "(/ready names it)");
  projection_skipped_ = gauge(r, "qvdc_projection_skipped_events",
                              "Events the read models could not apply and skipped since start");
  append_queue_ = gauge(r, "qvdc_log_append_queue_depth", "Appends waiting for the log writer");
  appends_ok_ = counter(r, "qvdc_log_appends_total", "Appends answered", {{"result", "ok"}});
  appends_failed_ = &prometheus::BuildCounter()
                         .Name("qvdc_log_appends_total")
                         .Help("Appends answered")
                         .Register(r)
                         .Add({{"result", "failed"}});
  append_conflicts_ =
      counter(r, "qvdc_log_append_conflicts_total", "Appends refused for a version conflict");
  events_written_ = counter(r, "qvdc_log_events_written_total", "Events made durable");
  batches_ = counter(r, "qvdc_log_batches_total", "Durable writes (group commits)");
  watch_overflows_ =
      counter(r, "qvdc_watch_overflows_total", "Watchers closed for falling too far behind");
  connections_refused_ =
      counter(r, "qvdc_http_connections_refused_total", "Connections refused at the cap");
  tls_handshake_failures_ = counter(r, "qvdc_tls_handshake_failures_total",
                                    "TLS handshakes that failed or timed out (--tls)");
}

void metrics::request(const std::string& route, const std::string& method, unsigned status,
                      std::chrono::nanoseconds latency) {
  requests_.Add({{"route", route}, {"method", method}, {"status", std::to_string(status)}})
      .Increment();
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
  latency_.Add({{"route", route}}, buckets).Observe(std::chrono::duration<double>(latency).count());
}

std::string metrics::render(const snapshot& s) {
  {
    std::lock_guard lock{mutex_};
    watch_clients_->Set(static_cast<double>(s.watch_clients));
    in_flight_->Set(static_cast<double>(s.in_flight));
    operations_running_->Set(static_cast<double>(s.operations_running));
    connections_->Set(static_cast<double>(s.connections));
    projection_position_->Set(static_cast<double>(s.projection_position));
    projection_lag_->Set(s.log_head > s.projection_position
                             ? static_cast<double>(s.log_head - s.projection_position)
                             : 0.0);
    append_queue_->Set(static_cast<double>(s.store.queue_depth));
    projection_failed_->Set(s.projection_failed ? 1.0 : 0.0);
    projection_skipped_->Set(static_cast<double>(s.projection_skipped));
    for (const auto& [component, n] : actors::dropped_failures())
      dropped_failures_.Add({{"component", component}}).Set(static_cast<double>(n));
    advance(*appends_ok_, s.store.appends_ok, last_.appends_ok);
    advance(*appends_failed_, s.store.appends_failed, last_.appends_failed);
    advance(*append_conflicts_, s.store.conflicts, last_.conflicts);
    advance(*events_written_, s.store.events_written, last_.events_written);
    advance(*batches_, s.store.batches, last_.batches);
    last_ = s.store;
    render_agents(s.agents);
    render_drs(s.drs);
  }
  return prometheus::TextSerializer{}.Serialize(registry_->Collect());
}

void metrics::render_agents(
    const std::vector<std::pair<std::string, actors::agent_status>>& agents) {
  for (const auto& [node, now] : agents) {
    const prometheus::Labels labels{{"node", node}};
    agent_connected_.Add(labels).Set(now.connected ? 1.0 : 0.0);
    agent_pending_.Add(labels).Set(static_cast<double>(now.commands_pending));
    if (now.heartbeat)
      agent_heartbeat_.Add(labels).Set(static_cast<double>(now.heartbeat->sent_unix_ms()));
    const auto& before = agents_last_[node];
    advance(agent_frames_.Add(labels), now.frames_in, before.frames_in);
    advance(agent_commands_.Add(labels), now.commands_sent, before.commands_sent);
    advance(agent_failures_.Add(labels), now.command_failures, before.command_failures);
    agents_last_[node] = {now.frames_in, now.commands_sent, now.command_failures};
  }
}

void metrics::render_drs(const actors::drs::pass_stats& drs) {
  if (drs.passes > drs_passes_seen_)
    drs_passes_->Increment(static_cast<double>(drs.passes - drs_passes_seen_));
  drs_passes_seen_ = std::max(drs_passes_seen_, drs.passes);
  drs_pass_seconds_->Set(std::chrono::duration<double>(drs.last_pass).count());
  drs_pass_cpu_seconds_->Set(std::chrono::duration<double>(drs.last_pass_cpu).count());
  for (const auto& [cluster, imbalance] : drs.imbalance) {
    drs_imbalance_->Add({{"cluster", cluster}}).Set(imbalance.first);
    drs_target_->Add({{"cluster", cluster}}).Set(imbalance.second);
  }
}

void metrics::on_event(const events::recorded_event& e) {
  constexpr std::string_view prefix = "qx.events.v1.";
  if (!e.type.starts_with(prefix))
    return;
  const auto type = e.type.substr(prefix.size());
  if (type == "VmMigrated") {
    migrations_->Increment();
    return;
  }
  const auto it = decisions_.find(type);
  if (it == decisions_.end())
    return;
  const auto dash = e.stream.find('-');
  const auto cluster = dash == std::string::npos ? std::string{} : e.stream.substr(dash + 1);
  it->second->Add({{"cluster", cluster}}).Increment();
}

} // namespace qx::api
