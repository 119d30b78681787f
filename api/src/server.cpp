// The server: the log, the actors, the read models and the network, started and stopped in
// an order that never lets a callback outlive what it touches.
#include "console_files.hpp"
#include "context.hpp"
#include "first_admin.hpp"
#include "hypervisor_stand_in.hpp"
#include "image_upload.hpp"
#include "metrics.hpp"
#include "net_server.hpp"
#include "router.hpp"
#include "watch_hub.hpp"

#include <qx/actors/datacenter.hpp>
#include <qx/actors/reactor_wiring.hpp>
#include <qx/api/server.hpp>
#include <qx/events/rocksdb_store.hpp>
#include <qx/security/tls_identity.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>

namespace qx::api {

namespace {

/// Fills in the default certificate paths (<data dir>/tls), makes a self-signed pair there
/// when neither file exists yet, and answers the certificate's pin.
result<std::string> prepare_tls(server_options& opts) {
  namespace fs = std::filesystem;
  if (opts.tls_cert_file.empty() != opts.tls_key_file.empty())
    return error{errc::invalid_argument,
                 "a TLS certificate and its key are given together (--tls-cert, --tls-key)",
                 {{"field", opts.tls_cert_file.empty() ? "tls-cert" : "tls-key"}}};
  if (opts.tls_cert_file.empty()) {
    const auto dir = fs::path{opts.data_dir} / "tls";
    opts.tls_cert_file = (dir / "cert.pem").string();
    opts.tls_key_file = (dir / "key.pem").string();
    if (!fs::exists(opts.tls_cert_file) && !fs::exists(opts.tls_key_file))
      if (auto ok = security::make_self_signed_tls(opts.tls_cert_file, opts.tls_key_file,
                                                   opts.listen_host);
          !ok)
        return ok.error();
  }
  return security::cert_pin_of_pem_file(opts.tls_cert_file);
}

/// The console to serve: none without a folder; a folder that will not load fails the start
/// when it was asked for by name, else `/` says what is wrong with it.
result<console_files> load_console(const server_options& opts) {
  if (opts.console_dir.empty())
    return console_files{"this qvdc was started without a console folder (--console-dir)"};
  auto loaded = console_files::load(opts.console_dir);
  if (loaded || opts.console_required)
    return loaded;
  return console_files{loaded.error().message};
}

class server_impl final : public server {
 public:
  server_impl(server_options opts, std::unique_ptr<events::event_store> store)
      : opts_(std::move(opts)), store_(std::move(store)), proj_(*store_), ops_(proj_.inv()),
        system_(configure()) {}

  ~server_impl() override { stop(); }
  server_impl(const server_impl&) = delete;
  server_impl& operator=(const server_impl&) = delete;

