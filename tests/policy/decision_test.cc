// SPDX-License-Identifier: MIT
// PolicySnapshot::classify and decide on snapshots built from YAML with small lists: which
// policy a client address gets (groups, default policy, no policies at all), and the decision
// order — allow lists first, then block rules in order where the first list with a match
// decides; exceptions inside a block list; RPZ per-rule actions unless the policy names one; a
// list's default action; passthru as monitor; and the provenance in the Verdict.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "policy/snapshot.h"
#include "policy/snapshot_builder.h"
#include "resolver/dns/name.h"
#include "tests/policy/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using sinkhole::policy::ActionKind;
using sinkhole::policy::build_snapshot;
using sinkhole::policy::BuildResult;
using sinkhole::policy::kAllowAll;
using sinkhole::policy::kRefuseClient;
using sinkhole::policy::PolicySnapshot;
using sinkhole::policy::Verdict;
using Kind = sinkhole::policy::Verdict::Kind;

using sinkhole::test::TempDir;

constexpr std::string_view kRpz =
    "$TTL 300\n"                                                         // 1
    "$ORIGIN rpz.test.\n"                                                // 2
    "@ IN SOA ns.rpz.test. hostmaster.rpz.test. 1 3600 600 86400 300\n"  // 3
    "  IN NS ns.rpz.test.\n"                                             // 4
    "nx.example CNAME .\n"                                               // 5
    "*.nx.example CNAME .\n"                                             // 6
    "nodata.example CNAME *.\n"                                          // 7
    "drop.example CNAME rpz-drop.\n"                                     // 8
    "tcp.example CNAME rpz-tcp-only.\n"                                  // 9
    "local.example A 192.0.2.7\n"                                        // 10
    "pass.example CNAME rpz-passthru.\n";                                // 11

// Every list the tests use, in one directory; each configuration picks what it needs.
void write_lists(const TempDir& t) {
  t.write("casino.txt", "# gambling\ncasino.example\nbet.example\n");  // lines 2, 3
  t.write("specific.txt", "www.casino.example\ngood.ads.example\n");   // lines 1, 2
  t.write("ads.adblock", "! ads\n||ads.example^\n@@||good.ads.example^\n");
  t.write("kids-ok.txt", "ok.casino.example\n");
  t.write("policy.rpz", kRpz);
  t.write("refusing.txt", "refuse-me.example\n");
  t.write("monitor.txt", "trial.example\n");
  t.write("patterns.txt", "/casino|poker/\n");
  // The mandatory-list tests (kMandatory).
  t.write("mic.txt", "casino.example\nlottery.example\nmic-only.example\n");
  t.write("mic-exceptions.txt", "lottery.example\n");
  t.write("helpdesk.txt", "casino.example\nlottery.example\nfalse-positive.example\n");
  t.write("gambling.txt", "casino.example\nfalse-positive.example\nbingo.example\n");
  t.write("ads2.adblock", "||ads.example^\n@@||mic-only.example^\n");
  t.write("gambling-exceptions.txt", "bingo.example\n");
}

struct Snap {
  TempDir tmp;
  std::shared_ptr<const PolicySnapshot> s;

  explicit Snap(std::string_view yaml) {
    write_lists(tmp);
    const BuildResult r = build_snapshot(yaml, tmp.config(), 1);
    std::string errors;
    for (const auto& e : r.errors) errors += "\n  " + e;
    INFO("errors:", errors);
    REQUIRE(r.snapshot != nullptr);
    s = r.snapshot;
  }

  int32_t policy(const std::string& name) const {
    for (size_t i = 0; i < s->policies.size(); ++i)
      if (s->policies[i].name == name) return static_cast<int32_t>(i);
    FAIL("no policy ", name);
    return -1;
  }
  uint16_t list(const std::string& name) const {
    for (size_t i = 0; i < s->lists.size(); ++i)
      if (s->lists[i].name == name) return static_cast<uint16_t>(i);
    FAIL("no list ", name);
    return 0;
  }
  uint16_t action(const std::string& name) const {
    for (size_t i = 0; i < s->actions.size(); ++i)
      if (s->actions[i].name == name) return static_cast<uint16_t>(i);
    FAIL("no action ", name);
    return 0;
  }

