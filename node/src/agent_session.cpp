#include "agent_session.hpp"
#include "fence_lease.hpp"

#include "telemetry.hpp"

#include <qx/agent/v1/session.pb.h>
#include <qx/base/log.hpp>
#include <qx/net/ws_client.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

namespace qx::node {

namespace {

namespace pb = agent::v1;

std::string reason_of(const error& e) {
  const auto r = e.details.find("reason");
  if (r != e.details.end())
    return r->second;
  return std::string{to_string(e.code)};
}

/// libvirt wants the host's own address in the subnet ("10.0.0.1/24"); the control plane
/// names the subnet ("10.0.0.0/24"): its first host address stands in.
std::string gateway_of(const std::string& cidr) {
  const auto slash = cidr.find('/');
  in_addr a{};
  if (slash == std::string::npos || inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &a) != 1)
    return cidr;
  // The prefix is the whole rest, digits only: a frame is outside input (found by the
  // agent_frames fuzzer: std::stoi threw on "10.0.0.0/)4" and ended the agent).
  const std::string_view prefix{cidr.data() + slash + 1, cidr.size() - slash - 1};
  int bits = -1;
  const auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
  if (ec != std::errc{} || end != prefix.data() + prefix.size() || bits < 0 || bits > 30)
    return cidr;
  const std::uint32_t host_mask =
      bits == 0 ? 0xFFFFFFFFU : (0xFFFFFFFFU >> static_cast<unsigned>(bits));
  if ((ntohl(a.s_addr) & host_mask) != 0)
    return cidr;
  a.s_addr = htonl(ntohl(a.s_addr) + 1);
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, text, sizeof text);
  return std::string{text} + cidr.substr(slash);
}

void log_line(const std::string& what) {
  log::info("agent-session", what);
}

} // namespace

struct agent_session::impl {
  impl(hypervisor& h, session_settings s)
      : hv(h), settings(std::move(s)),
        sampler(settings.pools_root.empty() ? "/" : settings.pools_root,
                settings.libvirt_uri.starts_with("test:") ? settings.test_demand_file
                                                          : std::string{}) {}

  hypervisor& hv;
  session_settings settings;
  telemetry_sampler sampler;

  mutable std::mutex mutex;
  std::condition_variable cv;
  session_state st;
  bool stopping = false;
  bool link_closed = false;
  bool hello_pending = false; ///< a Welcome came before the link was stored
  std::unique_ptr<net::ws_client> link;
  std::set<std::uint64_t> ran; ///< command ids run in this epoch
  std::deque<pb::Command> queue;
  std::thread loop_thread;
  std::thread worker_thread;
  subscription events;
  std::uint64_t heartbeat_seq = 0;
  fence_lease lease; ///< guarded by `mutex`
  std::thread fence_thread;

  // -- sending -----------------------------------------------------------------------------

  bool send(const pb::AgentFrame& f) {
    std::string bytes;
    if (!f.SerializeToString(&bytes))
      return false;
    std::lock_guard lock{mutex};
    return link && link->send(std::move(bytes));
  }

  static std::string state_name(domain_state s) { return std::string{to_string(s)}; }

  void send_hello(std::uint64_t epoch) {
    pb::AgentFrame f;
    auto* h = f.mutable_hello();
    h->set_epoch(epoch);
    auto* facts = h->mutable_host();
    if (auto info = hv.host()) {
      facts->set_hostname(info->hostname);
      facts->set_cpu_threads(info->cpus);
      facts->set_memory_mib(info->memory_mib);
      facts->set_libvirt_version(info->libvirt_version);
    }
    facts->set_libvirt_uri(settings.libvirt_uri);
    facts->set_agent_version(settings.agent_version);
    if (auto domains = hv.list_domains()) {
      for (const auto& d : *domains) {
        auto* r = h->add_domains();
        r->set_id(d.id);
        r->set_state(state_name(d.status.state));
        r->set_reason(d.status.reason);
      }
    }
    send(f);
  }

  void send_heartbeat() {
    pb::AgentFrame f;
    auto* h = f.mutable_heartbeat();
    h->set_sequence(++heartbeat_seq);
    {
      std::lock_guard lock{mutex};
      lease.sent(heartbeat_seq, fence_lease::clock::now());
    }
    h->set_sent_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
    send(f);
    pb::AgentFrame t;
    *t.mutable_telemetry() = sampler.sample(hv);
    send(t);
  }

