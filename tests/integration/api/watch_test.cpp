// The watch stream (/api/v1/watch): every event as a frame, in position order, the same as
// the event query shows; filters; refusals before the upgrade; resuming with from=<last seen>
// under random disconnects (no gap, no duplicate); and a consumer too slow to keep up is cut off
// with the position to resume from while the others keep up.
#include "api_fixture.hpp"
#include "raw_socket.hpp"

#include <atomic>
#include <random>
#include <set>

namespace qx::test {
namespace {

/// The event frames among `frames`.
std::vector<web::json::value> events_of(const std::vector<web::json::value>& frames) {
  std::vector<web::json::value> out;
  for (const auto& f : frames)
    if (str(f, "type") == "event")
      out.push_back(f);
  return out;
}

std::vector<std::uint64_t> positions_of(const std::vector<web::json::value>& frames) {
  std::vector<std::uint64_t> out;
  for (const auto& f : events_of(frames))
    out.push_back(num(f, "position"));
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> out;
  for (auto p = first; p <= last; ++p)
    out.push_back(p);
  return out;
}

using api_watch = api_test;

TEST_F(api_watch, from_zero_delivers_every_event_in_position_order) {
  register_node("n1");
  create_vm("vm1");
  create_vm("vm2");
  start_vm("vm1", "n1");
  ASSERT_EQ(api().post("/api/v1/clusters", R"({"id":"c1","name":"one"})").status, 201u);
  const auto head = log_head();
  const auto all = all_events();
  ASSERT_EQ(all.size(), head);

  watch_client w{server().ws_url(), "from=0"};
  ASSERT_TRUE(w.wait_for_position(head, 10s)) << "got up to " << w.last_position();
  const auto frames = events_of(w.frames());
  ASSERT_EQ(positions_of(frames), range(1, head));
  // Each frame is the event the query shows.
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto& f = frames[i];
    const auto& e = all[i];
    EXPECT_EQ(num(f, "position"), num(e, "position"));
    EXPECT_EQ(str(f, "stream"), str(e, "stream"));
    EXPECT_EQ(num(f, "version"), num(e, "version"));
    EXPECT_EQ(str(f, "eventType"), str(e, "type"));
    EXPECT_EQ(str(f, "time"), str(e, "time"));
    EXPECT_EQ(str(f, "principal"), str(e, "principal"));
    EXPECT_EQ(f.at("data").serialize(), e.at("data").serialize()) << "position " << i + 1;
  }

  // Live: a new write arrives as the next frame.
  create_vm("vm3");
  ASSERT_TRUE(w.wait_for_position(head + 1, 5s));
  auto live = events_of(w.frames());
  ASSERT_EQ(positions_of(live), range(1, head + 1));
  EXPECT_EQ(str(live.back(), "stream"), "vm-vm3");
  EXPECT_EQ(str(live.back(), "eventType"), "qx.events.v1.VmCreated");
  EXPECT_EQ(str(live.back().at("data").at("spec"), "name"), "vm vm3");

