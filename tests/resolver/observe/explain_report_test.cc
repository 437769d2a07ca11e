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

TEST_CASE("the deciding list's legal basis: a text line, and basis {...} for both audiences") {
  Explanation e = blocked();
  e.basis = {"MIC", "Decision 1234/QD-BTTTT", "2024-11-09", "https://regulator.example/d/1234"};
  const std::string text = explain_text(e);
  CHECK(text.find("\n  legal basis: MIC, Decision 1234/QD-BTTTT of 2024-11-09 "
                  "<https://regulator.example/d/1234>\n") != std::string::npos);
  for (const Audience a : {Audience::kOperator, Audience::kPublic}) {
    const auto j = nlohmann::json::parse(explain_json(e, a).dump());
    CHECK(j["basis"] == nlohmann::json{{"authority", "MIC"},
                                       {"reference", "Decision 1234/QD-BTTTT"},
                                       {"date", "2024-11-09"},
                                       {"url", "https://regulator.example/d/1234"}});
  }
  // The parts a basis has; every key present in JSON, "" where unset.
  e.basis = {"ADM", "", "", ""};
  CHECK(explain_text(e).find("  legal basis: ADM\n") != std::string::npos);
  const auto j = explain_json(e, Audience::kPublic);
  CHECK(j["basis"]["authority"] == "ADM");
  CHECK(j["basis"]["reference"] == "");
  CHECK(j["basis"]["url"] == "");
  e.basis = {"", "Order 7", "", "http://x.example"};
  CHECK(sinkhole::observe::basis_text(e.basis) == "Order 7 <http://x.example>");
  // The per-policy form (no client given) shows it under the policy's verdict.
  Explanation other = blocked();
  other.policy = "business";
  other.outcome = Outcome::kAllowed;
  other.list.clear();
  const std::string each = explain_text(std::vector<Explanation>{e, other});
  CHECK(each.find("\n    legal basis: Order 7 <http://x.example>\n") != std::string::npos);
  // No basis: no line, no key.
  const Explanation plain = blocked();
  CHECK(explain_text(plain).find("legal basis") == std::string::npos);
  CHECK_FALSE(explain_json(plain, Audience::kOperator).contains("basis"));
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

TEST_CASE("explain_text and explain_json: overridden rules, an ignored allow entry, a lift") {
  using sinkhole::policy::IgnoredAllow;
  using sinkhole::policy::OverriddenRule;
  Explanation allowed = blocked();
  allowed.outcome = Outcome::kAllowListed;
  allowed.list = "helpdesk";
  allowed.file = "/etc/sinkholed/lists/helpdesk.txt";
  allowed.line = 4;
  allowed.action.clear();
  allowed.ede_text.clear();
  OverriddenRule o;
  o.list = "casino";
  o.category = "gambling";
  o.file = "/etc/sinkholed/lists/casino.txt";
  o.line = 12;
  o.rule = "bet.example";
  o.action = "warning";
  allowed.overridden.push_back(o);
  OverriddenRule lifted = o;
  lifted.list = "mic";
  lifted.mandatory = true;
  lifted.lifted_by = "mic-exceptions";
  lifted.lifted_file = "/etc/sinkholed/lists/mic-exceptions.txt";
  lifted.lifted_line = 2;
  allowed.overridden.push_back(lifted);
  CHECK(explain_text(allowed) ==
        "www.bet.example: allowed by allow list helpdesk (category gambling) at "
        "/etc/sinkholed/lists/helpdesk.txt:4, rule bet.example (client 192.0.2.7, policy "
        "subscribers)\n"
        "  overrides list casino (category gambling) at /etc/sinkholed/lists/casino.txt:12, rule "
        "bet.example, action warning\n"
        "  lifted by its exception list mic-exceptions at "
        "/etc/sinkholed/lists/mic-exceptions.txt:2: mandatory list mic (category gambling) at "
        "/etc/sinkholed/lists/casino.txt:12, rule bet.example, action warning\n");
  const auto j = explain_json(allowed, Audience::kOperator);
  REQUIRE(j["overrides"].size() == 2);
  CHECK(j["overrides"][0]["list"] == "casino");
  CHECK(j["overrides"][0]["line"] == 12);
  CHECK(j["overrides"][0]["mandatory"] == false);
  CHECK(j["overrides"][1]["lifted_by"] == "mic-exceptions");
  CHECK(j["overrides"][1]["lifted_line"] == 2);
  const auto pub = explain_json(allowed, Audience::kPublic);
  CHECK_FALSE(pub["overrides"][0].contains("file"));
  CHECK_FALSE(pub["overrides"][1].contains("lifted_file"));

  Explanation mandatory = blocked();
  mandatory.list = "mic";
  mandatory.mandatory = true;
  mandatory.ignored =
      IgnoredAllow{true, "helpdesk", "/etc/sinkholed/lists/helpdesk.txt", 4, "bet.example"};
  const std::string text = explain_text(mandatory);
  CHECK(text.find("  mandatory list mic: NOT overridden: the allow list helpdesk at "
                  "/etc/sinkholed/lists/helpdesk.txt:4, rule bet.example was ignored") !=
        std::string::npos);
  const auto mj = explain_json(mandatory, Audience::kOperator);
  CHECK(mj["mandatory"] == true);
  CHECK(mj["ignored_allow"]["kind"] == "allow-list");
  CHECK(mj["ignored_allow"]["list"] == "helpdesk");
  CHECK(mj["ignored_allow"]["line"] == 4);
}

TEST_CASE("explain_text and explain_json for every policy: a line each, the aggregate verdict") {
  Explanation a = blocked();
  a.client.clear();
  Explanation b;
  b.name = "www.bet.example";
  b.policy = "business";
  Explanation refused;
  refused.name = "www.bet.example";
  refused.outcome = Outcome::kRefusedClient;
  const std::vector<Explanation> each{a, b, refused};
  CHECK(explain_text(each) ==
        "www.bet.example: no client given, the verdict of each policy (in configuration order):\n"
        "  policy subscribers: BLOCKED by list casino (category gambling) at "
        "/etc/sinkholed/lists/casino.txt:12, rule bet.example, action warning\n"
        "  policy business: allowed, no rule\n"
        "  clients in no policy: REFUSED (default_policy: refused)\n");
  const auto j = explain_json(each, Audience::kOperator);
  CHECK(j["verdict"] == "blocked");
  CHECK(j["exit"] == 3);
  REQUIRE(j["policies"].size() == 3);
  CHECK(j["policies"][1]["policy"] == "business");
  CHECK(j["policies"][2]["verdict"] == "refused-client");
  const auto k = explain_json(std::vector<Explanation>{b, refused}, Audience::kPublic);
  CHECK(k["verdict"] == "refused-client");
  CHECK(k["exit"] == 4);
  // One verdict (the only policy, assumed): the single form, saying so.
  Explanation only = blocked();
  only.client.clear();
  only.assumed = true;
  CHECK(explain_text(std::vector<Explanation>{only})
            .find("(no client given, assumed policy subscribers (the only policy))") !=
        std::string::npos);
  CHECK(explain_json(std::vector<Explanation>{only}, Audience::kOperator)["assumed"] == true);
}
