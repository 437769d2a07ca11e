// SPDX-License-Identifier: MIT
// status, lists and stats reports: the text people read and the JSON scripts parse, from a
// server state without threads. Names from the config (lists, categories) reach the JSON
// as they are written, whatever quotes, backslashes or control bytes they hold.
#include "resolver/observe/status_report.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "resolver/observe/stats_report.h"
#include "tests/resolver/observe/server_fixture.h"

namespace {

using sinkhole::test::ServerFixture;
using Json = nlohmann::json;

constexpr int64_t kNow = 1'700'000'100;

// A list name and a category that a hand-written JSON quoter would have to get right.
const std::string kOddName = "we\"ird\\list";
const std::string kOddCategory = "ca\"t\\eg\tory";

constexpr const char* kYaml = R"(upstreams: [127.0.0.1:5300]
lists:
  "we\"ird\\list": { path: odd.txt, category: "ca\"t\\eg\tory" }
  casino: { path: casino.txt, category: gambling }
policies:
  - name: all
    clients: [0.0.0.0/0]
    block: ["we\"ird\\list", { list: casino, action: nodata }]
)";

ServerFixture fixture() {
  return ServerFixture(kYaml,
                       {{"odd.txt", "odd.example\n"}, {"casino.txt", "a.example\nb.example\n"}});
}

// Parses what a reply would carry, as a client would.
Json reparsed(const nlohmann::ordered_json& j) {
  return Json::parse(j.dump());
}

}  // namespace

TEST_CASE("status --json keeps list names and categories with quotes and backslashes") {
  auto f = fixture();
  const Json doc = reparsed(sinkhole::observe::status_json(f.state, kNow));
  CHECK(doc["status"] == "running");
  CHECK(doc["uptime_s"] == 100);
  CHECK(doc["workers"] == 0);
  CHECK(doc["generation"] == 1);
  CHECK(doc["entries"] == 3);
  CHECK(doc["policies"] == 1);
  REQUIRE(doc["lists"].size() == 2);
  CHECK(doc["lists"][0] ==
        Json{{"name", kOddName}, {"category", kOddCategory}, {"entries", 1}, {"rejected", 0}});
  CHECK(doc["lists"][1]["name"] == "casino");
  CHECK(doc["last_reload_error"] == "");
  CHECK(doc["counters"]["queries_udp"] == 0);
  CHECK(doc["counters"]["snapshot_generation"] == 1);
}

TEST_CASE("status shows a failed reload in text and JSON, error text escaped") {
  auto f = fixture();
  f.reloads.record_failure("cfg.yaml:3:1: bad \"thing\" \\ here");
  const Json doc = reparsed(sinkhole::observe::status_json(f.state, kNow));
  CHECK(doc["reload_failures"] == 1);
  CHECK(doc["last_reload_error"] == "cfg.yaml:3:1: bad \"thing\" \\ here");
  CHECK(doc["counters"]["reload_failures"] == 1);
  const std::string text = sinkhole::observe::status_text(f.state, kNow);
  CHECK(text.find("sinkholed running for 100 s, 0 worker(s)\n") == 0);
  CHECK(text.find("policy generation 1 (2 list(s), 3 entries, 1 policy)") != std::string::npos);
  CHECK(text.find("reloads 0 ok, 1 failed") != std::string::npos);
  CHECK(text.find("last reload FAILED (old policy still serving): cfg.yaml:3:1") !=
        std::string::npos);
  CHECK(text.find("  list casino") != std::string::npos);
}

TEST_CASE("status names the lists a failed reload refused; a success clears them") {
  auto f = fixture();
  f.reloads.record_failure("cfg.yaml:4:11: list casino (/l/casino.txt): 0 valid entries of 9 lines",
                           {{"casino", "empty", "list casino (/l/casino.txt): 0 valid entries"}});
  f.reloads.record_failure("x", {{"casino", "empty", "m"}, {"other", "shrink", "m2"}});
  std::string text = sinkhole::observe::status_text(f.state, kNow);
  CHECK(text.find("  refused casino (empty): m\n  refused other (shrink): m2\n") !=
        std::string::npos);
  Json doc = reparsed(sinkhole::observe::status_json(f.state, kNow));
  REQUIRE(doc["last_reload_refused_lists"].size() == 2);
  CHECK(doc["last_reload_refused_lists"][1]["list"] == "other");
  CHECK(doc["last_reload_refused_lists"][1]["reason"] == "shrink");
  const auto counts = f.reloads.list_failure_counts();
  CHECK(counts.at({"casino", "empty"}) == 2);
  CHECK(counts.at({"other", "shrink"}) == 1);
  f.reloads.record_success(0.1);
  text = sinkhole::observe::status_text(f.state, kNow);
  CHECK(text.find("  refused casino") == std::string::npos);
  doc = reparsed(sinkhole::observe::status_json(f.state, kNow));
  CHECK(doc["last_reload_refused_lists"].empty());
  CHECK(f.reloads.list_failure_counts().size() == 2);  // counters stay
}