  void on_domain_event(const domain_event& e) {
    pb::AgentFrame f;
    auto* d = f.mutable_domain_event();
    d->set_id(e.domain_id);
    d->set_kind(std::string{to_string(e.type)});
    d->set_detail(e.detail);
    if (auto s = hv.query_state(e.domain_id))
      d->set_state(state_name(s->state));
    else
      d->set_state("missing");
    send(f);
  }

  // -- receiving ---------------------------------------------------------------------------

  void on_message(const std::string& bytes) {
    pb::ControlFrame f;
    if (!f.ParseFromString(bytes)) {
      log_line("dropped a control frame that does not parse");
      return;
    }
    if (f.has_welcome()) {
      {
        std::lock_guard lock{mutex};
        st.epoch = f.welcome().epoch();
        st.connected = true;
        st.cluster_id = f.welcome().cluster_id();
        st.cluster_known = true;
        lease.welcomed(
            fence_lease::clock::now(), std::chrono::milliseconds{f.welcome().lease_ms()},
            {f.welcome().protected_vm_ids().begin(), f.welcome().protected_vm_ids().end()});
        ran.clear();
        queue.clear(); // commands of the previous epoch are stale now
      }
      log_line("session open, epoch " + std::to_string(f.welcome().epoch()));
      {
        // The Welcome can overtake the connecting thread, which has not stored the link yet:
        // then that thread sends the Hello once it has.
        std::lock_guard lock{mutex};
        if (!link) {
          hello_pending = true;
          return;
        }
      }
      send_hello(f.welcome().epoch());
      return;
    }
    if (f.has_heartbeat_ack()) {
      std::lock_guard lock{mutex};
      lease.acknowledged(f.heartbeat_ack().sequence());
      return;
    }
    if (f.has_membership()) {
      std::lock_guard lock{mutex};
      st.cluster_id = f.membership().cluster_id();
      st.cluster_known = true;
      return;
    }
    if (!f.has_command())
      return;
    std::lock_guard lock{mutex};
    const auto& c = f.command();
    if (c.epoch() != st.epoch) {
      ++st.commands_dropped;
      return;
    }
    queue.push_back(c);
    cv.notify_all();
  }

  // -- running commands --------------------------------------------------------------------

  status define_and_start(const pb::DefineAndStart& c) {
    {
      std::lock_guard lock{mutex};
      lease.started(c.vm_id(), c.ha_protected());
    }
    auto existing = hv.query_state(c.vm_id());
    if (!existing) {
      if (existing.error().code != errc::not_found)
        return existing.error();
      domain_spec spec;
      spec.id = c.vm_id();
      spec.title = c.name();
      spec.vcpus = c.vcpus();
      spec.memory_mib = c.memory_mib();
      for (const auto& d : c.disks()) {
        auto volumes = hv.list_volumes(d.pool_id());
        if (!volumes)
          return volumes.error();
        const auto v = std::find_if(volumes->begin(), volumes->end(),
                                    [&](const volume_info& i) { return i.name == d.volume_id(); });
        if (v == volumes->end())
          return error{errc::not_found,
                       "volume " + d.volume_id() + " is not in pool " + d.pool_id() +
                           " on this host",
                       {{"reason", "VOLUME_NOT_FOUND"}}};
        disk_spec disk;
        disk.path = v->path;
        disk.format = v->format == "raw" ? disk_format::raw : disk_format::qcow2;
        disk.target_dev = "vd" + std::string(1, static_cast<char>('a' + spec.disks.size() % 26));
        spec.disks.push_back(std::move(disk));
      }
      for (const auto& n : c.network_ids())
        spec.nics.push_back(nic_spec{n, ""});
      if (auto ok = hv.define_domain(spec); !ok)
        return ok;
    } else if (existing->state == domain_state::running ||
               existing->state == domain_state::blocked) {
      return {}; // already what was asked: a repeated start after a reconnect
    }
    return hv.start_domain(c.vm_id());
  }

