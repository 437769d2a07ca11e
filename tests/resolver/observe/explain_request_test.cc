// SPDX-License-Identifier: MIT
// answer_explain: GET /explain's checks and answer apart from HTTP — exactly one non-empty
// name, at most one client (a second `client=` smuggled in by a proxy is refused), both
// valid — and the public JSON without file paths.
#include "resolver/observe/explain_request.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <vector>

#include "tests/resolver/observe/server_fixture.h"

namespace {

using sinkhole::observe::answer_explain;
using sinkhole::observe::ExplainAnswer;
using sinkhole::observe::QueryArg;
using sinkhole::test::ServerFixture;

constexpr const char* kYaml = R"(upstreams: [127.0.0.1:5300]
lists:
  casino: { path: casino.txt, category: gambling }
policies:
  - name: subscribers
    clients: [192.0.2.0/24]
    block: [casino]
  - name: business
    clients: [198.51.100.0/24]
default_policy: subscribers
)";

struct Explain {
  ServerFixture f{kYaml, {{"casino.txt", "casino.example\n"}}};
  ExplainAnswer ask(std::vector<QueryArg> args) {
    return answer_explain(*f.holder.current(), args);
  }
};

std::string error_of(const ExplainAnswer& a) {
  REQUIRE(a.status == 400);
  return nlohmann::json::parse(a.body)["error"].get<std::string>();
}

}  // namespace

TEST_CASE("answer_explain: a name, and a client when given, decide the verdict") {
  Explain e;
  auto a = e.ask({{"name", "www.casino.example"}});
  REQUIRE(a.status == 200);
  auto j = nlohmann::json::parse(a.body);
  CHECK(j["verdict"] == "blocked");    // without a client: blocked if any policy blocks
  REQUIRE(j["policies"].size() == 2);  // every policy's verdict, never silently one
  CHECK(j["policies"][0]["policy"] == "subscribers");
  CHECK(j["policies"][0]["verdict"] == "blocked");
  CHECK(j["policies"][1]["verdict"] == "allowed");
  CHECK(a.body.find("casino.txt") == std::string::npos);  // the public audience: no path
  CHECK(a.body.back() == '\n');

  a = e.ask({{"client", "198.51.100.9"}, {"name", "www.casino.example"}});
  REQUIRE(a.status == 200);
  CHECK(nlohmann::json::parse(a.body)["verdict"] == "allowed");
  // An empty client is no client: every policy's verdict.
  a = e.ask({{"name", "www.casino.example"}, {"client", ""}});
  REQUIRE(a.status == 200);
  CHECK(nlohmann::json::parse(a.body)["verdict"] == "blocked");
}

TEST_CASE("answer_explain: the warning page gets the legal basis and the EDE text with it") {
  ServerFixture f{R"(upstreams: [127.0.0.1:5300]
actions:
  legal: { type: nxdomain, ede: censored, ede_text: "{authority}: {reference}" }
lists:
  mic:
    path: mic.txt
    category: regulator
    basis: { authority: MIC, reference: "Decision 1234/QD-BTTTT", date: 2024-11-09,
             url: "https://regulator.example/d/1234" }
policies:
  - { name: subscribers, clients: [192.0.2.0/24], block: [{ list: mic, action: legal }] }
)",
                  {{"mic.txt", "casino.example\n"}}};
  const std::vector<QueryArg> args = {{"name", "www.casino.example"}, {"client", "192.0.2.7"}};
  const auto a = answer_explain(*f.holder.current(), args);
  REQUIRE(a.status == 200);
  const auto j = nlohmann::json::parse(a.body);
  CHECK(j["verdict"] == "blocked");
  CHECK(j["ede_text"] == "MIC: Decision 1234/QD-BTTTT");
  CHECK(j["basis"]["authority"] == "MIC");
  CHECK(j["basis"]["reference"] == "Decision 1234/QD-BTTTT");
  CHECK(j["basis"]["date"] == "2024-11-09");
  CHECK(j["basis"]["url"] == "https://regulator.example/d/1234");
  CHECK(a.body.find("mic.txt") == std::string::npos);  // still no path for the public
}

TEST_CASE("answer_explain: exactly one name and at most one client, both valid") {
  Explain e;
  const std::string one_name =
      "exactly one name (and at most one client) is required: "
      "/explain?name=HOST";
  CHECK(error_of(e.ask({})) == one_name);
  CHECK(error_of(e.ask({{"name", ""}})) == one_name);
  CHECK(error_of(e.ask({{"client", "192.0.2.1"}})) == one_name);
  CHECK(error_of(e.ask({{"name", "a.example"}, {"name", "b.example"}})) == one_name);
  CHECK(error_of(e.ask({{"name", "www.casino.example"},
                        {"client", "198.51.100.9"},
                        {"client", "192.0.2.1"}})) == one_name);
  CHECK(error_of(e.ask({{"name", "www.casino.example"}, {"client", "casino"}})) ==
        "client is not an IPv4 or IPv6 address");
  CHECK(error_of(e.ask({{"name", "bad..name"}})) == "name is not a valid domain name");
  // Other arguments are ignored.
  CHECK(e.ask({{"name", "www.casino.example"}, {"utm", "x"}}).status == 200);
}