  status start() {
    auto dc = actors::spawn_datacenter(system_, *store_);
    if (!dc)
      return std::move(dc).error();
    dc_ = std::move(*dc);
    reactors_ = actors::reactor_set::spawn(system_, *store_, dc_.coordinator, reactor_settings());
    gateway_ = std::make_unique<gateway>(system_, dc_, reactors_);
    agents_ = std::make_unique<agent_registry>(system_, *gateway_, proj_.inv(),
                                               actors::signals_to(reactors_), opts_.ha_lease);
    auto access = access_control::open(opts_.data_dir, opts_.auth);
    if (!access)
      return std::move(access).error();
    access_ = std::move(*access);
    ctx_ = std::make_unique<api_context>(api_context::parts{
        *gateway_, proj_, *store_, ops_, idempotency_, *access_, *agents_, blocking_, hashing_,
        opts_.data_dir + "/images", opts_.limits.max_in_flight});
    ctx_->rates.set(opts_.auth ? opts_.rate_limit : 0, opts_.rate_burst);
    ctx_->anonymous_rates.set(opts_.auth ? opts_.anonymous_rate_limit : 0,
                              opts_.anonymous_rate_burst);
    ctx_->metrics_public = opts_.metrics_public;
    ops_.set_timeout(opts_.operation_timeout);
    if (opts_.auth && !opts_.admin_password_file.empty()) {
      auto pw = read_password_file(opts_.admin_password_file);
      if (!pw)
        return std::move(pw).error();
      admin_password_ = std::move(*pw);
    }
    if (opts_.hypervisor_stand_in)
      stand_in_ = std::make_unique<hypervisor_stand_in>(
          *gateway_, proj_.inv(),
          opts_.stand_in_demand < 0
              ? std::function<void(std::vector<actors::vm_demand>)>{}
              : [reactors = reactors_](
                    std::vector<actors::vm_demand> d) { reactors.measured(std::move(d)); },
          opts_.stand_in_demand);
    proj_.add_observer([this](const events::recorded_event& e) {
      hub_.publish(e);
      ops_.on_event(e);
      ctx_->audit.apply(e);
      if (stand_in_ && proj_.caught_up())
        stand_in_->on_event(e);
      if (proj_.caught_up()) {
        agents_->on_event(e);
        metrics_.on_event(e);
      }
    });
    const auto head_at_open = store_->head().position;
    proj_.on_caught_up([this, head_at_open] {
      if (stand_in_)
        stand_in_->settle_all();
      abandon_interrupted_uploads(ctx_->image_handlers, head_at_open);
      if (opts_.auth)
        create_first_admin(ctx_->access_handlers, admin_password_);
    });
    ops_.set_listener([this](const operation& op) {
      hub_.broadcast(std::make_shared<const std::string>(
          json{{"type", "operation"}, {"operation", to_json(op)}}.dump()));
    });
    hub_.start_ticks(opts_.limits.watch_batch_window, max_shared_batch);
    proj_.start();
    follower_ = std::make_unique<actors::reactor_follower>(*store_, reactors_);
    follower_->start();
    auto console = load_console(opts_);
    if (!console)
      return std::move(console).error();
    console_ = std::move(*console);
    net_dependencies deps{*ctx_,    routes_,  hub_,         metrics_, *store_, proj_,
                          *agents_, console_, opts_.limits, {},       {}};
    if (opts_.tls) {
      auto pin = prepare_tls(opts_);
      if (!pin)
        return std::move(pin).error();
      ctx_->agent_handlers.tls_pin = std::move(*pin);
      deps.tls_cert_file = opts_.tls_cert_file;
      deps.tls_key_file = opts_.tls_key_file;
    }
    net_ = std::make_unique<net_server>(deps);
    auto port = net_->start(opts_.listen_host, opts_.listen_port, opts_.io_threads);
    if (!port)
      return std::move(port).error();
    port_ = *port;
    ctx_->agent_handlers.advertise_url = opts_.advertise_url.empty()
                                             ? std::string{opts_.tls ? "https://" : "http://"} +
                                                   opts_.listen_host + ":" + std::to_string(port_)
                                             : opts_.advertise_url;
    return {};
  }

  [[nodiscard]] std::uint16_t port() const override { return port_; }
  [[nodiscard]] std::string tls_pin() const override {
    return ctx_ ? ctx_->agent_handlers.tls_pin : "";
  }

  void stop() override {
    std::lock_guard lock{stop_mutex_};
    if (stopped_)
      return;
    stopped_ = true;
    // Network first (no new requests), then the actors (no more replies), then the read
    // models (no more callbacks); the I/O threads go last so late posts find a live context.
    if (ctx_)
      ctx_->stopping = true;
    if (net_)
      net_->stop_accepting();
    hub_.stop_ticks();
    blocking_.stop();
    hashing_.stop();
    if (follower_)
      follower_->stop();
    reactors_.stop();
    if (agents_)
      agents_->stop();
    if (gateway_)
      gateway_->stop();
    if (dc_.coordinator) {
      actors::shutdown(dc_);
      system_.await_all_actors_done();
    }
    // The counts of anonymous refusals not yet written, then every queued append answered:
    // no store callback (they hold the context and the sessions) runs after this point.
    if (ctx_)
      record_denials(*ctx_, ctx_->denials.flush());
    store_->close();
    proj_.stop();
    if (net_)
      net_->stop();
    stopped_cv_.notify_all();
  }

