// SPDX-License-Identifier: MIT
// explain_text and explain_json: the paragraph of `sinkholectl explain`, and the JSON of
// `--json` and of the warning page's /explain, which leaves out the server's file paths.
#include "resolver/observe/explain_report.h"

#include <doctest/doctest.h>

#include <string>

namespace {

using sinkhole::observe::Audience;
using sinkhole::observe::explain_json;
using sinkhole::observe::explain_text;
using sinkhole::policy::Explanation;
using Outcome = Explanation::Outcome;

Explanation blocked() {
  Explanation e;
  e.outcome = Outcome::kBlocked;
  e.name = "www.bet.example";
  e.client = "192.0.2.7";
  e.policy = "subscribers";
  e.list = "casino";
  e.category = "gambling";
  e.file = "/etc/sinkholed/lists/casino.txt";
  e.line = 12;
  e.rule = "bet.example";
  e.action = "warning";
  e.ede_text = "Blocked (gambling)";
  return e;
}

}  // namespace

TEST_CASE("explain_text: one paragraph per outcome") {
  CHECK(explain_text(blocked()) ==
        "www.bet.example: BLOCKED by list casino (category gambling) at "
        "/etc/sinkholed/lists/casino.txt:12, rule bet.example\n"
        "  action warning, EDE text \"Blocked (gambling)\"\n"
        "  (client 192.0.2.7, policy subscribers)\n");
  Explanation e;
  e.name = "example.org";
  e.client = "127.0.0.2";
  e.policy = "kids";
  CHECK(explain_text(e) == "example.org: allowed, no rule (client 127.0.0.2, policy kids)\n");
  e.client.clear();
  CHECK(explain_text(e) == "example.org: allowed, no rule (no client given, policy kids)\n");
  e.outcome = Outcome::kRefusedClient;
  e.client = "198.51.100.1";
  e.policy.clear();
  CHECK(explain_text(e) ==
        "example.org: REFUSED: client 198.51.100.1 is in no policy's networks\n");
  e.outcome = Outcome::kNoPolicies;
  CHECK(explain_text(e) == "example.org: allowed: no policies are configured (plain forwarder)\n");
  Explanation bad;
  bad.outcome = Outcome::kInvalidName;
  bad.name = "bad..name";
  bad.reason = "empty label";
  CHECK(explain_text(bad) == "bad..name: not a valid name: empty label\n");
  Explanation ex = blocked();
  ex.outcome = Outcome::kException;
  CHECK(explain_text(ex).find("www.bet.example: allowed by an exception in list casino") == 0);
  ex.outcome = Outcome::kAllowListed;
  CHECK(explain_text(ex).find("www.bet.example: allowed by allow list casino") == 0);
  ex.outcome = Outcome::kMonitored;
  CHECK(explain_text(ex).find("monitored (answered normally, counted)") != std::string::npos);
}

TEST_CASE("explain_json: operators see file and line, the public does not") {
  const auto op = explain_json(blocked(), Audience::kOperator);
  CHECK(op.dump() ==
        R"({"name":"www.bet.example","verdict":"blocked","client":"192.0.2.7",)"
        R"("policy":"subscribers","list":"casino","category":"gambling","rule":"bet.example",)"
        R"("file":"/etc/sinkholed/lists/casino.txt","line":12,"action":"warning",)"
        R"j("ede_text":"Blocked (gambling)"})j");
  const auto pub = explain_json(blocked(), Audience::kPublic);
  CHECK_FALSE(pub.contains("file"));
  CHECK_FALSE(pub.contains("line"));
  CHECK(pub["list"] == "casino");
  Explanation none;
  none.name = "example.org";
  const auto j = explain_json(none, Audience::kOperator);
  CHECK(j["verdict"] == "allowed");
  CHECK_FALSE(j.contains("list"));
  CHECK_FALSE(j.contains("action"));
}

TEST_CASE("explain_json escapes what lists and templates may hold") {
  Explanation e = blocked();
  e.list = "we\"ird\\list";
  e.category = "a\"b";
  e.ede_text = "line1\nline2 \"quoted\" \\";
  const std::string out = explain_json(e, Audience::kPublic).dump();
  CHECK(out.find(R"("list":"we\"ird\\list")") != std::string::npos);
  CHECK(out.find(R"("category":"a\"b")") != std::string::npos);
  CHECK(out.find(R"("ede_text":"line1\nline2 \"quoted\" \\")") != std::string::npos);
  CHECK(nlohmann::json::parse(out)["ede_text"] == e.ede_text);
}

TEST_CASE("verdict names are stable") {
  CHECK(std::string(sinkhole::observe::verdict_name(Outcome::kAllowListed)) == "allow-listed");
  CHECK(std::string(sinkhole::observe::verdict_name(Outcome::kRefusedClient)) == "refused-client");
  CHECK(std::string(sinkhole::observe::verdict_name(Outcome::kInvalidName)) == "invalid-name");
}