  Verdict decide(int32_t p, const char* name,
                 sinkhole::blocklist::PatternScratch* scratch = nullptr) const {
    uint8_t wire[sinkhole::dns::kMaxNameWire];
    const size_t n = sinkhole::dns::text_to_wire(name, wire);
    INFO(name);
    REQUIRE(n > 0);
    return s->decide(p, wire, n, scratch);
  }
  Verdict decide(const std::string& p, const char* name) const { return decide(policy(p), name); }

  int32_t classify(const char* address) const {
    INFO(address);
    sockaddr_storage storage{};
    if (std::strchr(address, ':') == nullptr) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(53000);
      REQUIRE(inet_pton(AF_INET, address, &sin->sin_addr) == 1);
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(53000);
      REQUIRE(inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1);
    }
    return s->classify(reinterpret_cast<const sockaddr*>(&storage));
  }
};

// ---------------------------------------------------------------------------------------------
// classify

constexpr std::string_view kGroups = R"(lists:
  casino:
    path: casino.txt
policies:
  - name: kids
    clients: [127.0.0.2/32, "::1"]
    block: [casino]
  - name: adults
    clients:
      - 127.0.0.3
      - 2001:db8::/32
)";

TEST_CASE("classify: client groups, and refused for a client in no group") {
  Snap s(kGroups);
  CHECK(s.classify("127.0.0.2") == s.policy("kids"));
  CHECK(s.classify("127.0.0.3") == s.policy("adults"));
  CHECK(s.classify("::1") == s.policy("kids"));
  CHECK(s.classify("2001:db8:ffff::53") == s.policy("adults"));
  CHECK(s.classify("::ffff:127.0.0.3") == s.policy("adults"));  // dual-stack socket form
  CHECK(s.classify("127.0.0.4") == kRefuseClient);
  CHECK(s.classify("::2") == kRefuseClient);
  CHECK(s.classify("192.0.2.1") == kRefuseClient);
  CHECK(s.s->classify(nullptr) == kRefuseClient);
  // A client refused or not in a policy gets no verdict from decide: nothing blocks.
  CHECK(s.decide(kRefuseClient, "casino.example").kind == Kind::kAllow);
  CHECK(s.decide(static_cast<int32_t>(s.s->policies.size()), "casino.example").kind ==
        Kind::kAllow);
}

TEST_CASE("classify: default_policy names the policy for clients in no group") {
  std::string yaml(kGroups);
  yaml += "default_policy: adults\n";
  Snap s(yaml);
  CHECK(s.classify("127.0.0.2") == s.policy("kids"));
  CHECK(s.classify("127.0.0.4") == s.policy("adults"));
  CHECK(s.classify("::2") == s.policy("adults"));
  CHECK(s.s->default_policy == s.policy("adults"));
}

TEST_CASE("classify: no policies key serves everyone") {
  Snap s("lists:\n  casino:\n    path: casino.txt\n");
  CHECK(s.classify("127.0.0.2") == kAllowAll);
  CHECK(s.classify("::1") == kAllowAll);
  CHECK(s.classify("198.51.100.1") == kAllowAll);
  CHECK(s.decide(kAllowAll, "casino.example").kind == Kind::kAllow);
}

// ---------------------------------------------------------------------------------------------
// decide

constexpr std::string_view kOrder = R"(lists:
  casino:
    path: casino.txt
    category: gambling
  specific:
    path: specific.txt
  ads:
    path: ads.adblock
    format: adblock
  kids-ok:
    path: kids-ok.txt
policies:
  - name: kids
    allow: [kids-ok]
    block:
      - list: casino
        action: refused
      - list: specific
        action: drop
  - name: ads-first
    block:
      - ads
      - {list: specific, action: refused}
  - name: nothing
)";

TEST_CASE("decide: allow lists win over block lists") {
  Snap s(kOrder);
  const Verdict blocked = s.decide("kids", "casino.example");
  CHECK(blocked.kind == Kind::kBlock);
  CHECK(blocked.action == s.action("refused"));
  // ok.casino.example is under casino.example, but the allow list names it.
  const Verdict allowed = s.decide("kids", "ok.casino.example");
  CHECK(allowed.kind == Kind::kAllow);
  CHECK(s.decide("kids", "www.ok.casino.example").kind == Kind::kAllow);
  // A sibling is not covered by the allow entry.
  CHECK(s.decide("kids", "ko.casino.example").kind == Kind::kBlock);
}