  void wait() override {
    std::unique_lock lock{stop_mutex_};
    stopped_cv_.wait(lock, [this] { return stopped_; });
  }

 private:
  /// The reactors as `qvdc serve` runs them: replay the log before acting; with the stand-in
  /// no host can fail, so no lease lapses.
  [[nodiscard]] actors::reactor_settings reactor_settings() const {
    actors::reactor_settings r;
    r.drs.catch_up_first = true;
    r.drs_interval = opts_.drs_interval;
    r.ha.catch_up_first = true;
    r.ha.lease = {opts_.ha_lease, opts_.ha_fence_bound};
    // HA looks at the leases eight times per lease (at most once a second): a failure is
    // seen at most an eighth of the lease late.
    r.ha_interval = std::clamp(opts_.ha_lease / 8, std::chrono::milliseconds{100},
                               std::chrono::milliseconds{1000});
    if (opts_.hypervisor_stand_in)
      r.ha.lease.lease = std::chrono::hours{24 * 365 * 100};
    return r;
  }

  caf::actor_system_config& configure() {
    // The log's writer and the I/O threads run beside the scheduler on 2 cores.
    config_.set("scheduler.max-threads", 2);
    // CAF's idle workers poll with 50 us sleeps for a while before they wait on a condition
    // variable: measured at a third of the server's CPU under a steady trickle of requests
    // (perf: clock_nanosleep), CPU the watchers and the log need. Skip that phase: an idle
    // worker spins briefly, then sleeps until work is queued for it.
    config_.set("work-stealing.moderate-poll-attempts", 0);
    return config_;
  }

  server_options opts_;
  std::unique_ptr<events::event_store> store_;
  projections::host proj_;
  watch_hub hub_;
  operations ops_;
  idempotency_cache idempotency_;
  metrics metrics_;
  router routes_ = make_router();
  caf::actor_system_config config_;
  caf::actor_system system_;
  actors::datacenter dc_;
  actors::reactor_set reactors_;
  std::unique_ptr<actors::reactor_follower> follower_;
  std::unique_ptr<gateway> gateway_;
  std::unique_ptr<hypervisor_stand_in> stand_in_;
  std::unique_ptr<agent_registry> agents_;
  console_files console_;
  blocking_pool blocking_;
  // One thread: argon2id is CPU- and memory-hard, a login flood may take one core, not both.
  blocking_pool hashing_{1, 64};
  std::unique_ptr<access_control> access_;
  std::string admin_password_;
  std::unique_ptr<api_context> ctx_;
  std::unique_ptr<net_server> net_;
  std::uint16_t port_ = 0;
  std::mutex stop_mutex_;
  std::condition_variable stopped_cv_;
  bool stopped_ = false;
};

} // namespace

result<std::unique_ptr<server>> server::start(server_options opts) {
  std::error_code ec;
  std::filesystem::create_directories(opts.data_dir, ec);
  if (ec)
    return error{errc::io_error,
                 "cannot create " + opts.data_dir + ": " + ec.message(),
                 {{"field", "data_dir"}}};
  events::rocksdb_store_options store_opts;
  store_opts.path = (std::filesystem::path{opts.data_dir} / "log").string();
  store_opts.file_system = opts.log_file_system;
  auto store = events::open_rocksdb_store(store_opts);
  if (!store)
    return std::move(store).error();
  auto s = std::make_unique<server_impl>(std::move(opts), std::move(*store));
  if (auto ok = s->start(); !ok)
    return ok.error();
  return std::unique_ptr<server>{std::move(s)};
}

} // namespace qx::api