  status domain_action(const pb::DomainAction& c) {
    const auto& id = c.vm_id();
    const auto& a = c.action();
    if (a == "shutdown")
      return hv.shutdown_domain(id);
    if (a == "destroy") {
      auto s = hv.query_state(id);
      if ((s && s->state == domain_state::shutoff) || (!s && s.error().code == errc::not_found))
        return {}; // off already, or gone with a restarted host: what was asked holds
      return hv.destroy_domain(id);
    }
    if (a == "reboot")
      return hv.reboot_domain(id);
    if (a == "suspend")
      return hv.suspend_domain(id);
    if (a == "resume")
      return hv.resume_domain(id);
    if (a == "undefine") {
      auto ok = hv.undefine_domain(id, undefine_options{true, true});
      if (!ok && ok.error().code == errc::not_found)
        return {}; // never defined here (created, never started): nothing to remove
      return ok;
    }
    return error{errc::invalid_argument, "unknown domain action " + a, {{"field", "action"}}};
  }

  status run(const pb::Command& c) {
    switch (c.body_case()) {
    case pb::Command::kDefineAndStart:
      return define_and_start(c.define_and_start());
    case pb::Command::kDomainAction:
      return domain_action(c.domain_action());
    case pb::Command::kMigrate:
      return hv.migrate_domain(c.migrate().vm_id(), c.migrate().destination_uri(), {});
    case pb::Command::kCreatePool: {
      pool_spec p{c.create_pool().pool_id(), c.create_pool().path()};
      if (p.target_path.empty())
        p.target_path =
            (settings.pools_root.empty() ? std::string{"/var/lib/qx/pools"} : settings.pools_root) +
            "/" + p.name;
      auto ok = hv.define_pool(p);
      if (!ok && ok.error().code == errc::already_exists)
        return {};
      return ok;
    }
    case pb::Command::kCreateVolume: {
      volume_spec v;
      v.name = c.create_volume().volume_id();
      v.capacity_bytes = c.create_volume().capacity_bytes();
      const auto& format = c.create_volume().format();
      if (format == "raw")
        v.format = disk_format::raw;
      else if (!format.empty() && format != "qcow2")
        return error{
            errc::invalid_argument, "volume format must be raw or qcow2", {{"field", "format"}}};
      auto made = hv.create_volume(c.create_volume().pool_id(), v);
      if (!made && made.error().code != errc::already_exists)
        return made.error();
      return {};
    }
    case pb::Command::kDeleteVolume:
      return hv.delete_volume(c.delete_volume().pool_id(), c.delete_volume().volume_id());
    case pb::Command::kCreateNetwork: {
      network_spec n;
      n.name = c.create_network().network_id();
      n.bridge = c.create_network().bridge();
      n.cidr = gateway_of(c.create_network().cidr());
      n.mode = network_mode::isolated;
      auto ok = hv.define_network(n);
      if (!ok && ok.error().code != errc::already_exists)
        return ok;
      auto started = hv.start_network(n.name);
      if (!started && started.error().code == errc::failed_precondition)
        return {}; // active already
      return started;
    }
    case pb::Command::BODY_NOT_SET:
      break;
    }
    return error{errc::invalid_argument, "a command without a body", {{"field", "body"}}};
  }

  void worker() {
    for (;;) {
      pb::Command c;
      bool duplicate = false;
      {
        std::unique_lock lock{mutex};
        cv.wait(lock, [this] { return stopping || !queue.empty(); });
        if (stopping)
          return;
        c = std::move(queue.front());
        queue.pop_front();
        if (c.epoch() != st.epoch) {
          ++st.commands_dropped;
          continue;
        }
        duplicate = !ran.insert(c.id()).second;
      }
      pb::AgentFrame f;
      auto* r = f.mutable_result();
      r->set_command_id(c.id());
      r->set_epoch(c.epoch());
      if (duplicate) {
        r->set_ok(true);
        r->set_duplicate(true);
      } else {
        const auto ok = run(c);
        r->set_ok(ok.has_value());
        if (!ok) {
          r->set_error_code(reason_of(ok.error()));
          r->set_message(ok.error().message);
        }
        std::lock_guard lock{mutex};
        ++st.commands_run;
      }
      send(f);
    }
  }

  // -- the connection loop -----------------------------------------------------------------

