// The simulator's metrics CSV and report.html. Charts are inline SVG drawn by `svg_chart`,
// the one place that scales, thins and draws series; everything else gathers the series.
// Values that are NaN, infinite or absurdly large (|v| >= 1e15) are skipped in charts and
// written as empty fields in the CSV, so neither output ever contains "nan" or "inf".
#include "qx/sim/report.hpp"

#include <qx/base/html.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <limits>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

namespace qx::sim {

namespace {

constexpr std::size_t max_points_per_line = 2000;
constexpr std::size_t min_points_per_line = 200;
constexpr std::size_t points_per_chart = 40'000; ///< shared by the lines of one chart
constexpr std::size_t hottest_hosts = 8;         ///< host lines drawn; the distribution covers all
constexpr std::size_t max_rows = 200;            ///< downtime rows and violations listed
constexpr double max_plotted = 1e15;

struct point {
  double x = 0; ///< seconds
  double y = 0;
};

struct series {
  std::string name;
  std::vector<point> points;
  /// Indexes of points that begin a new stretch: the value was absent in the samples before
  /// them (a host powered off), and no line is drawn across the gap.
  std::vector<std::size_t> breaks;
};

struct range {
  double lo = 0;
  double hi = 0;
};

bool usable(double v) {
  return std::isfinite(v) && std::abs(v) < max_plotted;
}

std::string fixed(double v, int decimals) {
  std::array<char, 400> buf{}; // room for any finite double
  const auto [end, ec] =
      std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed, decimals);
  return ec == std::errc{} ? std::string{buf.data(), end} : std::string{};
}

double seconds_of(sim_duration d) {
  return static_cast<double>(d.count()) / 1000.0;
}

/// Whole seconds as an integer, otherwise with milliseconds: "90", "90.250".
std::string seconds_text(sim_duration d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) : fixed(seconds_of(d), 3);
}

/// "1h30m", "45s", "2h5s": whole seconds, zero parts left out.
std::string time_label(double seconds) {
  const auto total = std::llabs(std::llround(seconds));
  const auto h = total / 3600;
  const auto m = total % 3600 / 60;
  const auto s = total % 60;
  std::string out = seconds < 0 && total > 0 ? "-" : "";
  if (h > 0)
    out += std::to_string(h) + "h";
  if (m > 0)
    out += std::to_string(m) + "m";
  if (s > 0 || total == 0)
    out += std::to_string(s) + "s";
  return out;
}

std::string cell(std::string_view text) {
  return "<td>" + html_escape(text) + "</td>";
}

/// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos)
    return std::string{text};
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + '"';
}

std::optional<double> lookup(const std::map<std::string, double>& values, const std::string& id) {
  const auto i = values.find(id);
  return i == values.end() ? std::nullopt : std::optional{i->second};
}

/// One point per sample where `get` yields a usable value. Where `get` yields nothing (the
/// host was off) the line breaks; an unusable value (NaN) is only skipped.
template<class Get>
series collect(std::string name, const std::vector<metrics_sample>& samples, Get get) {
  series out{std::move(name), {}, {}};
  bool gap = false;
  for (const auto& sample : samples) {
    const std::optional<double> v = get(sample);
    if (!v) {
      gap = !out.points.empty();
      continue;
    }
    if (!usable(*v))
      continue;
    if (gap)
      out.breaks.push_back(out.points.size());
    gap = false;
    out.points.push_back({seconds_of(sample.at), *v});
  }
  return out;
}

/// The stretches of `line` between its breaks.
std::vector<std::vector<point>> stretches(const series& line) {
  std::vector<std::vector<point>> out;
  std::size_t begin = 0;
  for (const auto end : line.breaks) {
    out.emplace_back(line.points.begin() + static_cast<std::ptrdiff_t>(begin),
                     line.points.begin() + static_cast<std::ptrdiff_t>(end));
    begin = end;
  }
  out.emplace_back(line.points.begin() + static_cast<std::ptrdiff_t>(begin), line.points.end());
  return out;
}

