// A domain's life on libvirt's test driver: define, start, pause, reboot, stop, undefine, and
// the errors of calls made in the wrong state or for unknown domains.
#include "qx/node/libvirt_hypervisor.hpp"
#include "qx/node/test_host.hpp"
#include "test_host_fixture.hpp"

#include <gtest/gtest.h>

namespace {

using qx::errc;
using namespace qx::node;

class domain_lifecycle : public qx::node::test::on_test_host {
 protected:
  void SetUp() override {
    on_test_host::SetUp();
    if (HasFatalFailure())
      return;
    domain_spec s;
    s.id = "web-1";
    s.title = "Web server 1";
    s.vcpus = 2;
    s.memory_mib = 1024;
    s.disks.push_back(disk_spec{"/var/lib/qx/web-1.qcow2", disk_format::qcow2, "vda"});
    s.nics.push_back(nic_spec{"default", ""});
    ASSERT_TRUE(hv_->define_domain(s));
  }

  [[nodiscard]] domain_state state() {
    auto st = hv_->query_state("web-1");
    EXPECT_TRUE(st) << st.error().to_string();
    return st ? st->state : domain_state::no_state;
  }

  static void expect_power_refusal(const qx::status& s, std::string_view state) {
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, errc::failed_precondition) << s.error().to_string();
    EXPECT_EQ(s.error().details.at("reason"), "INVALID_POWER_STATE");
    EXPECT_EQ(s.error().details.at("state"), state);
    EXPECT_FALSE(s.error().message.empty()) << "libvirt's message is kept";
  }
};

TEST_F(domain_lifecycle, goes_through_every_power_state) {
  auto st = hv_->query_state("web-1");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, domain_state::shutoff);
  EXPECT_EQ(to_string(st->state), "shutoff");

  ASSERT_TRUE(hv_->start_domain("web-1"));
  st = hv_->query_state("web-1");
  ASSERT_TRUE(st);
  EXPECT_EQ(to_string(st->state), "running");
  EXPECT_EQ(st->reason, "booted");

  ASSERT_TRUE(hv_->suspend_domain("web-1"));
  st = hv_->query_state("web-1");
  ASSERT_TRUE(st);
  EXPECT_EQ(to_string(st->state), "paused");
  EXPECT_EQ(st->reason, "user");

  ASSERT_TRUE(hv_->resume_domain("web-1"));
  EXPECT_EQ(state(), domain_state::running);

  ASSERT_TRUE(hv_->reboot_domain("web-1"));
  EXPECT_EQ(state(), domain_state::running);

  ASSERT_TRUE(hv_->shutdown_domain("web-1"));
  st = hv_->query_state("web-1");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, domain_state::shutoff);
  EXPECT_EQ(st->reason, "shutdown");

  ASSERT_TRUE(hv_->start_domain("web-1"));
  ASSERT_TRUE(hv_->destroy_domain("web-1"));
  st = hv_->query_state("web-1");
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state, domain_state::shutoff);
  EXPECT_EQ(st->reason, "destroyed");

  ASSERT_TRUE(hv_->undefine_domain("web-1", {}));
  const auto gone = hv_->query_state("web-1");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, errc::not_found);
}

TEST_F(domain_lifecycle, lists_domains_sorted_with_their_state) {
  domain_spec other;
  other.id = "app-1";
  ASSERT_TRUE(hv_->define_domain(other));
  ASSERT_TRUE(hv_->start_domain("web-1"));

  const auto list = hv_->list_domains();
  ASSERT_TRUE(list) << list.error().to_string();
  ASSERT_EQ(list->size(), 2U);
  EXPECT_EQ((*list)[0].id, "app-1");
  EXPECT_EQ((*list)[0].title, "");
  EXPECT_EQ((*list)[0].status.state, domain_state::shutoff);
  EXPECT_FALSE((*list)[0].active);
  EXPECT_TRUE((*list)[0].persistent);
  EXPECT_EQ((*list)[1].id, "web-1");
  EXPECT_EQ((*list)[1].title, "Web server 1");
  EXPECT_EQ((*list)[1].status.state, domain_state::running);
  EXPECT_TRUE((*list)[1].active);
  EXPECT_EQ((*list)[1].uuid.size(), 36U);
}

