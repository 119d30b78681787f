#pragma once

// The server's Prometheus metrics (prometheus-cpp core; rendered by our own /metrics route).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <qx/actors/drs/controller.hpp>
#include <qx/actors/node_proxy.hpp>
#include <qx/events/types.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace qx::api {

class metrics {
 public:
  metrics();

  /// One answered request.
  void request(const std::string& route, const std::string& method, unsigned status,
               std::chrono::nanoseconds latency);

  /// A live event of the log (not the replay at start): DRS and HA decisions and migrations
  /// are counted by cluster (the decision streams are "drs-<cluster>" and "ha-<cluster>").
  void on_event(const events::recorded_event& e);

  /// Values read at scrape time.
  struct snapshot {
    events::store_stats store;
    std::uint64_t log_head = 0;
    std::uint64_t projection_position = 0;
    std::size_t watch_clients = 0;
    std::size_t in_flight = 0;
    std::size_t operations_running = 0;
    std::size_t connections = 0;
    bool projection_failed = false;       ///< The read models stopped (log unreadable).
    std::uint64_t projection_skipped = 0; ///< Events the read models could not apply.
    /// Each node's agent session as its proxy published it.
    std::vector<std::pair<std::string, actors::agent_status>> agents;
    actors::drs::pass_stats drs; ///< DRS's passes and each cluster's latest imbalance
  };
  /// The text exposition, after updating the scrape-time values from `s`.
  [[nodiscard]] std::string render(const snapshot& s);

  prometheus::Counter& watch_overflows() { return *watch_overflows_; }
  prometheus::Counter& connections_refused() { return *connections_refused_; }
  prometheus::Counter& tls_handshake_failures() { return *tls_handshake_failures_; }

 private:
  /// The node proxies' counters, by node.
  void render_agents(const std::vector<std::pair<std::string, actors::agent_status>>& agents);
  void render_drs(const actors::drs::pass_stats& drs);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Gauge* watch_clients_;
  prometheus::Gauge* in_flight_;
  prometheus::Gauge* operations_running_;
  prometheus::Gauge* connections_;
  prometheus::Gauge* projection_position_;
  prometheus::Gauge* projection_lag_;
  prometheus::Gauge* append_queue_;
  prometheus::Gauge* projection_failed_;
  prometheus::Gauge* projection_skipped_;
  prometheus::Family<prometheus::Gauge>& dropped_failures_;
  prometheus::Family<prometheus::Gauge>& agent_connected_;
  prometheus::Family<prometheus::Gauge>& agent_pending_;
  prometheus::Family<prometheus::Gauge>& agent_heartbeat_;
  prometheus::Family<prometheus::Counter>& agent_frames_;
  prometheus::Family<prometheus::Counter>& agent_commands_;
  prometheus::Family<prometheus::Counter>& agent_failures_;
  /// Decisions by event type (short name) and cluster: one family per series name.
  std::unordered_map<std::string, prometheus::Family<prometheus::Counter>*> decisions_;
  prometheus::Counter* migrations_;
  prometheus::Counter* drs_passes_;
  prometheus::Gauge* drs_pass_seconds_;
  prometheus::Gauge* drs_pass_cpu_seconds_;
  std::uint64_t drs_passes_seen_ = 0; ///< DRS's count at the last scrape
  prometheus::Family<prometheus::Gauge>* drs_imbalance_;
  prometheus::Family<prometheus::Gauge>* drs_target_;
  struct agent_counters {
    std::uint64_t frames_in = 0;
    std::uint64_t commands_sent = 0;
    std::uint64_t command_failures = 0;
  };
  std::unordered_map<std::string, agent_counters> agents_last_; ///< At the last scrape.
  prometheus::Counter* appends_ok_;
  prometheus::Counter* appends_failed_;
  prometheus::Counter* append_conflicts_;
  prometheus::Counter* events_written_;
  prometheus::Counter* batches_;
  prometheus::Counter* watch_overflows_;
  prometheus::Counter* connections_refused_;
  prometheus::Counter* tls_handshake_failures_;
  std::mutex mutex_;
  events::store_stats last_{};
  /// Per (route, method, status): the counter and the route's histogram, found once.
  std::mutex series_mutex_;
  std::unordered_map<std::string, std::pair<prometheus::Counter*, prometheus::Histogram*>> series_;
};

} // namespace qx::api
