// SPDX-License-Identifier: MIT
// sinkholectl fleet-report without HTTP (a fetcher stands in for the nodes): node URLs
// made into endpoint URLs; the merged table, JSON and CSV; a node that does not answer
// fails the report unless --allow-missing; a document that is not a sketch document and
// nodes of different keys are refused, non-zero, with the reason on stderr; the command
// line options.
#include "resolver/control/fleet_report.h"

#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "resolver/control/ctl_cli.h"
#include "resolver/metrics/hash_key.h"
#include "tests/resolver/metrics/ipv4_clients.h"

namespace {

using namespace sinkhole;
using namespace sinkhole::control;

constexpr int64_t kT0 = 472'223 * 3600;
constexpr metrics::ProtectedUsers::HashKey kFleet{0x1234, 0x5678};

std::string node_json(const std::string& name, metrics::ProtectedUsers::HashKey key, uint32_t first,
                      uint32_t n) {
  metrics::ProtectedUsers users(key);
  users.ensure_category(0);
  users.rotate(kT0);
  test::record_ipv4_clients(users, 0, first, n, kT0);
  metrics::SketchDocument d;
  d.node = name;
  d.key_fingerprint = metrics::key_fingerprint(key);
  d.key_from_file = true;
  d.generated_unix = kT0;
  metrics::CategorySketch c;
  c.category = "gambling";
  using W = metrics::ProtectedUsers::Window;
  users.window_registers(0, kT0, W::kLastHour, c.last_hour.registers);
  users.window_registers(0, kT0, W::kLastDay, c.last_day.registers);
  c.last_hour.estimate = metrics::HyperLogLog::estimate(c.last_hour.registers);
  c.last_day.estimate = metrics::HyperLogLog::estimate(c.last_day.registers);
  d.categories.push_back(c);
  return metrics::to_json_text(d);
}

struct Run {
  int exit;
  std::string out, err;
};

Run run(const FleetOptions& o, const std::map<std::string, std::string>& bodies) {
  const Fetcher fetch = [&](const std::string& url, std::chrono::milliseconds) {
    Fetched f;
    const auto it = bodies.find(url);
    if (it == bodies.end()) {
      f.error = "Failed to connect";
      return f;
    }
    f.ok = true;
    f.body = it->second;
    return f;
  };
  std::ostringstream out, err;
  const int code = run_fleet_report(o, fetch, out, err);
  return {code, out.str(), err.str()};
}

const std::string kA = "http://127.0.0.1:9153/protected-users/sketches";
const std::string kB = "http://127.0.0.2:9153/protected-users/sketches";

}  // namespace

TEST_CASE("node URLs: a base URL, a bare address or the endpoint itself") {
  CHECK(sketches_url("http://127.0.0.1:9153") == kA);
  CHECK(sketches_url("http://127.0.0.1:9153/") == kA);
  CHECK(sketches_url("127.0.0.1:9153") == kA);
  CHECK(sketches_url(kA) == kA);
  CHECK(sketches_url("https://edge-1.example:8443") ==
        "https://edge-1.example:8443/protected-users/sketches");
}