TEST_F(domain_lifecycle, stats_report_vcpus_and_memory) {
  ASSERT_TRUE(hv_->start_domain("web-1"));
  const auto stats = hv_->query_stats("web-1");
  ASSERT_TRUE(stats) << stats.error().to_string();
  EXPECT_EQ(stats->state, domain_state::running);
  EXPECT_EQ(stats->vcpus, 2U);
  EXPECT_EQ(stats->max_memory_kib, 1024U * 1024U);
  EXPECT_EQ(stats->memory_kib, 1024U * 1024U);
  EXPECT_GT(stats->cpu_time_ns, 0U);
}

TEST_F(domain_lifecycle, calls_in_the_wrong_state_are_failed_preconditions) {
  ASSERT_TRUE(hv_->start_domain("web-1"));
  expect_power_refusal(hv_->start_domain("web-1"), "running");
  expect_power_refusal(hv_->resume_domain("web-1"), "running");
  ASSERT_TRUE(hv_->suspend_domain("web-1"));
  expect_power_refusal(hv_->start_domain("web-1"), "paused");
  ASSERT_TRUE(hv_->destroy_domain("web-1"));
  expect_power_refusal(hv_->shutdown_domain("web-1"), "shutoff");
  expect_power_refusal(hv_->destroy_domain("web-1"), "shutoff");
  expect_power_refusal(hv_->suspend_domain("web-1"), "shutoff");
  expect_power_refusal(hv_->reboot_domain("web-1"), "shutoff");
  // Refusals change nothing.
  EXPECT_EQ(state(), domain_state::shutoff);
}

TEST_F(domain_lifecycle, unknown_domains_are_not_found_with_libvirts_message) {
  const auto st = hv_->query_state("nope");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, errc::not_found);
  EXPECT_NE(st.error().message.find("Domain not found"), std::string::npos) << st.error().message;
  EXPECT_EQ(st.error().details.at("libvirt_code"), "42");
  for (const auto& s :
       {hv_->start_domain("nope"), hv_->shutdown_domain("nope"), hv_->destroy_domain("nope"),
        hv_->suspend_domain("nope"), hv_->resume_domain("nope"), hv_->reboot_domain("nope"),
        hv_->undefine_domain("nope", {})}) {
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, errc::not_found);
  }
  EXPECT_EQ(hv_->describe_domain("nope").error().code, errc::not_found);
  EXPECT_EQ(hv_->query_stats("nope").error().code, errc::not_found);
}

TEST_F(domain_lifecycle, malformed_ids_in_calls_are_invalid_arguments) {
  const auto s = hv_->start_domain("../web-1");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::invalid_argument);
  EXPECT_EQ(s.error().details.at("field"), "id");
}

TEST_F(domain_lifecycle, defining_a_taken_id_is_already_exists_and_keeps_the_first) {
  domain_spec again;
  again.id = "web-1";
  again.title = "impostor";
  const auto s = hv_->define_domain(again);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::already_exists);
  EXPECT_EQ(s.error().details.at("field"), "id");
  EXPECT_EQ(hv_->describe_domain("web-1")->title, "Web server 1");
}

TEST_F(domain_lifecycle, undefining_a_running_domain_leaves_it_running_until_it_stops) {
  ASSERT_TRUE(hv_->start_domain("web-1"));
  ASSERT_TRUE(hv_->undefine_domain("web-1", {}));
  auto list = hv_->list_domains();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1U);
  EXPECT_TRUE(list->front().active);
  EXPECT_FALSE(list->front().persistent);
  ASSERT_TRUE(hv_->destroy_domain("web-1"));
  list = hv_->list_domains();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
}

} // namespace