TEST_CASE("server_counters: the workers' table, then reloads and the generation") {
  auto f = fixture();
  f.reloads.record_success(0.5);
  const auto counters = sinkhole::observe::server_counters(f.state);
  REQUIRE(counters.size() >= 3);
  CHECK(counters.front().first == "queries_udp");
  CHECK(counters[counters.size() - 3] == std::pair<std::string, uint64_t>{"reloads", 1});
  CHECK(counters.back() == std::pair<std::string, uint64_t>{"snapshot_generation", 1});
  const auto j = sinkhole::observe::counters_json(counters);
  CHECK(j.size() == counters.size());
  CHECK(j.begin().key() == "queries_udp");  // in table order, not sorted
  CHECK(j.dump().find("\"reloads\":1") != std::string::npos);
}

TEST_CASE("lists: text and JSON, with odd names intact") {
  auto f = fixture();
  const Json doc = reparsed(sinkhole::observe::lists_json(f.state, kNow));
  REQUIRE(doc.is_array());
  REQUIRE(doc.size() == 2);
  CHECK(doc[0]["name"] == kOddName);
  CHECK(doc[0]["category"] == kOddCategory);
  CHECK(doc[0]["format"] == "domains");
  CHECK(doc[0]["path"] == f.tmp.path("odd.txt"));
  CHECK(doc[1]["entries"] == 2);
  CHECK(doc[1]["rejected"] == 0);
  CHECK(doc[1]["generation"] == 1);
  const std::string text = sinkhole::observe::lists_text(f.state, kNow);
  CHECK(text.find("casino") != std::string::npos);
  CHECK(text.find(f.tmp.path("casino.txt")) != std::string::npos);
}

TEST_CASE("lists: the legal basis in text and JSON (null without one)") {
  ServerFixture f(R"(upstreams: [127.0.0.1:5300]
lists:
  mic: { path: mic.txt, basis: { authority: MIC, reference: "Decision 1234/QD-BTTTT", date: 2024-11-09, url: "https://regulator.example/d/1234" } }
  plain: { path: mic.txt }
)",
                  {{"mic.txt", "casino.example\n"}});
  const std::string text = sinkhole::observe::lists_text(f.state, kNow);
  const size_t mic = text.find("mic ");
  const size_t plain = text.find("plain ");
  REQUIRE(mic != std::string::npos);
  REQUIRE(plain != std::string::npos);
  CHECK(text.substr(mic, text.find('\n', mic) - mic)
            .ends_with("  basis: MIC, Decision 1234/QD-BTTTT of 2024-11-09 "
                       "<https://regulator.example/d/1234>"));
  CHECK(text.substr(plain).find("basis") == std::string::npos);
  const Json doc = reparsed(sinkhole::observe::lists_json(f.state, kNow));
  CHECK(doc[0]["basis"]["authority"] == "MIC");
  CHECK(doc[0]["basis"]["reference"] == "Decision 1234/QD-BTTTT");
  CHECK(doc[0]["basis"]["date"] == "2024-11-09");
  CHECK(doc[0]["basis"]["url"] == "https://regulator.example/d/1234");
  CHECK(doc[1]["basis"].is_null());
}

TEST_CASE("lists: an inferred format says so") {
  auto f = fixture();
  CHECK(sinkhole::observe::lists_text(f.state, kNow).find("domains (inferred from content)") !=
        std::string::npos);
  const Json doc = reparsed(sinkhole::observe::lists_json(f.state, kNow));
  CHECK(doc[0]["format"] == "domains");
  CHECK(doc[0]["format_source"] == "content");
  CHECK(doc[0]["format_reason"] == "1 of 1 sampled lines are plain names");
}