  /// The watchdog: checks the lease a few times per heartbeat period, connected or not (a
  /// partition may leave the connect loop waiting), and fences once per lapse.
  void fence_watch() {
    std::unique_lock lock{mutex};
    for (;;) {
      if (cv.wait_for(lock, settings.heartbeat / 4, [this] { return stopping; }))
        return;
      if (settings.fence_action != "stop-vms" || !lease.must_fence(fence_lease::clock::now()))
        continue;
      const auto victims = lease.protected_vms();
      ++st.fences;
      lock.unlock();
      log_line("lease lapsed: no heartbeat acknowledged by the control plane; stopping " +
               std::to_string(victims.size()) + " HA-protected VMs");
      for (const auto& id : victims) {
        auto s = hv.query_state(id);
        if (s && (s->state == domain_state::running || s->state == domain_state::blocked ||
                  s->state == domain_state::paused))
          if (auto ok = hv.destroy_domain(id); !ok)
            log_line("fencing could not stop " + id + ": " + ok.error().message);
      }
      lock.lock();
      st.last_fence_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
    }
  }

  void loop() {
    auto backoff = std::chrono::milliseconds{200};
    for (;;) {
      {
        std::lock_guard lock{mutex};
        if (stopping)
          return;
        link_closed = false;
        hello_pending = false;
      }
      net::ws_options o;
      o.url = settings.control_plane_address + "/api/v1/nodes/" + settings.node_id + "/session";
      o.headers.emplace_back("Authorization", "Bearer " + settings.agent_key);
      o.pinned_cert_sha256 = settings.control_plane_cert_pin;
      auto c = net::ws_client::connect(
          o, [this](std::string bytes) { on_message(bytes); },
          [this](const std::string& why) {
            std::lock_guard lock{mutex};
            st.connected = false;
            st.last_error = why;
            link_closed = true;
            cv.notify_all();
          });
      if (!c) {
        {
          std::unique_lock lock{mutex};
          st.last_error = c.error().message;
          cv.wait_for(lock, backoff, [this] { return stopping; });
        }
        backoff = std::min(backoff * 2, settings.max_backoff);
        continue;
      }
      backoff = std::chrono::milliseconds{200};
      bool hello_now = false;
      std::uint64_t epoch = 0;
      {
        std::lock_guard lock{mutex};
        link = std::move(*c);
        ++st.reconnects;
        hello_now = std::exchange(hello_pending, false);
        epoch = st.epoch;
      }
      if (hello_now)
        send_hello(epoch);
      std::unique_lock lock{mutex};
      while (!stopping && !link_closed) {
        if (cv.wait_for(lock, settings.heartbeat, [this] { return stopping || link_closed; }))
          break;
        if (!st.connected)
          continue; // no Welcome yet
        lock.unlock();
        send_heartbeat();
        lock.lock();
      }
      auto old = std::move(link);
      st.connected = false;
      lock.unlock();
      old.reset(); // closes and joins its thread, outside the lock its callbacks take
    }
  }
};

agent_session::agent_session(hypervisor& hv, session_settings s)
    : impl_(std::make_unique<impl>(hv, std::move(s))) {}

agent_session::~agent_session() {
  leave("");
}

void agent_session::start() {
  auto& i = *impl_;
  i.events = i.hv.subscribe([&i](const domain_event& e) { i.on_domain_event(e); });
  i.worker_thread = std::thread{[&i] {
    i.worker();
  }};
  i.loop_thread = std::thread{[&i] {
    i.loop();
  }};
  i.fence_thread = std::thread{[&i] {
    i.fence_watch();
  }};
}

void agent_session::leave(const std::string& reason) {
  auto& i = *impl_;
  if (!reason.empty()) {
    pb::AgentFrame f;
    f.mutable_leaving()->set_reason(reason);
    i.send(f);
  }
  {
    std::lock_guard lock{i.mutex};
    i.stopping = true;
    i.cv.notify_all();
  }
  i.events = subscription{};
  if (i.loop_thread.joinable())
    i.loop_thread.join();
  if (i.fence_thread.joinable())
    i.fence_thread.join();
  if (i.worker_thread.joinable())
    i.worker_thread.join();
}

session_state agent_session::state() const {
  std::lock_guard lock{impl_->mutex};
  return impl_->st;
}

} // namespace qx::node