/// At most `max` points: the first, the last, and the lowest and highest of each bucket in
/// between, so spikes survive thinning.
std::vector<point> thin(const std::vector<point>& points, std::size_t max) {
  if (points.size() <= max)
    return points;
  const std::size_t inner = points.size() - 2;
  const std::size_t buckets = (max - 2) / 2;
  const auto by_y = [](const point& a, const point& b) {
    return a.y < b.y;
  };
  std::vector<point> out{points.front()};
  for (std::size_t b = 0; b < buckets; ++b) {
    const auto first = points.begin() + static_cast<std::ptrdiff_t>(1 + b * inner / buckets);
    const auto last = points.begin() + static_cast<std::ptrdiff_t>(1 + (b + 1) * inner / buckets);
    if (first == last)
      continue;
    auto [lo, hi] = std::minmax_element(first, last, by_y);
    if (hi < lo)
      std::swap(lo, hi);
    out.push_back(*lo);
    if (hi != lo)
      out.push_back(*hi);
  }
  out.push_back(points.back());
  return out;
}

/// 1, 2 or 5 times a power of ten, giving about four steps over `span` (> 0).
double nice_step(double span) {
  const double raw = span / 4;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
}

/// A nice step in seconds, minutes or hours, never below a second.
double time_step(double span) {
  const double unit = span < 120 ? 1 : span < 7200 ? 60 : 3600;
  return std::max(1.0, nice_step(span / unit) * unit);
}

std::vector<double> ticks(range r, double step) {
  std::vector<double> out;
  const double first = std::ceil(r.lo / step) * step;
  for (int i = 0; i < 20; ++i) {
    const double t = first + static_cast<double>(i) * step;
    if (t > r.hi + step * 1e-9)
      break;
    out.push_back(t);
  }
  return out;
}

std::string color(std::size_t i) { // golden-angle hues: neighbours differ
  return "hsl(" + fixed(std::fmod(static_cast<double>(i) * 137.508, 360.0), 0) + ",70%,40%)";
}

/// A titled line chart over time `x` (seconds) with a legend; `note` is HTML added below.
std::string svg_chart(std::string_view title, const std::vector<series>& lines, range x,
                      std::string_view note = {}) {
  constexpr double width = 900;
  constexpr double height = 260;
  constexpr double left = 64;
  constexpr double right = 16;
  constexpr double top = 12;
  constexpr double bottom = 28;
  range y{0, 0};
  for (const auto& line : lines)
    for (const auto& p : line.points)
      y = {std::min(y.lo, p.y), std::max(y.hi, p.y)};
  if (y.hi <= y.lo)
    y.hi = y.lo + 1;
  const double y_step = nice_step(y.hi - y.lo);
  y = {std::floor(y.lo / y_step) * y_step, std::ceil(y.hi / y_step) * y_step};
  if (x.hi <= x.lo)
    x.hi = x.lo + 1;
  const auto px = [&](double v) {
    return fixed(left + (v - x.lo) / (x.hi - x.lo) * (width - left - right), 1);
  };
  const auto py = [&](double v) {
    return fixed(height - bottom - (v - y.lo) / (y.hi - y.lo) * (height - top - bottom), 1);
  };
  const int decimals = y_step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(y_step) - 1e-9));

  std::string out = "<section>\n<h2>" + html_escape(title) + "</h2>\n<svg viewBox=\"0 0 " +
                    fixed(width, 0) + ' ' + fixed(height, 0) + "\" role=\"img\" aria-label=\"" +
                    html_escape(title) + "\">\n";
  for (const double t : ticks(y, y_step))
    out += "<line class=\"grid\" x1=\"" + px(x.lo) + "\" x2=\"" + px(x.hi) + "\" y1=\"" + py(t) +
           "\" y2=\"" + py(t) + "\"/><text x=\"" + fixed(left - 6, 0) + "\" y=\"" + py(t) +
           "\" dy=\"4\" text-anchor=\"end\">" + fixed(t, decimals) + "</text>\n";
  for (const double t : ticks(x, time_step(x.hi - x.lo)))
    out += "<line class=\"axis\" x1=\"" + px(t) + "\" x2=\"" + px(t) + "\" y1=\"" + py(y.lo) +
           "\" y2=\"" + fixed(height - bottom + 4, 0) + "\"/><text x=\"" + px(t) + "\" y=\"" +
           fixed(height - 8, 0) + "\" text-anchor=\"middle\">" + time_label(t) + "</text>\n";
  out += "<line class=\"axis\" x1=\"" + px(x.lo) + "\" x2=\"" + px(x.hi) + "\" y1=\"" + py(y.lo) +
         "\" y2=\"" + py(y.lo) + "\"/>\n";

  const std::size_t per_line = std::clamp(points_per_chart / std::max<std::size_t>(lines.size(), 1),
                                          min_points_per_line, max_points_per_line);
  std::string legend;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto name = html_escape(lines[i].name);
    const auto total = std::max<std::size_t>(lines[i].points.size(), 1);
    for (const auto& stretch : stretches(lines[i])) {
      // Each stretch its share of the line's points, at least its two ends.
      const auto points =
          thin(stretch, std::max<std::size_t>(2, per_line * stretch.size() / total));
      if (points.size() == 1) {
        out += "<circle r=\"2\" cx=\"" + px(points[0].x) + "\" cy=\"" + py(points[0].y) +
               "\" fill=\"" + color(i) + "\"><title>" + name + "</title></circle>\n";
      } else if (!points.empty()) {
        out += "<polyline stroke=\"" + color(i) + "\" points=\"";
        std::string previous;
        for (const auto& p : points) // points on the same pixel are drawn once
          if (auto xy = px(p.x) + ',' + py(p.y); xy != previous) {
            out += xy + ' ';
            previous = std::move(xy);
          }
        out.back() = '"';
        out += "><title>" + name + "</title></polyline>\n";
      }
    }
    legend += "<span><i style=\"background:" + color(i) + "\"></i>" + name + "</span> ";
  }
  return out + "</svg>\n<p class=\"legend\">" + legend + "</p>\n" + std::string{note} +
         "</section>\n";
}

