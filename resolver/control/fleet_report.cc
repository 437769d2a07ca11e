// SPDX-License-Identifier: MIT
#include "resolver/control/fleet_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <ctime>
#include <future>
#include <nlohmann/json.hpp>

#include "resolver/config/config.h"
#include "resolver/control/ctl_cli.h"
#include "resolver/feeds/http_fetch.h"

namespace sinkhole::control {

namespace {

using Json = nlohmann::ordered_json;

// "10", "2.5" (seconds, as --timeout S) or a duration ("500ms", "10s", "1m").
std::optional<std::chrono::milliseconds> parse_fleet_timeout(const std::string& text) {
  double seconds = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, seconds);
  if (ec == std::errc() && p == end) {
    if (!(seconds > 0) || seconds > 86'400) return std::nullopt;
    return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000)));
  }
  const auto d = config::parse_duration(text);
  if (!d || d->count() <= 0) return std::nullopt;
  return std::chrono::milliseconds(d->count());
}

std::string utc(int64_t unix) {
  const auto t = static_cast<std::time_t>(unix);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

long long whole(double v) {
  return std::llround(v);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string sketches_url(std::string_view node) {
  std::string url(node);
  if (url.find("://") == std::string::npos) url = "http://" + url;
  if (url.find(kSketchesPath) != std::string::npos) return url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + std::string(kSketchesPath);
}

Fetched fetch_over_http(const std::string& url, std::chrono::milliseconds timeout) {
  feeds::http_global_init();
  feeds::HttpGet req;
  req.url = url;
  req.max_bytes = metrics::kMaxSketchDocumentBytes;
  req.timeout_seconds = static_cast<uint32_t>(std::max<int64_t>(1, (timeout.count() + 999) / 1000));
  const std::atomic<bool> never{false};
  feeds::HttpGot got = feeds::http_get(req, never);
  Fetched f;
  if (got.outcome == feeds::HttpGot::Outcome::kContent) {
    f.ok = true;
    f.body = std::move(got.body);
  } else {
    f.error = got.error.empty() ? "no answer" : got.error;
  }
  return f;
}

std::string render_fleet_table(const metrics::FleetReport& r, const FleetSources& s) {
  std::string out = fmt::format(
      "Fleet-wide protected users: {} node{} merged (key {}), sketches made {} .. {}; "
      "HyperLogLog p=14, standard error {:.2f}%\n",
      r.nodes.size(), r.nodes.size() == 1 ? "" : "s", r.key_fingerprint, utc(r.oldest_unix),
      utc(r.newest_unix), metrics::HyperLogLog::kRelativeError * 100);
  for (size_t i = 0; i < r.nodes.size() && i < s.urls.size(); ++i)
    out += fmt::format("  node {}: {}\n", r.nodes[i], s.urls[i]);
  for (const auto& m : s.missing)
    out += fmt::format("  MISSING {}: {} (left out: --allow-missing)\n", m.url, m.error);
  for (const auto& w : r.warnings) out += "  warning: " + w + "\n";
  std::vector<std::string> head{"category", "window", "fleet"};
  for (const auto& n : r.nodes) head.push_back(n);
  head.push_back("sum of nodes");
  head.push_back("nodes merged");
  std::vector<std::vector<std::string>> cells{head};
  for (const auto& row : r.rows) {
    std::vector<std::string> line{row.category, row.window, std::to_string(whole(row.fleet))};
    for (const auto& v : row.per_node) line.push_back(v ? std::to_string(whole(*v)) : "-");
    line.push_back(std::to_string(whole(row.node_sum)));
    line.push_back(std::to_string(row.nodes_merged));
    cells.push_back(std::move(line));
  }
  std::vector<size_t> width(head.size(), 0);
  for (const auto& line : cells)
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  for (const auto& line : cells) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      // Names left-aligned, counts right-aligned.
      text += i < 2 ? fmt::format("{:<{}}", line[i], width[i])
                    : fmt::format("{:>{}}", line[i], width[i]);
      text += i + 1 < line.size() ? "  " : "";
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  }
  if (r.rows.empty()) out += "(no category has been blocked on any node yet)\n";
  return out;
}

std::string render_fleet_json(const metrics::FleetReport& r, const FleetSources& s) {
  Json j = Json::object();
  j["key_fingerprint"] = r.key_fingerprint;
  j["precision"] = metrics::HyperLogLog::kPrecision;
  j["relative_standard_error"] = metrics::HyperLogLog::kRelativeError;
  Json nodes = Json::array();
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    Json n = Json::object();
    n["node"] = r.nodes[i];
    n["url"] = i < s.urls.size() ? s.urls[i] : "";
    n["generated_unix"] = i < s.generated_unix.size() ? s.generated_unix[i] : 0;
    nodes.push_back(std::move(n));
  }
  j["nodes"] = std::move(nodes);
  Json missing = Json::array();
  for (const auto& m : s.missing) missing.push_back(Json{{"url", m.url}, {"error", m.error}});
  j["missing"] = std::move(missing);
  Json rows = Json::array();
  for (const auto& row : r.rows) {
    Json per = Json::object();
    for (size_t i = 0; i < r.nodes.size(); ++i)
      per[r.nodes[i]] = row.per_node[i] ? Json(whole(*row.per_node[i])) : Json(nullptr);
    Json o = Json::object();
    o["category"] = row.category;
    o["window"] = row.window;
    o["fleet_distinct_clients"] = whole(row.fleet);
    o["per_node"] = std::move(per);
    o["sum_of_nodes"] = whole(row.node_sum);
    o["nodes_merged"] = row.nodes_merged;
    rows.push_back(std::move(o));
  }
  j["rows"] = std::move(rows);
  j["warnings"] = r.warnings;
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string render_fleet_csv(const metrics::FleetReport& r) {
  std::string out = "category,window,fleet_distinct_clients,sum_of_nodes,nodes_merged";
  // `out += ','` then the field, never "lit" + std::string: GCC 12 -O3 -Wrestrict.
  for (const auto& n : r.nodes) {
    out += ',';
    out += csv_field(n);
  }
  out += "\r\n";
  for (const auto& row : r.rows) {
    out += fmt::format("{},{},{},{},{}", csv_field(row.category), row.window, whole(row.fleet),
                       whole(row.node_sum), row.nodes_merged);
    for (const auto& v : row.per_node) {
      out += ',';
      if (v) out += std::to_string(whole(*v));
    }
    out += "\r\n";
  }
  return out;
}

int run_fleet_report(const FleetOptions& o, const Fetcher& fetch, std::ostream& out,
                     std::ostream& err) {
  if (o.nodes.empty()) {
    err << "sinkholectl: fleet-report needs at least one --node URL\n";
    return kExitFailed;
  }
  std::vector<std::string> urls;
  for (const auto& n : o.nodes) urls.push_back(sketches_url(n));
  // All at once: the report waits for the slowest node, not the sum of them.
  std::vector<std::future<Fetched>> pending;
  for (const auto& u : urls)
    pending.push_back(
        std::async(std::launch::async, [&fetch, u, t = o.timeout] { return fetch(u, t); }));
  std::vector<metrics::NodeSketches> nodes;
  FleetSources sources;
  bool unreachable = false;
  bool malformed = false;
  for (size_t i = 0; i < urls.size(); ++i) {
    Fetched f = pending[i].get();
    if (!f.ok) {
      err << "sinkholectl: node " << urls[i] << ": " << f.error << "\n";
      sources.missing.push_back({urls[i], f.error});
      unreachable = true;
      continue;
    }
    auto parsed = metrics::parse_sketch_document(f.body);
    if (!parsed.document) {
      err << "sinkholectl: node " << urls[i] << " did not send a sketch document: " << parsed.error
          << "\n";
      malformed = true;
      continue;
    }
    sources.urls.push_back(urls[i]);
    sources.generated_unix.push_back(parsed.document->generated_unix);
    nodes.push_back({urls[i], std::move(*parsed.document)});
  }
  if (malformed) return kExitFailed;
  if (unreachable && (!o.allow_missing || nodes.empty())) {
    err << "sinkholectl: fleet-report: " << sources.missing.size() << " of " << urls.size()
        << " node(s) unreachable; no report"
        << (o.allow_missing ? "" : " (--allow-missing leaves them out)") << "\n";
    return kExitUnreachable;
  }
  const auto merged = metrics::merge_sketches(nodes);
  if (!merged.report) {
    err << "sinkholectl: fleet-report refused: " << merged.error << "\n";
    return kExitFailed;
  }
  for (const auto& w : merged.report->warnings) err << "sinkholectl: warning: " << w << "\n";
  switch (o.format) {
    case FleetFormat::kJson:
      out << render_fleet_json(*merged.report, sources);
      break;
    case FleetFormat::kCsv:
      out << render_fleet_csv(*merged.report);
      break;
    case FleetFormat::kTable:
      out << render_fleet_table(*merged.report, sources);
      break;
  }
  return kExitOk;
}

FleetReportCli::FleetReportCli(CLI::App& app) : app_(&app) {
  sub_ = app.add_subcommand(
      "fleet-report",
      "Fleet-wide protected users: merge the sketches of every --node (its metrics URL) per "
      "category and window; refused when the nodes' keys differ");
  sub_->add_option("--node", nodes_,
                   "A node's metrics base URL (http://10.0.0.1:9153) or its "
                   "/protected-users/sketches URL; repeat for every node")
      ->type_name("URL")
      ->required()
      ->allow_extra_args(false);
  auto* json = sub_->add_flag("--json", json_, "The report as one JSON document");
  auto* csv = sub_->add_flag("--csv", csv_, "The report as CSV (one row per category and window)");
  json->excludes(csv);
  sub_->add_flag("--allow-missing", allow_missing_,
                 "Leave unreachable nodes out (named in the report) instead of failing");
  sub_->add_option("--timeout", timeout_,
                   "Give up on a node after this long (seconds, or 500ms, 10s; default 10s)")
      ->type_name("S")
      ->check(CLI::Validator(
          [](std::string& s) {
            return parse_fleet_timeout(s) ? std::string()
                                          : "'" + s + "' is not a number of seconds or a duration";
          },
          ""));
}

FleetOptions FleetReportCli::options() const {
  FleetOptions o;
  o.nodes = nodes_;
  // sinkholectl's global --json and --timeout, typed before the command, count too.
  const auto global = [this](const char* name) -> const CLI::Option* {
    const CLI::Option* opt = app_->get_option_no_throw(name);
    return opt && opt->count() > 0 ? opt : nullptr;
  };
  const bool json = json_ || global("--json");
  o.format = json ? FleetFormat::kJson : csv_ ? FleetFormat::kCsv : FleetFormat::kTable;
  o.allow_missing = allow_missing_;
  if (const auto t = parse_fleet_timeout(timeout_)) {
    o.timeout = *t;
  } else if (const CLI::Option* g = global("--timeout")) {
    if (const auto gt = parse_fleet_timeout(g->as<std::string>())) o.timeout = *gt;
  }
  return o;
}

}  // namespace sinkhole::control
