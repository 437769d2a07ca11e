// SPDX-License-Identifier: MIT
// sinkholectl fleet-report: fetches every node's protected-user sketches
// (GET /protected-users/sketches on its metrics listener), refuses nodes of different
// hash keys, merges the rest (resolver/metrics/sketch_merge.h) and prints fleet-wide
// distinct clients per category and window — a table, or --json / --csv for a report to
// the regulator. Unlike the other commands it talks HTTP to the nodes, not to a control
// socket. sinkholectl's main thread (the fetches run on threads of their own, joined
// before anything is printed).
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "resolver/metrics/sketch_merge.h"

namespace sinkhole::control {

inline constexpr std::string_view kSketchesPath = "/protected-users/sketches";
inline constexpr std::chrono::milliseconds kDefaultFleetTimeout{10'000};

// "http://10.0.0.1:9153" (a metrics base URL), "10.0.0.1:9153", or the endpoint's full URL
// → the endpoint's URL.
std::string sketches_url(std::string_view node);

// One fetch: the body, or an error naming the cause (connection refused, HTTP 404...).
struct Fetched {
  bool ok = false;
  std::string body;
  std::string error;
};
using Fetcher = std::function<Fetched(const std::string& url, std::chrono::milliseconds timeout)>;
// libcurl, http and https, at most kMaxSketchDocumentBytes.
Fetched fetch_over_http(const std::string& url, std::chrono::milliseconds timeout);

enum class FleetFormat { kTable, kJson, kCsv };

struct FleetOptions {
  std::vector<std::string> nodes;
  FleetFormat format = FleetFormat::kTable;
  std::chrono::milliseconds timeout = kDefaultFleetTimeout;
  bool allow_missing = false;  // an unreachable node is left out (and named) instead of failing
};

// Fetch, check, merge, print. Exit status: 0; 1 a document that is not a sketch document,
// or the merge refused (different keys); 2 a node unreachable (without allow_missing, or
// no node reachable at all).
int run_fleet_report(const FleetOptions& o, const Fetcher& fetch, std::ostream& out,
                     std::ostream& err);

// The merged report as printed. `missing`: URL → error of the nodes left out.
struct MissingNode {
  std::string url;
  std::string error;
};
struct FleetSources {
  std::vector<std::string> urls;  // per node of the report, in order
  std::vector<int64_t> generated_unix;
  std::vector<MissingNode> missing;
};
std::string render_fleet_table(const metrics::FleetReport& r, const FleetSources& s);
std::string render_fleet_json(const metrics::FleetReport& r, const FleetSources& s);
std::string render_fleet_csv(const metrics::FleetReport& r);

// The `fleet-report` subcommand on sinkholectl's command line.
class FleetReportCli {
 public:
  explicit FleetReportCli(CLI::App& app);
  FleetReportCli(const FleetReportCli&) = delete;
  FleetReportCli& operator=(const FleetReportCli&) = delete;
  // After parsing: whether fleet-report was the command typed.
  bool selected() const { return sub_->parsed(); }
  FleetOptions options() const;

 private:
  CLI::App* sub_;
  std::vector<std::string> nodes_;
  bool json_ = false;
  bool csv_ = false;
  bool allow_missing_ = false;
  std::string timeout_;
};

}  // namespace sinkhole::control