/// The usable loads of the hosts powered on in `sample`, sorted.
std::vector<double> sorted_loads(const metrics_sample& sample) {
  std::vector<double> out;
  for (const auto& entry : sample.host_load)
    if (usable(entry.second))
      out.push_back(entry.second);
  std::sort(out.begin(), out.end());
  return out;
}

/// The nearest-rank `q` quantile (0..1) of sorted, non-empty `v`.
double quantile(const std::vector<double>& v, double q) {
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

/// Min, median, 90th percentile and max of the host loads at each sample: every host counts,
/// however many there are.
std::vector<series> load_distribution(const std::vector<metrics_sample>& samples) {
  std::vector<std::optional<load_quantiles>> at;
  at.reserve(samples.size());
  for (const auto& s : samples)
    at.push_back(host_load_quantiles(s));
  const std::vector<std::pair<std::string, double load_quantiles::*>> lines = {
      {"max", &load_quantiles::max},
      {"p90", &load_quantiles::p90},
      {"median", &load_quantiles::median},
      {"min", &load_quantiles::min}};
  std::vector<series> out;
  out.reserve(lines.size());
  for (const auto& [name, member] : lines)
    out.push_back(collect(name, samples, [&, m = member](const metrics_sample& s) {
      // collect() walks `samples` itself, by reference: the address gives the index.
      const auto& q = at[static_cast<std::size_t>(&s - samples.data())];
      return q ? std::optional{(*q).*m} : std::nullopt;
    }));
  return out;
}

/// A host's load over the run.
struct host_stats {
  std::string id;
  double peak = -std::numeric_limits<double>::infinity();
  double mean = 0;
  double overloaded_s = 0; ///< seconds above overload_threshold
  std::size_t n = 0;
};

/// Seconds from each sample to the next (the last sample: 0); a sample's state is taken to
/// last until the next one.
double span_after(const std::vector<metrics_sample>& samples, std::size_t i) {
  return i + 1 < samples.size() ? seconds_of(samples[i + 1].at - samples[i].at) : 0.0;
}

/// Every host by peak load (then by mean), hottest first.
std::vector<host_stats> hottest(const std::vector<metrics_sample>& samples) {
  std::map<std::string, host_stats> by_id;
  for (std::size_t i = 0; i < samples.size(); ++i)
    for (const auto& [id, load] : samples[i].host_load) {
      auto& h = by_id[id];
      h.id = id;
      if (!usable(load))
        continue;
      h.peak = std::max(h.peak, load);
      h.mean += load;
      ++h.n;
      if (load > overload_threshold)
        h.overloaded_s += span_after(samples, i);
    }
  std::vector<host_stats> out;
  for (auto& [id, h] : by_id) {
    h.mean = h.n == 0 ? 0 : h.mean / static_cast<double>(h.n);
    out.push_back(std::move(h));
  }
  std::stable_sort(out.begin(), out.end(), [](const host_stats& a, const host_stats& b) {
    return a.peak != b.peak ? a.peak > b.peak : a.mean > b.mean;
  });
  return out;
}

/// The hottest hosts' lines, and a table naming them with their peak, mean and overload.
std::string hottest_chart(const std::vector<metrics_sample>& samples, range x) {
  auto hosts = hottest(samples);
  const auto total = hosts.size();
  if (hosts.size() > hottest_hosts)
    hosts.resize(hottest_hosts);
  std::vector<series> lines;
  std::string rows;
  for (const auto& h : hosts) {
    lines.push_back(
        collect(h.id, samples, [&](const auto& s) { return lookup(s.host_load, h.id); }));
    rows += "<tr>" + cell(h.id) + cell(h.n == 0 ? "?" : fixed(h.peak, 2)) + cell(fixed(h.mean, 2)) +
            cell(time_label(h.overloaded_s)) + "</tr>\n";
  }
  const auto title = total > hottest_hosts
                         ? "Host load: the " + std::to_string(hottest_hosts) + " hottest of " +
                               std::to_string(total) + " hosts (by peak load)"
                         : std::string{"Host load (every host)"};
  const auto table = "<table>\n<tr><th>Host</th><th>Peak load</th><th>Mean load</th><th>Time "
                     "overloaded</th></tr>\n" +
                     rows + "</table>\n";
  return svg_chart(title, lines, x, table);
}

std::string charts(const std::vector<metrics_sample>& samples) {
  range x{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  std::set<std::string> clusters;
  for (const auto& sample : samples) {
    x = {std::min(x.lo, seconds_of(sample.at)), std::max(x.hi, seconds_of(sample.at))};
    for (const auto& entry : sample.cluster_imbalance)
      clusters.insert(entry.first);
  }
  std::vector<series> imbalance;
  imbalance.reserve(clusters.size());
  for (const auto& id : clusters)
    imbalance.push_back(
        collect(id, samples, [&](const auto& s) { return lookup(s.cluster_imbalance, id); }));
  const auto count = [](auto member) {
    return [member](const metrics_sample& s) {
      return std::optional{static_cast<double>(s.*member)};
    };
  };
  const std::vector<series> events{
      collect("migrations", samples, count(&metrics_sample::migrations_total)),
      collect("HA restarts", samples, count(&metrics_sample::restarts_total))};
  const std::vector<series> down{collect("VMs down", samples, count(&metrics_sample::vms_down))};
  const std::vector<series> hosts{
      collect("active (powered on, taking VMs)", samples, count(&metrics_sample::hosts_active)),
      collect("overloaded (load > 1)", samples, count(&metrics_sample::hosts_overloaded))};
  const std::vector<series> unmet{
      collect("unmet CPU demand", samples, count(&metrics_sample::unmet_cpu))};

  return svg_chart("Host load distribution (max, p90, median, min over the hosts powered on)",
                   load_distribution(samples), x) +
         hottest_chart(samples, x) +
         svg_chart("Cluster imbalance (std. deviation of host loads)", imbalance, x) +
         svg_chart("Hosts active and overloaded", hosts, x) +
         svg_chart("Unmet CPU demand (CPUs wanted beyond the hosts' CPUs)", unmet, x) +
         svg_chart("Migrations and HA restarts (cumulative)", events, x) +
         svg_chart("VMs down", down, x);
}

/// Host-seconds above overload_threshold over the run.
double overloaded_host_seconds(const std::vector<metrics_sample>& samples) {
  double out = 0;
  for (std::size_t i = 0; i < samples.size(); ++i)
    out += samples[i].hosts_overloaded * span_after(samples, i);
  return out;
}

std::string more_note(std::size_t total, std::string_view what) {
  return total <= max_rows ? std::string{}
                           : "<p class=\"note\">" + std::to_string(total - max_rows) + " more " +
                                 std::string{what} + " not listed.</p>\n";
}

std::string violations_section(const std::vector<std::string>& violations) {
  if (violations.empty())
    return "<section>\n<h2>Invariants</h2>\n<p class=\"ok\">0 violations</p>\n</section>\n";
  std::string out = "<section>\n<h2>Invariants</h2>\n<p class=\"bad\">" +
                    std::to_string(violations.size()) +
                    (violations.size() == 1 ? " violation" : " violations") + "</p>\n<ul>\n";
  for (std::size_t i = 0; i < violations.size() && i < max_rows; ++i)
    out += "<li>" + html_escape(violations[i]) + "</li>\n";
  return out + "</ul>\n" + more_note(violations.size(), "violations") + "</section>\n";
}

std::string downtime_section(const std::map<std::string, sim_duration>& downtime) {
  std::vector<std::pair<std::string, sim_duration>> rows;
  for (const auto& [vm, d] : downtime)
    if (d > sim_duration::zero())
      rows.emplace_back(vm, d);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out = "<section>\n<h2>VM downtime</h2>\n";
  if (rows.empty())
    return out + "<p class=\"ok\">No VM was down.</p>\n</section>\n";
  out += "<table>\n<tr><th>VM</th><th>Downtime</th><th>Seconds</th></tr>\n";
  for (std::size_t i = 0; i < rows.size() && i < max_rows; ++i)
    out += "<tr><td>" + html_escape(rows[i].first) + "</td><td>" +
           time_label(seconds_of(rows[i].second)) + "</td><td>" + seconds_text(rows[i].second) +
           "</td></tr>\n";
  return out + "</table>\n" + more_note(rows.size(), "VMs with downtime") + "</section>\n";
}

/// A titled table of at most max_rows rows (`row(i)` gives row i's cells), or `empty` when
/// there is none; `what` names the rows left out.
template<class Row>
std::string table_section(std::string_view title, std::string_view header, std::size_t rows,
                          Row row, std::string_view empty, std::string_view what) {
  std::string out = "<section>\n<h2>" + std::string{title} + "</h2>\n";
  if (rows == 0)
    return out + "<p class=\"ok\">" + std::string{empty} + "</p>\n</section>\n";
  out += "<table>\n<tr>" + std::string{header} + "</tr>\n";
  for (std::size_t i = 0; i < rows && i < max_rows; ++i)
    out += "<tr>" + row(i) + "</tr>\n";
  return out + "</table>\n" + more_note(rows, what) + "</section>\n";
}

std::string refusals_section(const std::vector<refusal>& refusals) {
  return table_section(
      "Refused actions",
      "<th>Time</th><th>Action</th><th>Target</th><th>Code</th><th>Reason</th><th>Message</th>",
      refusals.size(),
      [&](std::size_t i) {
        const auto& r = refusals[i];
        return cell(time_label(seconds_of(r.at))) + cell(r.action) + cell(r.target) + cell(r.code) +
               cell(r.reason) + cell(r.message);
      },
      "The control plane refused no action.", "refused actions");
}

std::string decisions_section(const std::vector<decision>& decisions) {
  return table_section(
      "DRS and HA decisions",
      "<th>Time</th><th>Decision</th><th>VM or host</th><th>Detail</th><th>Reason</th>",
      decisions.size(),
      [&](std::size_t i) {
        const auto& d = decisions[i];
        return cell(time_label(seconds_of(d.at))) + cell(d.kind) + cell(d.vm) + cell(d.detail) +
               cell(d.reason);
      },
      "DRS and HA decided nothing.", "decisions");
}

/// notes.txt as the run wrote it (its first max_rows lines).
std::string notes_section(const std::vector<std::string>& notes) {
  std::string out = "<section>\n<h2>Notes (notes.txt)</h2>\n";
  if (notes.empty())
    return out + "<p class=\"ok\">No notes.</p>\n</section>\n";
  out += "<pre>";
  for (std::size_t i = 0; i < notes.size() && i < max_rows; ++i)
    out += html_escape(notes[i]) + "\n";
  return out + "</pre>\n" + more_note(notes.size(), "notes") + "</section>\n";
}

constexpr std::string_view style = R"(<style>
body{font:14px system-ui,sans-serif;margin:2em auto;max-width:960px;color:#222}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd}
svg{width:100%;height:auto;font-size:11px}polyline{fill:none;stroke-width:1.2}
.grid{stroke:#e4e4e4}.axis{stroke:#888}.note{color:#666}.legend span{margin-right:1em}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.ok{color:#1a7f37;font-weight:bold}.bad{color:#c62828;font-weight:bold}
</style>)";

} // namespace

std::optional<load_quantiles> host_load_quantiles(const metrics_sample& sample) {
  const auto loads = sorted_loads(sample);
  if (loads.empty())
    return std::nullopt;
  return load_quantiles{loads.front(), quantile(loads, 0.5), quantile(loads, 0.9), loads.back()};
}

void write_metrics_csv(std::ostream& out, const std::vector<metrics_sample>& samples) {
  std::set<std::string> clusters;
  std::set<std::string> hosts;
  for (const auto& sample : samples) {
    for (const auto& entry : sample.cluster_imbalance)
      clusters.insert(entry.first);
    for (const auto& entry : sample.host_load)
      hosts.insert(entry.first);
  }
  out << "at_s";
  for (const auto& id : clusters)
    out << ',' << csv_field("cluster:" + id);
  for (const auto& id : hosts)
    out << ',' << csv_field("host:" + id);
  out << ",migrations,restarts,vms_running,vms_down,hosts_active,hosts_overloaded,unmet_cpu\n";

  const auto field = [&out](const std::map<std::string, double>& values, const std::string& id) {
    out << ',';
    if (const auto v = lookup(values, id); v && std::isfinite(*v))
      out << fixed(*v, 4);
  };
  for (const auto& sample : samples) {
    out << seconds_text(sample.at);
    for (const auto& id : clusters)
      field(sample.cluster_imbalance, id);
    for (const auto& id : hosts)
      field(sample.host_load, id);
    out << ',' << sample.migrations_total << ',' << sample.restarts_total << ','
        << sample.vms_running << ',' << sample.vms_down << ',' << sample.hosts_active << ','
        << sample.hosts_overloaded << ','
        << (usable(sample.unmet_cpu) ? fixed(sample.unmet_cpu, 4) : "") << '\n';
  }
}

std::string render_report(const run_summary& summary, const std::vector<metrics_sample>& samples) {
  const auto name = html_escape(summary.scenario);
  const auto row = [](std::string_view key, const std::string& value) {
    return "<tr><th>" + std::string{key} + "</th><td>" + value + "</td></tr>\n";
  };
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<title>qvdc-sim report: " +
                     name + "</title>\n" + std::string{style} + "\n</head>\n<body>\n<h1>Scenario " +
                     name + "</h1>\n<table>\n";
  html += row("Seed", std::to_string(summary.seed));
  html += row("Simulated duration", time_label(seconds_of(summary.duration)) + " (" +
                                        seconds_text(summary.duration) + " s)");
  html += row("Events", std::to_string(summary.events));
  html += row("Log hash", "<code>" + html_escape(summary.log_hash) + "</code>");
  html += row("Migrations", std::to_string(summary.migrations));
  html += row("HA restarts", std::to_string(summary.restarts));
  html += row("Metrics samples", std::to_string(samples.size()));
  html += row("Overloaded host-time",
              fixed(overloaded_host_seconds(samples) / 3600.0, 2) + " host-hours (load above 1)");
  html += row("Wall seconds",
              usable(summary.wall_seconds) ? fixed(summary.wall_seconds, 3) : std::string{"?"});
  html +=
      "</table>\n" + violations_section(summary.violations) + refusals_section(summary.refusals);
  html += samples.empty() ? "<p class=\"note\">No metrics samples were recorded: there is no data "
                            "to chart.</p>\n"
                          : charts(samples);
  return html + downtime_section(summary.downtime) + decisions_section(summary.decisions) +
         notes_section(summary.notes) + "</body>\n</html>\n";
}

} // namespace qx::sim