TEST_CASE("status: the warnings of the policy in service, counted and listed") {
  auto f = fixture();
  std::string text = sinkhole::observe::status_text(f.state, kNow);
  CHECK(text.find("warnings:") == std::string::npos);
  std::vector<std::string> w;
  for (int i = 0; i < 25; ++i) w.push_back("cfg.yaml:" + std::to_string(i + 1) + ":1: w");
  f.reloads.record_success(0.1, w);
  text = sinkhole::observe::status_text(f.state, kNow);
  CHECK(text.find("warnings: 25\n  cfg.yaml:1:1: w\n") != std::string::npos);
  CHECK(text.find("cfg.yaml:20:1: w\n") != std::string::npos);
  CHECK(text.find("cfg.yaml:21:1: w\n") == std::string::npos);
  CHECK(text.find("  ... 5 more (--json lists them all)\n") != std::string::npos);
  const Json doc = reparsed(sinkhole::observe::status_json(f.state, kNow));
  REQUIRE(doc["warnings"].size() == 25);
  CHECK(doc["warnings"][24] == "cfg.yaml:25:1: w");
  f.reloads.record_success(0.1);
  CHECK(sinkhole::observe::status_text(f.state, kNow).find("warnings:") == std::string::npos);
  CHECK(sinkhole::observe::warnings_text({}) == "");
}

TEST_CASE("lists without lists say so") {
  ServerFixture f("upstreams: [127.0.0.1:5300]\n");
  CHECK(sinkhole::observe::lists_text(f.state, kNow) == "no lists configured\n");
  CHECK(sinkhole::observe::lists_json(f.state, kNow).dump() == "[]");
}

TEST_CASE("stats: blocked rows by policy, list, category and action, protected users, cache") {
  auto f = fixture();
  const auto& snap = *f.holder.current();
  sinkhole::policy::Verdict v;
  v.policy = 0;
  v.list = 1;
  v.action = snap.nodata;
  snap.cell_for(v)->inc(0);
  snap.cell_for(v)->inc(0);
  const Json doc = reparsed(sinkhole::observe::stats_json(f.state, kNow));
  CHECK(doc["counters"]["queries_udp"] == 0);
  CHECK_FALSE(doc["counters"].contains("reloads"));  // status has those
  bool odd = false, casino = false;
  for (const auto& r : doc["blocked"]) {
    if (r["list"] == kOddName && r["category"] == kOddCategory && r["action"] == "nxdomain")
      odd = r["blocked"] == 0 && r["policy"] == "all";
    if (r["list"] == "casino" && r["action"] == "nodata")
      casino = r["blocked"] == 2 && r["policy"] == "all";
  }
  CHECK(odd);
  CHECK(casino);
  REQUIRE(doc["protected_users"].size() == 2);
  CHECK(doc["protected_users"][0]["category"] == kOddCategory);
  CHECK(doc["protected_users"][0]["last_hour"] == 0);
  CHECK(doc["cache"]["enabled"] == false);
  const std::string text = sinkhole::observe::stats_text(f.state, kNow);
  CHECK(text.find("queries 0 (0 udp, 0 tcp); blocked 0 (0.0%)") == 0);
  CHECK(text.find("cache: off\n") != std::string::npos);
  CHECK(text.find("blocked by policy, list, category, action:\n") != std::string::npos);
  CHECK(text.find(fmt::format("  {:<16} {:<20} {:<14} {:<16} {:>12}\n", "all", "casino", "gambling",
                              "nodata", 2)) != std::string::npos);
  CHECK(doc["monitored"].empty());
}

TEST_CASE("stats with the cache on") {
  ServerFixture f("upstreams: [127.0.0.1:5300]\n", {}, /*with_cache=*/true);
  const Json doc = reparsed(sinkhole::observe::stats_json(f.state, kNow));
  CHECK(doc["cache"]["enabled"] == true);
  CHECK(doc["cache"]["entries"] == 0);
  CHECK(sinkhole::observe::stats_text(f.state, kNow).find("cache: 0 hits, 0 misses, 0 stale") !=
        std::string::npos);
}

TEST_CASE("status names the settings waiting for a restart until a reload clears them") {
  auto f = fixture();
  std::string text = sinkhole::observe::status_text(f.state, kNow);
  CHECK(text.find("restart required") == std::string::npos);
  CHECK(reparsed(sinkhole::observe::status_json(f.state, kNow))["restart_required"].empty());
  f.reloads.record_success(0.1, {}, {"server.listen", "metrics.listen"});
  text = sinkhole::observe::status_text(f.state, kNow);
  CHECK(text.find("restart required: server.listen, metrics.listen") != std::string::npos);
  Json doc = reparsed(sinkhole::observe::status_json(f.state, kNow));
  CHECK(doc["restart_required"] == Json::array({"server.listen", "metrics.listen"}));
  // A failed reload leaves it as it was; a success whose file agrees with the process
  // clears it.
  f.reloads.record_failure("x");
  CHECK(f.reloads.restart_required().size() == 2);
  f.reloads.record_success(0.1);
  CHECK(f.reloads.restart_required().empty());
  text = sinkhole::observe::status_text(f.state, kNow);
  CHECK(text.find("restart required") == std::string::npos);
}
