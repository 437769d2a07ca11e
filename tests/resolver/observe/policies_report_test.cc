// SPDX-License-Identifier: MIT
// `sinkholectl policies`: every policy in configuration order with its CIDRs, allow lists
// and block rules in order, each rule's action and where it comes from (the rule, the
// list's default, nxdomain by default); what clients in no policy get (a default policy,
// REFUSED, or everyone served when there are no policies).
#include "resolver/observe/policies_report.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/resolver/observe/server_fixture.h"

namespace {

using sinkhole::test::ServerFixture;

constexpr const char* kYaml = R"(upstreams: [127.0.0.1:5300]
lists:
  casino: { path: casino.txt, category: gambling }
  ads: { path: ads.txt, category: ads, action: refused }
  helpdesk: { path: helpdesk.txt }
actions:
  warning: { type: sinkhole, a: 203.0.113.10 }
policies:
  - name: subscribers
    clients: [10.0.0.0/8, "2001:db8::/32"]
    block: [{ list: casino, action: warning }, ads]
  - name: staff
    clients: [10.1.0.0/16]
    allow: [helpdesk]
    block: [casino]
)";

ServerFixture fixture(const std::string& yaml = kYaml) {
  return ServerFixture(yaml, {{"casino.txt", "casino.example\n"},
                              {"ads.txt", "ads.example\n"},
                              {"helpdesk.txt", "ok.casino.example\n"}});
}

}  // namespace

TEST_CASE("policies text: evaluation order, CIDRs, allow lists, rules and their actions") {
  auto f = fixture();
  const std::string text = sinkhole::observe::policies_text(*f.holder.current());
  CHECK(text ==
        "generation 1: 2 policies; a client gets the policy holding the longest prefix of its "
        "address, then allow lists are checked first, block rules in order (the first list that "
        "matches decides)\n"
        "1. policy subscribers\n"
        "   clients  10.0.0.0/8, 2001:db8::/32\n"
        "   allow    (none)\n"
        "   block    1. casino (category gambling): warning (sinkhole)\n"
        "            2. ads (category ads): refused, the list's default action\n"
        "2. policy staff\n"
        "   clients  10.1.0.0/16\n"
        "   allow    helpdesk\n"
        "   block    1. casino (category gambling): nxdomain, by default\n"
        "clients in no policy: REFUSED (no default_policy)\n");
}

TEST_CASE("policies JSON: the same, for scripts") {
  auto f = fixture();
  const auto j = sinkhole::observe::policies_json(*f.holder.current());
  CHECK(j["generation"] == 1);
  REQUIRE(j["policies"].size() == 2);
  const auto& sub = j["policies"][0];
  CHECK(sub["name"] == "subscribers");
  CHECK(sub["default"] == false);
  CHECK(sub["clients"].size() == 2);
  CHECK(sub["clients"][1] == "2001:db8::/32");
  REQUIRE(sub["block"].size() == 2);
  CHECK(sub["block"][0]["action"] == "warning");
  CHECK(sub["block"][0]["action_type"] == "sinkhole");
  CHECK(sub["block"][0]["action_from"] == "rule");
  CHECK(sub["block"][1]["action"] == "refused");
  CHECK(sub["block"][1]["action_from"] == "list");
  const auto& staff = j["policies"][1];
  REQUIRE(staff["allow"].size() == 1);
  CHECK(staff["allow"][0]["list"] == "helpdesk");
  CHECK(staff["block"][0]["action_from"] == "default");
  CHECK(j["unmatched_clients"] == "refused");
}

TEST_CASE("policies: a default policy, and no policies at all") {
  auto f = fixture(std::string(kYaml) + "default_policy: staff\n");
  const auto snap = f.holder.current();
  CHECK(sinkhole::observe::policies_text(*snap).find("2. policy staff (default_policy)\n") !=
        std::string::npos);
  CHECK(sinkhole::observe::policies_json(*snap)["unmatched_clients"] == "staff");
  CHECK(sinkhole::observe::policies_json(*snap)["policies"][1]["default"] == true);
  ServerFixture none("upstreams: [127.0.0.1:5300]\n");
  CHECK(sinkhole::observe::policies_text(*none.holder.current())
            .ends_with("no policies: every client is served, nothing is blocked\n"));
  CHECK(sinkhole::observe::policies_json(*none.holder.current())["unmatched_clients"] == "allowed");
}