TEST_CASE("two overlapping nodes: table, JSON and CSV of the merge") {
  const std::map<std::string, std::string> bodies{{kA, node_json("a", kFleet, 0, 30'000)},
                                                  {kB, node_json("b", kFleet, 10'000, 30'000)}};
  FleetOptions o;
  o.nodes = {"http://127.0.0.1:9153", "127.0.0.2:9153"};
  const Run table = run(o, bodies);
  CHECK(table.exit == 0);
  CHECK(table.out.find("2 nodes merged") != std::string::npos);
  CHECK(table.out.find("category  window     fleet") != std::string::npos);
  CHECK(table.out.find("gambling  last_hour") != std::string::npos);

  o.format = FleetFormat::kJson;
  const Run json = run(o, bodies);
  REQUIRE(json.exit == 0);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["key_fingerprint"] == metrics::key_fingerprint(kFleet));
  REQUIRE(j["rows"].size() == 2);
  const auto& row = j["rows"][0];
  CHECK(row["category"] == "gambling");
  CHECK(row["window"] == "last_hour");
  CHECK(row["fleet_distinct_clients"].get<double>() == doctest::Approx(40'000).epsilon(0.03));
  CHECK(row["sum_of_nodes"].get<double>() == doctest::Approx(60'000).epsilon(0.03));
  CHECK(row["nodes_merged"] == 2);
  CHECK(row["per_node"]["a"].get<double>() == doctest::Approx(30'000).epsilon(0.03));
  CHECK(j["nodes"][1]["url"] == kB);

  o.format = FleetFormat::kCsv;
  const Run csv = run(o, bodies);
  REQUIRE(csv.exit == 0);
  CHECK(csv.out.rfind("category,window,fleet_distinct_clients,sum_of_nodes,nodes_merged,a,b\r\n",
                      0) == 0);
  CHECK(csv.out.find("\r\ngambling,last_hour,") != std::string::npos);
  CHECK(csv.out.find("\r\ngambling,last_day,") != std::string::npos);
}

TEST_CASE("an unreachable node fails the report unless --allow-missing") {
  const std::map<std::string, std::string> bodies{{kA, node_json("a", kFleet, 0, 100)}};
  FleetOptions o;
  o.nodes = {kA, kB};
  const Run r = run(o, bodies);
  CHECK(r.exit == kExitUnreachable);
  CHECK(r.out.empty());
  CHECK(r.err.find(kB + ": Failed to connect") != std::string::npos);
  CHECK(r.err.find("--allow-missing") != std::string::npos);
  o.allow_missing = true;
  const Run allowed = run(o, bodies);
  CHECK(allowed.exit == 0);
  CHECK(allowed.out.find("MISSING " + kB) != std::string::npos);
  o.nodes = {kB};
  CHECK(run(o, bodies).exit == kExitUnreachable);  // nothing left to merge
}

TEST_CASE("different keys, or not a sketch document: refused, non-zero, reason on stderr") {
  FleetOptions o;
  o.nodes = {kA, kB};
  const Run keys =
      run(o, {{kA, node_json("a", kFleet, 0, 100)}, {kB, node_json("b", {9, 9}, 0, 100)}});
  CHECK(keys.exit == kExitFailed);
  CHECK(keys.out.empty());
  CHECK(keys.err.find("refused") != std::string::npos);
  CHECK(keys.err.find("a (" + kA + ")") != std::string::npos);
  CHECK(keys.err.find("b (" + kB + ")") != std::string::npos);
  const Run html = run(o, {{kA, node_json("a", kFleet, 0, 100)}, {kB, "<html>404</html>"}});
  CHECK(html.exit == kExitFailed);
  CHECK(html.err.find(kB + " did not send a sketch document: not JSON") != std::string::npos);
}

TEST_CASE("fleet-report's command line") {
  CLI::App app;
  CtlCli cli(app);
  FleetReportCli fleet(app);
  std::ostringstream out, err;
  const auto stop = parse_command_line(
      app, {"fleet-report", "--node", "a:1", "--node", "b:2", "--csv", "--timeout", "2.5"}, out,
      err);
  REQUIRE_FALSE(stop);
  REQUIRE(fleet.selected());
  const FleetOptions o = fleet.options();
  CHECK(o.nodes == std::vector<std::string>{"a:1", "b:2"});
  CHECK(o.format == FleetFormat::kCsv);
  CHECK(o.timeout == std::chrono::milliseconds(2500));
  CHECK_FALSE(o.allow_missing);

  CLI::App app2;
  CtlCli cli2(app2);
  FleetReportCli fleet2(app2);
  CHECK(parse_command_line(app2, {"fleet-report", "--json", "--csv", "--node", "a"}, out, err) ==
        kExitFailed);
  CLI::App app3;
  CtlCli cli3(app3);
  FleetReportCli fleet3(app3);
  CHECK(parse_command_line(app3, {"fleet-report"}, out, err) == kExitFailed);  // no --node

  // sinkholectl's global options before the command.
  CLI::App app4;
  CtlCli cli4(app4);
  FleetReportCli fleet4(app4);
  REQUIRE_FALSE(parse_command_line(
      app4, {"--json", "--timeout", "3s", "fleet-report", "--node", "a"}, out, err));
  CHECK(fleet4.options().format == FleetFormat::kJson);
  CHECK(fleet4.options().timeout == std::chrono::milliseconds(3000));
  CHECK(fleet4.options().timeout != kDefaultFleetTimeout);
}
