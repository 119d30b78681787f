// Lifecycle events from libvirt's event loop reach subscribers, in order, and stop when the
// subscription ends. Waits are bounded by a timeout, never a sleep.
#include "qx/node/libvirt_hypervisor.hpp"
#include "qx/node/test_host.hpp"
#include "test_host_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace {

using namespace qx::node;
using namespace std::chrono_literals;

constexpr auto timeout = 10s;

/// Collects events from the loop thread and lets the test wait for one.
class recorder {
 public:
  void operator()(const domain_event& e) {
    const std::lock_guard lock{mutex_};
    events_.push_back(e);
    cv_.notify_all();
  }

  /// Waits until an event of `type` for `id` has arrived; false on timeout.
  [[nodiscard]] bool wait_for(const std::string& id, domain_event_type type) {
    std::unique_lock lock{mutex_};
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_)
        if (e.domain_id == id && e.type == type)
          return true;
      return false;
    });
  }

  [[nodiscard]] std::vector<domain_event> events() {
    const std::lock_guard lock{mutex_};
    return events_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<domain_event> events_;
};

class events : public qx::node::test::on_test_host {
 protected:
  static domain_spec spec(std::string id) {
    domain_spec s;
    s.id = std::move(id);
    return s;
  }
};

TEST_F(events, lifecycle_events_arrive_in_order) {
  recorder rec;
  const auto sub = hv_->subscribe([&rec](const domain_event& e) { rec(e); });
  ASSERT_TRUE(sub.active());

  ASSERT_TRUE(hv_->define_domain(spec("vm-1")));
  ASSERT_TRUE(hv_->start_domain("vm-1"));
  ASSERT_TRUE(hv_->suspend_domain("vm-1"));
  ASSERT_TRUE(hv_->resume_domain("vm-1"));
  ASSERT_TRUE(hv_->destroy_domain("vm-1"));
  ASSERT_TRUE(hv_->undefine_domain("vm-1", {}));
  ASSERT_TRUE(rec.wait_for("vm-1", domain_event_type::undefined));

  const auto got = rec.events();
  ASSERT_EQ(got.size(), 6U);
  const std::vector<std::pair<std::string_view, std::string_view>> expected{
      {"defined", "added"},    {"started", "booted"},    {"suspended", "paused"},
      {"resumed", "unpaused"}, {"stopped", "destroyed"}, {"undefined", "removed"}};
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].domain_id, "vm-1");
    EXPECT_EQ(to_string(got[i].type), expected[i].first) << i;
    EXPECT_EQ(got[i].detail, expected[i].second) << i;
  }
}

TEST_F(events, a_graceful_shutdown_is_a_stop_with_detail_shutdown) {
  recorder rec;
  const auto sub = hv_->subscribe([&rec](const domain_event& e) { rec(e); });
  ASSERT_TRUE(hv_->define_domain(spec("vm-1")));
  ASSERT_TRUE(hv_->start_domain("vm-1"));
  ASSERT_TRUE(hv_->shutdown_domain("vm-1"));
  ASSERT_TRUE(rec.wait_for("vm-1", domain_event_type::stopped));
  EXPECT_EQ(rec.events().back().detail, "shutdown");
}

TEST_F(events, an_ended_subscription_gets_nothing_more) {
  recorder kept;
  recorder ended;
  const auto keep = hv_->subscribe([&kept](const domain_event& e) { kept(e); });
  auto end = hv_->subscribe([&ended](const domain_event& e) { ended(e); });

  ASSERT_TRUE(hv_->define_domain(spec("vm-1")));
  ASSERT_TRUE(ended.wait_for("vm-1", domain_event_type::defined));
  end.reset();
  EXPECT_FALSE(end.active());

  ASSERT_TRUE(hv_->start_domain("vm-1"));
  // Both were called in the same dispatch round: once `kept` has it, `ended` would have too.
  ASSERT_TRUE(kept.wait_for("vm-1", domain_event_type::started));
  EXPECT_EQ(ended.events().size(), 1U);
}

TEST_F(events, callbacks_may_call_back_into_the_hypervisor) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<domain_state> seen;
  const auto sub = hv_->subscribe([&](const domain_event& e) {
    if (e.type != domain_event_type::started)
      return;
    auto st = hv_->query_state(e.domain_id);
    const std::lock_guard lock{m};
    seen = st ? st->state : domain_state::no_state;
    cv.notify_all();
  });
  ASSERT_TRUE(hv_->define_domain(spec("vm-1")));
  ASSERT_TRUE(hv_->start_domain("vm-1"));
  std::unique_lock lock{m};
  ASSERT_TRUE(cv.wait_for(lock, timeout, [&] { return seen.has_value(); }));
  EXPECT_EQ(*seen, domain_state::running);
}

TEST_F(events, a_subscription_may_outlive_its_hypervisor) {
  auto sub = hv_->subscribe([](const domain_event&) {});
  hv_.reset();
  EXPECT_TRUE(sub.active());
  sub.reset(); // nothing left to remove from: must neither crash nor hang
  EXPECT_FALSE(sub.active());
}

TEST_F(events, each_connection_sees_only_its_own_host) {
  qx::test::temp_dir other_dir;
  auto uri = write_test_host(other_dir.path() / "host.xml", {});
  ASSERT_TRUE(uri);
  auto other = open_libvirt(*uri);
  ASSERT_TRUE(other) << other.error().to_string();

  recorder here;
  recorder there;
  const auto sub_here = hv_->subscribe([&here](const domain_event& e) { here(e); });
  const auto sub_there = (*other)->subscribe([&there](const domain_event& e) { there(e); });
  ASSERT_TRUE((*other)->define_domain(spec("elsewhere")));
  ASSERT_TRUE(hv_->define_domain(spec("here")));
  ASSERT_TRUE(here.wait_for("here", domain_event_type::defined));
  ASSERT_TRUE(there.wait_for("elsewhere", domain_event_type::defined));
  for (const auto& e : here.events()) {
    EXPECT_EQ(e.domain_id, "here");
  }
  for (const auto& e : there.events()) {
    EXPECT_EQ(e.domain_id, "elsewhere");
  }
}

} // namespace