TEST_CASE("decide: block rules in order, the first list with a match decides") {
  Snap s(kOrder);
  // specific.txt has www.casino.example itself, but casino (the first rule) already matches
  // through casino.example: its action and provenance apply.
  const Verdict v = s.decide("kids", "www.casino.example");
  CHECK(v.kind == Kind::kBlock);
  CHECK(v.list == s.list("casino"));
  CHECK(v.action == s.action("refused"));
  CHECK(v.line == 2);
  CHECK(v.depth == 1);
  // A name only the second list has gets the second rule's action.
  const Verdict second = s.decide("kids", "good.ads.example");
  CHECK(second.kind == Kind::kBlock);
  CHECK(second.list == s.list("specific"));
  CHECK(second.action == s.action("drop"));
  CHECK(second.line == 2);
  CHECK(second.depth == 0);
  // No list has it: allowed.
  CHECK(s.decide("kids", "example.org").kind == Kind::kAllow);
  CHECK(s.decide("kids", "example").kind == Kind::kAllow);
  // A policy without rules blocks nothing.
  CHECK(s.decide("nothing", "casino.example").kind == Kind::kAllow);
}

TEST_CASE("decide: subdomains are blocked, with their depth") {
  Snap s(kOrder);
  const Verdict exact = s.decide("kids", "bet.example");
  CHECK(exact.kind == Kind::kBlock);
  CHECK(exact.depth == 0);
  CHECK(exact.line == 3);
  CHECK(exact.list == s.list("casino"));
  CHECK_FALSE(exact.pattern);

  const Verdict deep = s.decide("kids", "a.b.casino.example");
  CHECK(deep.kind == Kind::kBlock);
  CHECK(deep.list == s.list("casino"));
  CHECK(deep.line == 2);
  CHECK(deep.depth == 2);
  CHECK(deep.entry == 0);  // casino.example is the list's first entry

  CHECK(s.decide("kids", "BET.Example").kind == Kind::kBlock);  // any case
  CHECK(s.decide("kids", "xcasino.example").kind == Kind::kAllow);
  CHECK(s.decide("kids", "casino.example.org").kind == Kind::kAllow);
}

TEST_CASE("decide: an AdBlock @@ exception in a block list allows") {
  Snap s(kOrder);
  const Verdict blocked = s.decide("ads-first", "x.ads.example");
  CHECK(blocked.kind == Kind::kBlock);
  CHECK(blocked.list == s.list("ads"));
  CHECK(blocked.action == s.s->nxdomain);  // no action anywhere: nxdomain
  CHECK(blocked.line == 2);
  CHECK(blocked.depth == 1);
  // @@||good.ads.example^ in the first list decides, though the second list blocks the name.
  CHECK(s.decide("ads-first", "good.ads.example").kind == Kind::kAllow);
  CHECK(s.decide("ads-first", "www.good.ads.example").kind == Kind::kAllow);
  // The second list still applies to what the first does not mention.
  const Verdict second = s.decide("ads-first", "www.casino.example");
  CHECK(second.kind == Kind::kBlock);
  CHECK(second.list == s.list("specific"));
  CHECK(second.action == s.action("refused"));
}

constexpr std::string_view kRpzYaml = R"(actions:
  warning:
    type: sinkhole
    a: 192.0.2.80
lists:
  zone:
    path: policy.rpz
    format: rpz
    action: refused
policies:
  - name: zone-actions
    block: [zone]
  - name: override
    block:
      - list: zone
        action: warning
)";

