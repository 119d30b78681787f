// The metrics CSV and report.html: columns and quoting, escaping of everything that comes
// from the scenario, the invariant verdict, and bounded pages for large or odd runs.
#include <qx/sim/report.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

namespace qx::sim {
namespace {

using namespace std::chrono_literals;

metrics_sample sample_at(sim_duration at, std::map<std::string, double> loads) {
  metrics_sample s;
  s.at = at;
  s.host_load = std::move(loads);
  return s;
}

std::string csv_of(const std::vector<metrics_sample>& samples) {
  std::ostringstream out;
  write_metrics_csv(out, samples);
  return out.str();
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto i = text.find(what); i != std::string::npos; i = text.find(what, i + what.size()))
    ++n;
  return n;
}

/// The markup of the first chart whose title starts with `title` (empty when none).
std::string chart(const std::string& html, const std::string& title) {
  const auto heading = html.find("<h2>" + title);
  if (heading == std::string::npos)
    return {};
  const auto begin = html.find("<svg", heading);
  return html.substr(begin, html.find("</svg>", begin) - begin);
}

/// The host load chart that names hosts.
std::string hosts_svg(const std::string& html) {
  return chart(html, "Host load:").empty() ? chart(html, "Host load (every host)")
                                           : chart(html, "Host load:");
}

constexpr std::size_t charts_drawn = 7;

const std::string hostile = "<script>alert(\"x\")</script>&'";
const std::string hostile_escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;";

TEST(metrics_csv, columns_are_the_union_of_ids_and_missing_values_are_empty) {
  auto first = sample_at(0s, {{"h2", 0.5}, {"h1", 0.25}});
  first.cluster_imbalance = {{"c1", 0.125}};
  first.migrations_total = 1;
  first.vms_running = 3;
  first.hosts_active = 3;
  first.hosts_overloaded = 1;
  first.unmet_cpu = 2.5;
  auto second = sample_at(90500ms, {{"h3", 1.0}, {"h1", 0.75}});
  second.migrations_total = 4;
  second.restarts_total = 2;
  second.vms_running = 2;
  second.vms_down = 1;
  EXPECT_EQ(csv_of({first, second}),
            "at_s,cluster:c1,host:h1,host:h2,host:h3,migrations,restarts,vms_running,vms_down,"
            "hosts_active,hosts_overloaded,unmet_cpu\n"
            "0,0.1250,0.2500,0.5000,,1,0,3,0,3,1,2.5000\n"
            "90.500,,0.7500,,1.0000,4,2,2,1,0,0,0.0000\n");
}

TEST(metrics_csv, ids_with_commas_quotes_or_newlines_are_quoted) {
  const auto csv = csv_of({sample_at(60s, {{"a,\"b\"\nc", 0.5}})});
  EXPECT_EQ(csv, "at_s,\"host:a,\"\"b\"\"\nc\",migrations,restarts,vms_running,vms_down,"
                 "hosts_active,hosts_overloaded,unmet_cpu\n"
                 "60,0.5000,0,0,0,0,0,0,0.0000\n");
}

TEST(metrics_csv, no_samples_is_a_header_only) {
  EXPECT_EQ(csv_of({}), "at_s,migrations,restarts,vms_running,vms_down,hosts_active,"
                        "hosts_overloaded,unmet_cpu\n");
}

TEST(metrics_csv, non_finite_loads_are_empty_fields) {
  const auto csv = csv_of(
      {sample_at(0s, {{"h1", std::nan("")}, {"h2", std::numeric_limits<double>::infinity()}})});
  EXPECT_EQ(csv, "at_s,host:h1,host:h2,migrations,restarts,vms_running,vms_down,hosts_active,"
                 "hosts_overloaded,unmet_cpu\n"
                 "0,,,0,0,0,0,0,0,0.0000\n");
}

TEST(report_html, draws_every_chart_and_the_run_summary) {
  run_summary summary;
  summary.scenario = "rolling upgrade";
  summary.seed = 42;
  summary.duration = 2h;
  summary.log_hash = "ab12cd";
  summary.events = 1234;
  auto a = sample_at(0s, {{"h1", 0.2}});
  a.cluster_imbalance = {{"c1", 0.1}};
  auto b = sample_at(1h, {{"h1", 0.9}});
  b.cluster_imbalance = {{"c1", 0.3}};
  b.migrations_total = 5;
  const auto html = render_report(summary, {a, b});
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0U);
  EXPECT_EQ(count_of(html, "<svg"), charts_drawn);
  EXPECT_EQ(count_of(html, "<svg"), count_of(html, "</svg>"));
  EXPECT_NE(html.find("rolling upgrade"), std::string::npos);
  EXPECT_NE(html.find("<td>42</td>"), std::string::npos);
  EXPECT_NE(html.find("2h (7200 s)"), std::string::npos);
  EXPECT_NE(html.find("ab12cd"), std::string::npos);
  EXPECT_NE(html.find("<td>1234</td>"), std::string::npos);
  EXPECT_NE(html.find(">1h</text>"), std::string::npos); // a time tick
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos); // nothing external
}