  // Operations are reported too, up to their end.
  const auto started = api().post("/api/v1/vms/vm3/start", "{}");
  ASSERT_EQ(started.status, 202u) << show(started);
  const auto op_id = str(started.json(), "id");
  EXPECT_TRUE(w.wait_for(
      [&](const std::vector<web::json::value>& fs) {
        for (const auto& f : fs)
          if (str(f, "type") == "operation" && str(f.at("operation"), "id") == op_id &&
              str(f.at("operation"), "state") == "succeeded")
            return true;
        return false;
      },
      5s))
      << "no succeeded frame for " << op_id;
  // And the events keep their order around them.
  EXPECT_TRUE(w.wait_for_position(log_head(), 5s));
  EXPECT_EQ(positions_of(w.frames()), range(1, log_head()));
}

TEST_F(api_watch, batch_sends_several_frames_per_message_without_gap_or_duplicate) {
  register_node("n1");
  for (int i = 0; i < 20; ++i)
    create_vm("vm" + std::to_string(i));
  const auto head = log_head();
  // Catching up from 0, the frames come in arrays of at most 8.
  watch_client w{server().ws_url(), "from=0&batch=8"};
  ASSERT_TRUE(w.wait_for_position(head, 10s)) << "got up to " << w.last_position();
  EXPECT_EQ(positions_of(w.frames()), range(1, head));
  EXPECT_GE(w.messages(), (head + 7) / 8);
  EXPECT_LT(w.messages(), head) << "batch=8 sent one message per event";
  // Live events and operations still arrive, in order.
  start_vm("vm0", "n1");
  ASSERT_TRUE(w.wait_for_position(log_head(), 5s));
  EXPECT_EQ(positions_of(w.frames()), range(1, log_head()));

  // Live bursts: watchers at the head share the server's per-window batches; one with a
  // filter gets only its stream; none sees a gap or a duplicate.
  const auto before = log_head();
  watch_client a{server().ws_url(), "from=" + std::to_string(before) + "&batch=100"};
  watch_client b{server().ws_url(), "from=" + std::to_string(before) + "&batch=100"};
  watch_client only{server().ws_url(),
                    "from=" + std::to_string(before) + "&batch=100&stream=vm-burst7"};
  std::vector<api_client::request> burst;
  for (int i = 0; i < 60; ++i)
    burst.push_back({"POST", "/api/v1/vms", vm_body("burst" + std::to_string(i)), {}});
  for (const auto& r : api().send_all(burst)) {
    ASSERT_EQ(r.status, 201u) << show(r);
  }
  const auto after = log_head();
  ASSERT_TRUE(a.wait_for_position(after, 10s));
  ASSERT_TRUE(b.wait_for_position(after, 10s));
  EXPECT_EQ(positions_of(a.frames()), range(before + 1, after));
  EXPECT_EQ(positions_of(b.frames()), range(before + 1, after));
  EXPECT_LT(a.messages(), after - before) << "one message per event under a burst";
  // A later event of its own stream is the marker: had the filter let another stream's burst
  // event through, it would have come before it (frames come in log order).
  const auto deleted = api().send_all({{"DELETE", "/api/v1/vms/burst7", "", {}}});
  ASSERT_LT(deleted.front().status, 300u) << show(deleted.front());
  ASSERT_TRUE(only.wait_for_position(log_head(), 10s)) << "got up to " << only.last_position();
  const auto mine = events_of(only.frames());
  ASSERT_EQ(mine.size(), 2u);
  for (const auto& e : mine)
    EXPECT_EQ(str(e, "stream"), "vm-burst7");

  for (const auto* bad : {"batch=0", "batch=1001", "batch=x", "batch=", "batch=-1"}) {
    raw_socket s{server().port()};
    s.write_all(std::string{"GET /api/v1/watch?"} + bad +
                " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    const auto resp = s.read_response(5s);
    ASSERT_TRUE(resp) << bad;
    EXPECT_EQ(resp->first.rfind("HTTP/1.1 400", 0), 0u) << bad << ": " << resp->first;
    EXPECT_NE(resp->second.find("\"field\":\"batch\""), std::string::npos) << resp->second;
  }
}

TEST_F(api_watch, types_and_stream_filters) {
  register_node("n1");
  create_vm("vm1");
  create_vm("vm2");
  ASSERT_EQ(api().post("/api/v1/clusters", R"({"id":"c1","name":"one"})").status, 201u);

  const std::set<std::string> types{"qx.events.v1.VmCreated", "qx.events.v1.ClusterCreated",
                                    "qx.events.v1.VmPowerStateChanged"};
  watch_client by_type{server().ws_url(),
                       "from=0&types=qx.events.v1.VmCreated,qx.events.v1.ClusterCreated,"
                       "qx.events.v1.VmPowerStateChanged"};
  watch_client by_stream{server().ws_url(), "from=0&stream=vm-vm1"};
  watch_client both{server().ws_url(),
                    "from=2&types=qx.events.v1.VmPowerStateChanged&stream=vm-vm1"};

  // Live writes of every kind; the last one matches all three watchers.
  start_vm("vm1", "n1");
  create_vm("vm3");
  ASSERT_EQ(api().post("/api/v1/clusters", R"({"id":"c2","name":"two"})").status, 201u);
  ASSERT_EQ(api().patch("/api/v1/clusters/c1", R"({"name":"uno"})").status, 200u);
  ASSERT_EQ(api().post("/api/v1/vms/vm1/reboot").status, 200u);
  ASSERT_EQ(api().post("/api/v1/vms/vm1/pause").status, 200u);
  const auto head = log_head();
  const auto all = all_events();
  ASSERT_EQ(str(all.back(), "type"), "qx.events.v1.VmPowerStateChanged");
  ASSERT_EQ(str(all.back(), "stream"), "vm-vm1");

  std::vector<std::uint64_t> want_type;
  std::vector<std::uint64_t> want_stream;
  std::vector<std::uint64_t> want_both;
  for (const auto& e : all) {
    const auto p = num(e, "position");
    if (types.contains(str(e, "type")))
      want_type.push_back(p);
    if (str(e, "stream") == "vm-vm1")
      want_stream.push_back(p);
    if (p > 2 && str(e, "stream") == "vm-vm1" &&
        str(e, "type") == "qx.events.v1.VmPowerStateChanged")
      want_both.push_back(p);
  }
  ASSERT_TRUE(by_type.wait_for_position(head, 10s));
  ASSERT_TRUE(by_stream.wait_for_position(head, 10s));
  ASSERT_TRUE(both.wait_for_position(head, 10s));
  EXPECT_EQ(positions_of(by_type.frames()), want_type);
  EXPECT_EQ(positions_of(by_stream.frames()), want_stream);
  EXPECT_EQ(positions_of(both.frames()), want_both);
  for (const auto& f : events_of(by_type.frames()))
    EXPECT_TRUE(types.contains(str(f, "eventType"))) << f.serialize();
  for (const auto& f : events_of(by_stream.frames()))
    EXPECT_EQ(str(f, "stream"), "vm-vm1");
  EXPECT_GE(want_both.size(), 3u); // starting, running, paused
}

TEST_F(api_watch, from_now_sends_only_new_events) {
  register_node("n1");
  const auto head = log_head();
  watch_client w{server().ws_url(), "from=now"};
  ASSERT_EQ(api().post("/api/v1/clusters", R"({"id":"c1","name":"one"})").status, 201u);
  ASSERT_TRUE(w.wait_for_position(head + 1, 5s));
  EXPECT_EQ(positions_of(w.frames()), std::vector<std::uint64_t>{head + 1});
}

TEST_F(api_watch, bad_from_is_refused_with_400_before_the_upgrade) {
  register_node("n1");
  create_vm("vm1");
  const auto head = log_head();
  struct refusal {
    std::string query;
    std::string field;
  };
  const std::vector<refusal> refusals = {
      {"from=" + std::to_string(head + 1), "from"},
      {"from=999999999", "from"},
      {"from=abc", "from"},
      {"from=-1", "from"},
      {"from=1.5", "from"},
      {"from=", "from"},
      {"from=18446744073709551616", "from"},
      {"from=0&since=3", "since"},
  };
  for (const auto& r : refusals) {
    raw_socket s{server().port()};
    s.write_all("GET /api/v1/watch?" + r.query +
                " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    const auto resp = s.read_response(5s);
    ASSERT_TRUE(resp) << r.query;
    EXPECT_EQ(resp->first.rfind("HTTP/1.1 400", 0), 0u) << r.query << ": " << resp->first;
    EXPECT_NE(resp->first.find("application/json"), std::string::npos) << resp->first;
    web::json::value j;
    ASSERT_NO_THROW(j = web::json::value::parse(resp->second)) << resp->second;
    EXPECT_EQ(str(j.at("error"), "code"), "INVALID_ARGUMENT") << r.query;
    EXPECT_EQ(str(j.at("error").at("details"), "field"), r.field)
        << r.query << ": " << resp->second;
    // The library client fails to connect as well.
    EXPECT_ANY_THROW(watch_client(server().ws_url(), r.query)) << r.query;
  }
  // The head itself is fine: nothing to send yet, then the next event.
  watch_client at_head{server().ws_url(), "from=" + std::to_string(head)};
  create_vm("vm2");
  ASSERT_TRUE(at_head.wait_for_position(head + 1, 5s));
  EXPECT_EQ(positions_of(at_head.frames()), std::vector<std::uint64_t>{head + 1});
  // The upgrade itself is by the book.
  raw_socket s{server().port()};
  const auto ok = s.websocket_handshake("from=0", 5s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->rfind("HTTP/1.1 101", 0), 0u) << *ok;
  EXPECT_NE(ok->find(raw_socket::expected_accept), std::string::npos) << *ok;
}

// --- slow ones ---------------------------------------------------------------------------------

using api_slow_watch = api_test;

TEST_F(api_slow_watch, resume_under_random_disconnects_has_no_gap_and_no_duplicate) {
  constexpr int writes = 300;
  const auto seed = static_cast<std::uint32_t>(::testing::UnitTest::GetInstance()->random_seed());
  std::mt19937 rng{seed};
  std::atomic<bool> writer_done{false};
  std::atomic<int> write_failures{0};
  std::thread writer{[&] {
    api_client w{server().base_url()};
    for (int i = 0; i < writes; ++i) {
      const auto n = std::to_string(i);
      api_response r;
      switch (i % 3) {
      case 0:
        r = w.post("/api/v1/images",
                   R"({"id":"img)" + n + R"(","name":"i","format":"raw","sizeBytes":1})");
        break;
      case 1:
        r = w.post("/api/v1/security-groups", R"({"id":"sg)" + n + R"(","name":"g"})");
        break;
      default:
        r = w.post("/api/v1/clusters", R"({"id":"c)" + n + R"(","name":"c"})");
      }
      if (r.status != 201)
        ++write_failures;
    }
    writer_done = true;
  }};

  std::uint64_t last = 0;
  std::vector<std::uint64_t> seen;
  int connections = 0;
  int empty_connections = 0;
  std::uint64_t final_head = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (writer_done && final_head == 0)
      final_head = log_head();
    if (final_head != 0 && last >= final_head)
      break;
    std::vector<web::json::value> frames;
    {
      watch_client w{server().ws_url(), "from=" + std::to_string(last)};
      ++connections;
      // Disconnect at a random moment: at once, after a few ms, or after some frames.
      const int mode = static_cast<int>(rng() % 3);
      if (mode == 1)
        std::this_thread::sleep_for(std::chrono::milliseconds{rng() % 25});
      else if (mode == 2)
        w.wait_for_position(last + 1 + rng() % 40, std::chrono::milliseconds{50});
      frames = w.detach();
    }
    const auto got = positions_of(frames);
    if (got.empty())
      ++empty_connections;
    for (const auto p : got) {
      ASSERT_EQ(p, last + 1) << (p <= last ? "duplicate" : "gap") << " after " << last
                             << " (connection " << connections << ", seed " << seed << ")";
      last = p;
      seen.push_back(p);
    }
  }
  writer.join();
  EXPECT_EQ(write_failures.load(), 0);
  ASSERT_NE(final_head, 0u) << "the writer did not finish in time";
  EXPECT_EQ(final_head, static_cast<std::uint64_t>(writes));
  EXPECT_EQ(seen, range(1, final_head)) << "seed " << seed;
  EXPECT_GE(connections, 20) << "too few disconnects to mean anything";
  RecordProperty("connections", connections);
  RecordProperty("empty_connections", empty_connections);
}

class api_slow_watch_queue : public api_test {
 protected:
  std::vector<std::string> server_args() const override { return {"--watch-queue", "16"}; }
};

TEST_F(api_slow_watch_queue, slow_consumer_is_cut_off_with_a_resume_point_others_keep_up) {
  register_node("n1");
  const auto start = log_head();
  // A consumer that completes the upgrade and then does not read, with a tiny receive buffer.
  raw_socket slow{server().port(), 4096};
  const auto hs = slow.websocket_handshake("from=" + std::to_string(start), 5s);
  ASSERT_TRUE(hs);
  ASSERT_EQ(hs->rfind("HTTP/1.1 101", 0), 0u) << *hs;
  watch_client normal{server().ws_url(), "from=" + std::to_string(start)};

  // Large events (64 labels of 250 bytes and 16 KiB of user data: ~33 KB each) so that the
  // socket buffers (up to 4 MiB on the server's side) fill after ~130 of them; the slow one
  // is cut off when, after the stall, more than the 256 frames it fetches at once plus the
  // 16 it may lag remain.
  std::string labels = R"("cloudInitUserData":")" + std::string(16384, 'u') + R"(","labels":{)";
  for (int i = 0; i < 64; ++i)
    labels += (i == 0 ? "" : ",") + std::string{"\"k"} + std::to_string(i) + "\":\"" +
              std::string(250, static_cast<char>('a' + i % 26)) + "\"";
  labels += "}";
  constexpr int vms = 600;
  const auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < vms; i += 10) {
    std::vector<api_client::request> batch;
    for (int k = i; k < i + 10 && k < vms; ++k)
      batch.push_back(
          {"POST", "/api/v1/vms", vm_body("vm" + std::to_string(k), 1, 64, labels), {}});
    for (const auto& a : api().send_all(batch))
      ASSERT_EQ(a.status, 201u) << show(a);
  }
  const auto head = log_head();
  ASSERT_EQ(head, start + vms);
  // The normal watcher is not held back by the slow one.
  EXPECT_TRUE(normal.wait_for_position(head, 15s))
      << "the normal watcher got only up to " << normal.last_position() << " of " << head;
  EXPECT_EQ(positions_of(normal.frames()), range(start + 1, head));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
  RecordProperty("write_and_watch_ms", static_cast<int>(took.count()));

  // The slow one now reads: what it got is gap-free, then an overflow frame saying where to
  // resume, then a close with code 4008.
  std::uint64_t last = start;
  std::optional<std::uint64_t> resume_from;
  int close_code = 0;
  std::string close_reason;
  for (;;) {
    auto m = slow.read_message(10s);
    if (!m)
      break;
    if (m->opcode == 8) {
      if (m->payload.size() >= 2)
        close_code = (static_cast<unsigned char>(m->payload[0]) << 8) |
                     static_cast<unsigned char>(m->payload[1]);
      close_reason = m->payload.size() > 2 ? m->payload.substr(2) : "";
      break;
    }
    if (m->opcode != 1)
      continue; // pings
    const auto f = web::json::value::parse(m->payload);
    if (str(f, "type") == "overflow") {
      resume_from = num(f, "resumeFrom");
      continue;
    }
    if (str(f, "type") != "event")
      continue;
    ASSERT_FALSE(resume_from) << "an event after the overflow frame";
    ASSERT_EQ(num(f, "position"), last + 1) << "gap or duplicate on the slow watcher";
    last = num(f, "position");
  }
  ASSERT_TRUE(resume_from) << "no overflow frame; the slow watcher read up to " << last << " of "
                           << head << (slow.eof() ? " and was closed" : "");
  RecordProperty("slow_resume_from", static_cast<int>(*resume_from - start));
  RecordProperty("events", vms);
  EXPECT_EQ(*resume_from, last) << "resumeFrom must be the last position sent";
  EXPECT_LT(*resume_from, head) << "it did fall behind";
  EXPECT_EQ(close_code, 4008) << close_reason;
  EXPECT_EQ(close_reason, "too slow: resume from " + std::to_string(*resume_from));

  // Resuming from there gives the rest, without a gap.
  watch_client resumed{server().ws_url(), "from=" + std::to_string(*resume_from)};
  ASSERT_TRUE(resumed.wait_for_position(head, 15s));
  EXPECT_EQ(positions_of(resumed.frames()), range(*resume_from + 1, head));
}

} // namespace
} // namespace qx::test