TEST_CASE("decide: RPZ rules keep their own action when the policy names none") {
  Snap s(kRpzYaml);
  const PolicySnapshot& p = *s.s;
  struct Case {
    const char* name;
    uint16_t action;
    uint32_t line;
    uint8_t depth;
  };
  const Case cases[] = {
      {"nx.example", p.nxdomain, 5, 0},   {"www.nx.example", p.nxdomain, 6, 0},
      {"nodata.example", p.nodata, 7, 0}, {"drop.example", p.drop, 8, 0},
      {"tcp.example", p.tcp_only, 9, 0},  {"local.example", p.local_data, 10, 0},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const Verdict v = s.decide("zone-actions", c.name);
    CHECK(v.kind == Kind::kBlock);
    CHECK(v.list == s.list("zone"));
    CHECK(v.action == c.action);
    CHECK(v.line == c.line);
  }
  CHECK(p.actions[p.nxdomain].kind == ActionKind::kNxDomain);
  CHECK(p.actions[p.nodata].kind == ActionKind::kNoData);
  CHECK(p.actions[p.drop].kind == ActionKind::kDrop);
  CHECK(p.actions[p.tcp_only].kind == ActionKind::kTcpOnly);
  CHECK(p.actions[p.local_data].kind == ActionKind::kLocalData);
  // The local data is there for the answer, under the matched entry.
  const Verdict local = s.decide("zone-actions", "local.example");
  const auto& data = p.lists[local.list].local;
  const auto it = data.find(local.entry);
  REQUIRE(it != data.end());
  REQUIRE(it->second.size() == 1);
  CHECK(it->second[0].type == 1);  // A
  const std::vector<uint8_t> rdata = {192, 0, 2, 7};
  CHECK(it->second[0].rdata == rdata);
  // rpz-passthru is an exception: allowed, and the list's default action is not used.
  CHECK(s.decide("zone-actions", "pass.example").kind == Kind::kAllow);
  // RPZ triggers are exact unless written as *.name.
  CHECK(s.decide("zone-actions", "www.drop.example").kind == Kind::kAllow);
}

TEST_CASE("decide: the policy rule's action overrides the RPZ rule's own") {
  Snap s(kRpzYaml);
  const uint16_t warning = s.action("warning");
  for (const char* name : {"nx.example", "www.nx.example", "nodata.example", "drop.example",
                           "tcp.example", "local.example"}) {
    INFO(name);
    const Verdict v = s.decide("override", name);
    CHECK(v.kind == Kind::kBlock);
    CHECK(v.action == warning);
  }
  CHECK(s.s->actions[warning].kind == ActionKind::kSinkhole);
  // An exception still allows: the override is an action for blocks, not a block itself.
  CHECK(s.decide("override", "pass.example").kind == Kind::kAllow);
}

TEST_CASE("decide: a list's default action when neither the policy nor RPZ says") {
  Snap s(R"(actions:
  watch:
    type: passthru
lists:
  refusing:
    path: refusing.txt
    action: refused
  casino:
    path: casino.txt
  monitor:
    path: monitor.txt
    action: watch
policies:
  - name: p
    block:
      - refusing
      - casino
      - monitor
  - name: overriding
    block:
      - {list: refusing, action: drop}
)");
  const Verdict listed = s.decide("p", "refuse-me.example");
  CHECK(listed.kind == Kind::kBlock);
  CHECK(listed.action == s.action("refused"));
  CHECK(listed.list == s.list("refusing"));
  CHECK(listed.line == 1);
  // A list without a default action: nxdomain.
  const Verdict fallback = s.decide("p", "casino.example");
  CHECK(fallback.kind == Kind::kBlock);
  CHECK(fallback.action == s.s->nxdomain);
  // The policy rule's action beats the list's default.
  CHECK(s.decide("overriding", "refuse-me.example").action == s.action("drop"));
  // A custom passthru action as the list default: monitor.
  const Verdict watched = s.decide("p", "www.trial.example");
  CHECK(watched.kind == Kind::kMonitor);
  CHECK(watched.action == s.action("watch"));
  CHECK(watched.list == s.list("monitor"));
  CHECK(watched.depth == 1);
}

TEST_CASE("decide: an RPZ rule's own action beats the list's default action") {
  Snap s(kRpzYaml);  // the zone list's default action is refused
  CHECK(s.s->lists[s.list("zone")].default_action == s.action("refused"));
  CHECK(s.decide("zone-actions", "nx.example").action == s.s->nxdomain);
  CHECK(s.decide("zone-actions", "drop.example").action == s.s->drop);
}