TEST(report_html, escapes_scenario_names_ids_and_violations) {
  run_summary summary;
  summary.scenario = hostile;
  summary.violations = {hostile};
  summary.downtime = {{hostile, 5s}};
  auto s = sample_at(0s, {{hostile, 0.5}});
  s.cluster_imbalance = {{hostile, 0.1}};
  const auto html = render_report(summary, {s, s});
  EXPECT_EQ(html.find(hostile), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // Title, heading, violation, host line, host legend, cluster line and legend, downtime row.
  EXPECT_GE(count_of(html, hostile_escaped), 8U);
}

TEST(report_html, says_zero_violations_or_lists_them) {
  run_summary clean;
  const auto ok = render_report(clean, {sample_at(0s, {{"h1", 0.5}})});
  EXPECT_NE(ok.find("0 violations"), std::string::npos);

  run_summary broken;
  broken.violations = {"vm v1 ran on two hosts at 3600s", "host h2 over capacity"};
  const auto bad = render_report(broken, {sample_at(0s, {{"h1", 0.5}})});
  EXPECT_EQ(bad.find(">0 violations"), std::string::npos);
  EXPECT_NE(bad.find("2 violations"), std::string::npos);
  EXPECT_NE(bad.find("<li>vm v1 ran on two hosts at 3600s</li>"), std::string::npos);
  EXPECT_NE(bad.find("<li>host h2 over capacity</li>"), std::string::npos);
}

// 800 hosts: none is left out of the picture. Every host counts in the distribution; the 8
// hottest are drawn by name and listed with their peak and mean.
TEST(report_html, shows_the_load_of_every_host_as_a_distribution_and_names_the_hottest) {
  std::vector<metrics_sample> samples;
  for (int t = 0; t < 3; ++t) {
    std::map<std::string, double> loads;
    for (int h = 0; h < 800; ++h)
      loads["h" + std::to_string(h)] = static_cast<double>(h) / 800.0 + (h == 5 ? 1.0 : 0.0);
    samples.push_back(sample_at(std::chrono::minutes{t}, std::move(loads)));
  }
  const auto q = host_load_quantiles(samples[0]);
  ASSERT_TRUE(q);
  EXPECT_DOUBLE_EQ(q->min, 0.0);
  EXPECT_DOUBLE_EQ(q->median, 400.0 / 800.0); // nearest rank: the 400th of 800 (h5 moved up)
  EXPECT_DOUBLE_EQ(q->p90, 720.0 / 800.0);    // the 720th
  EXPECT_DOUBLE_EQ(q->max, 1.0 + 5.0 / 800.0);
  EXPECT_FALSE(host_load_quantiles(sample_at(0s, {})));

  const auto html = render_report({}, samples);
  const auto spread = chart(html, "Host load distribution");
  for (const auto* line : {"max", "p90", "median", "min"})
    EXPECT_NE(spread.find(std::string{"<title>"} + line + "</title>"), std::string::npos) << line;
  const auto hosts = chart(html, "Host load: the 8 hottest of 800 hosts");
  EXPECT_EQ(count_of(hosts, "<polyline"), 8U);
  EXPECT_NE(hosts.find("<title>h5</title>"), std::string::npos) << "the hottest by peak";
  EXPECT_NE(hosts.find("<title>h799</title>"), std::string::npos);
  EXPECT_NE(hosts.find("<title>h793</title>"), std::string::npos);
  EXPECT_EQ(hosts.find("<title>h792</title>"), std::string::npos);
  EXPECT_NE(html.find("<tr><td>h5</td><td>1.01</td><td>1.01</td><td>2m</td></tr>"),
            std::string::npos)
      << "h5 overloaded from 0 to 2m";
  EXPECT_EQ(html.find("omitted"), std::string::npos);
}

// A host's line stops while the host is off and starts again when it is back: no line is
// drawn across the time it was off.
TEST(report_html, a_host_off_for_a_while_is_drawn_in_two_stretches) {
  std::vector<metrics_sample> samples;
  for (int t = 0; t < 6; ++t) {
    std::map<std::string, double> loads{{"h2", 0.3}};
    if (t < 2 || t > 3)
      loads["h1"] = 0.8;
    samples.push_back(sample_at(std::chrono::minutes{t}, std::move(loads)));
  }
  const auto hosts = hosts_svg(render_report({}, samples));
  EXPECT_EQ(count_of(hosts, "<title>h1</title></polyline>"), 2U) << hosts;
  EXPECT_EQ(count_of(hosts, "<title>h2</title></polyline>"), 1U);
}

TEST(report_html, counts_active_and_overloaded_hosts_and_unmet_demand) {
  auto a = sample_at(0s, {{"h1", 1.5}, {"h2", 0.5}});
  a.hosts_active = 2;
  a.hosts_overloaded = 1;
  a.unmet_cpu = 4;
  auto b = sample_at(30min, {{"h1", 0.5}, {"h2", 0.5}});
  b.hosts_active = 1;
  const auto html = render_report({}, {a, b, sample_at(1h, {{"h1", 0.5}})});
  EXPECT_NE(html.find("<th>Overloaded host-time</th><td>0.50 host-hours"), std::string::npos);
  EXPECT_NE(chart(html, "Hosts active and overloaded").find("<title>overloaded (load &gt; 1)"),
            std::string::npos);
  EXPECT_NE(chart(html, "Unmet CPU demand").find("<title>unmet CPU demand</title>"),
            std::string::npos);
}

TEST(report_html, thins_long_runs_to_a_small_page) {
  std::vector<metrics_sample> samples;
  for (int t = 0; t < 100'000; ++t) {
    auto s = sample_at(std::chrono::seconds{t * 10},
                       {{"h1", 0.5 + 0.4 * std::sin(t)}, {"h2", 0.3}, {"h3", t % 1000 * 1e-3}});
    s.cluster_imbalance = {{"c1", 0.1}};
    s.migrations_total = static_cast<std::uint64_t>(t / 10);
    s.vms_down = static_cast<std::uint32_t>(t % 7);
    samples.push_back(std::move(s));
  }
  const auto html = render_report({}, samples);
  EXPECT_EQ(count_of(html, "<svg"), charts_drawn);
  EXPECT_LT(html.size(), 2'000'000U);
  // Each line keeps at most ~2000 points: far fewer commas than samples.
  EXPECT_LT(count_of(hosts_svg(html), ","), 3U * 2'100U);
  EXPECT_LT(count_of(chart(html, "Host load distribution"), ","), 4U * 2'100U);
}

TEST(report_html, no_samples_says_there_is_no_data) {
  run_summary summary;
  summary.scenario = "empty";
  const auto html = render_report(summary, {});
  EXPECT_NE(html.find("no data"), std::string::npos);
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

TEST(report_html, a_single_sample_draws_points_without_nan) {
  const auto html = render_report({}, {sample_at(0s, {{"h1", 0.0}})});
  EXPECT_EQ(count_of(html, "<svg"), charts_drawn);
  EXPECT_NE(html.find("<circle"), std::string::npos);
  EXPECT_EQ(html.find("nan"), std::string::npos);
  EXPECT_EQ(html.find("inf"), std::string::npos);
}

TEST(report_html, non_finite_loads_are_skipped) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  run_summary summary;
  summary.wall_seconds = nan;
  const auto html = render_report(summary, {sample_at(0s, {{"h1", nan}, {"h2", 0.5}}),
                                            sample_at(60s, {{"h1", inf}, {"h2", -inf}}),
                                            sample_at(120s, {{"h1", 0.4}, {"h2", 0.6}})});
  EXPECT_EQ(html.find("nan"), std::string::npos);
  EXPECT_EQ(html.find("inf"), std::string::npos);
  EXPECT_EQ(count_of(hosts_svg(html), "<polyline"), 1U); // h1 has one point: a dot
  EXPECT_EQ(count_of(hosts_svg(html), "<circle"), 1U);
}

TEST(report_html, lists_vms_with_downtime_longest_first_at_most_200) {
  run_summary summary;
  summary.downtime = {{"v-up", 0s}, {"v-short", 30s}, {"v-long", 90min}};
  for (int i = 0; i < 250; ++i)
    summary.downtime["w" + std::to_string(i)] = 1s;
  const auto html = render_report(summary, {});
  EXPECT_EQ(html.find("v-up"), std::string::npos);
  EXPECT_LT(html.find("<td>v-long</td><td>1h30m</td>"), html.find("<td>v-short</td><td>30s</td>"));
  EXPECT_EQ(count_of(html, "<tr><td>"), 200U);
  EXPECT_NE(html.find("52 more VMs with downtime not listed"), std::string::npos);
}

} // namespace
} // namespace qx::sim