TEST_CASE("decide: the passthru action is monitor mode, with provenance") {
  Snap s(R"(lists:
  casino:
    path: casino.txt
    category: gambling
policies:
  - name: trial
    block:
      - list: casino
        action: passthru
)");
  const Verdict v = s.decide("trial", "a.b.casino.example");
  CHECK(v.kind == Kind::kMonitor);
  CHECK(v.action == s.s->passthru);
  CHECK(v.list == s.list("casino"));
  CHECK(v.line == 2);
  CHECK(v.depth == 2);
  CHECK(s.decide("trial", "casino.org").kind == Kind::kAllow);
}

TEST_CASE("decide: a pattern list with a scratch") {
  Snap s(R"(lists:
  pat:
    path: patterns.txt
    format: patterns
policies:
  - name: p
    block: [pat]
)");
  const auto& matcher = *s.s->lists[s.list("pat")].matcher;
  REQUIRE(matcher.pattern_count() > 0);
  sinkhole::blocklist::PatternScratch scratch;
  REQUIRE(scratch.prepare(matcher.patterns()));
  const Verdict v = s.decide(s.policy("p"), "www.online-casino.example", &scratch);
  CHECK(v.kind == Kind::kBlock);
  CHECK(v.pattern);
  CHECK(v.line == 1);
  CHECK(v.list == s.list("pat"));
  CHECK(s.decide(s.policy("p"), "www.example.org", &scratch).kind == Kind::kAllow);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// mandatory lists and exception lists

// mic: the regulator's list (mandatory); gambling: a category list whose false positive the
// helpdesk allow-lists; ads: an AdBlock list with its own exception for casino.example.
constexpr std::string_view kMandatory = R"(lists:
  mic: { path: mic.txt, mandatory: true, exceptions: [mic-exceptions] }
  mic-exceptions: { path: mic-exceptions.txt }
  helpdesk: { path: helpdesk.txt }
  gambling: { path: gambling.txt }
  ads: { path: ads2.adblock, format: adblock }
  gambling-exceptions: { path: gambling-exceptions.txt }
  gambling-lifted: { path: gambling.txt, exceptions: [gambling-exceptions] }
policies:
  - name: subscribers
    clients: [127.0.0.2/32]
    allow: [helpdesk]
    block: [ads, gambling, mic]
  - name: legacy
    clients: [127.0.0.3/32]
    allow: [helpdesk]
    block: [ads, gambling]
  - name: lifted
    clients: [127.0.0.4/32]
    block: [gambling-lifted, mic]
)";

TEST_CASE("mandatory: an allow list does not lift it; it lifts a category list") {
  Snap s(kMandatory);
  // The regulator's name, allow-listed by the helpdesk: still blocked, by mic.
  Verdict v = s.decide("subscribers", "www.casino.example");
  CHECK(v.kind == Kind::kBlock);
  CHECK(v.list == s.list("mic"));
  CHECK(v.line == 1);
  CHECK(v.action == s.s->nxdomain);
  // A category false positive: the allow list still lifts it.
  CHECK(s.decide("subscribers", "false-positive.example").kind == Kind::kAllow);
  // Without the mandatory list in the policy, the allow list lifts everything as before.
  CHECK(s.decide("legacy", "casino.example").kind == Kind::kAllow);
  // Order is kept when nothing lifts: gambling comes before mic and decides.
  CHECK(s.decide("subscribers", "bingo.example").list == s.list("gambling"));
}

TEST_CASE("mandatory: another list's exception does not lift it; its own exception list does") {
  Snap s(kMandatory);
  // ads (first in order) holds @@||mic-only.example^: an exception of another list.
  Verdict v = s.decide("subscribers", "mic-only.example");
  CHECK(v.kind == Kind::kBlock);
  CHECK(v.list == s.list("mic"));
  // lottery.example is in mic-exceptions, named in mic's own exceptions: lifted, and the
  // helpdesk allow list allows it.
  CHECK(s.decide("subscribers", "lottery.example").kind == Kind::kAllow);
  CHECK(s.decide("lifted", "www.lottery.example").kind == Kind::kAllow);
  CHECK(s.decide("lifted", "casino.example").list == s.list("gambling-lifted"));
  // An exception list of a non-mandatory list exempts from that list only: bingo.example is
  // lifted from gambling-lifted, and no other list of the policy holds it.
  CHECK(s.decide("lifted", "bingo.example").kind == Kind::kAllow);
  CHECK(s.decide("lifted", "mic-only.example").list == s.list("mic"));
}
