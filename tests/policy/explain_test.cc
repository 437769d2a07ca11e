// SPDX-License-Identifier: MIT
// explain(): what an operator learns about a name and a client (policy, list, file:line,
// listed name, action, EDE text) — and that its outcome always agrees with
// PolicySnapshot::decide for the same client and name. Its text and JSON forms are
// tested with resolver/observe (explain_report_test.cc).
#include "policy/explain.h"

#include <doctest/doctest.h>

#include <string>

#include "policy/snapshot_builder.h"
#include "resolver/dns/name.h"
#include "resolver/metrics/block_stats.h"
#include "tests/policy/temp_dir.h"

namespace {

using sinkhole::policy::Explanation;
using Outcome = sinkhole::policy::Explanation::Outcome;
using sinkhole::test::TempDir;

constexpr const char* kYaml = R"(lists:
  casino: { path: casino.txt, category: gambling }
  ads: { path: ads.adblock, format: adblock, category: ads }
  kids-ok: { path: kids-ok.txt }
  patterns: { path: patterns.txt, format: patterns, category: gambling }
  trial: { path: trial.txt, category: trial }
actions:
  warning:
    type: sinkhole
    a: 203.0.113.10
    ede_text: "Blocked: {list} ({category}) line {line}"
  watch: { type: passthru }
policies:
  - name: kids
    clients: [127.0.0.2/32]
    allow: [kids-ok]
    block:
      - { list: ads }
      - { list: casino, action: warning }
      - { list: patterns, action: nxdomain }
      - { list: trial, action: watch }
  - name: adults
    clients: [127.0.0.3/32]
    block: [{ list: casino, action: nodata }]
)";

struct Fixture {
  TempDir tmp;
  std::shared_ptr<const sinkhole::policy::PolicySnapshot> snap;
  Fixture(const char* yaml = kYaml) {
    tmp.write("casino.txt", "# gambling\ncasino.example\nbet.example\n");
    tmp.write("ads.adblock", "! ads\n||ads.example^\n@@||good.ads.example^\n");
    tmp.write("kids-ok.txt", "ok.casino.example\n");
    tmp.write("patterns.txt", "/poker[0-9]+/\n");
    tmp.write("trial.txt", "trial.example\n");
    auto r = sinkhole::policy::build_snapshot(yaml, tmp.config(), 1);
    REQUIRE(r.snapshot);
    snap = r.snapshot;
  }
  Explanation explain(const char* name, const char* client) const {
    sockaddr_storage a{};
    if (client) REQUIRE(sinkhole::policy::parse_client_address(client, a));
    return sinkhole::policy::explain(*snap, name,
                                     client ? reinterpret_cast<sockaddr*>(&a) : nullptr);
  }
};

}  // namespace

TEST_CASE("explain: a block names the list, file:line, listed name, action and EDE text") {
  Fixture f;
  const Explanation e = f.explain("WWW.Bet.Example.", "127.0.0.2");
  CHECK(e.outcome == Outcome::kBlocked);
  CHECK(e.name == "www.bet.example");
  CHECK(e.policy == "kids");
  CHECK(e.list == "casino");
  CHECK(e.category == "gambling");
  CHECK(e.file == f.tmp.path("casino.txt"));
  CHECK(e.line == 3);
  CHECK(e.rule == "bet.example");
  CHECK(e.action == "warning");
  CHECK(e.ede_text == "Blocked: casino (gambling) line 3");
  CHECK(e.client == "127.0.0.2");
}

TEST_CASE("explain: allow list, exception, pattern, monitor, no rule, refused client") {
  Fixture f;
  CHECK(f.explain("ok.casino.example", "127.0.0.2").outcome == Outcome::kAllowListed);
  const Explanation ex = f.explain("x.good.ads.example", "127.0.0.2");
  CHECK(ex.outcome == Outcome::kException);
  CHECK(ex.list == "ads");
  CHECK(ex.line == 3);
  const Explanation p = f.explain("poker42.example", "127.0.0.2");
  CHECK(p.outcome == Outcome::kBlocked);
  CHECK(p.rule == "pattern");
  CHECK(p.action == "nxdomain");
  CHECK(f.explain("trial.example", "127.0.0.2").outcome == Outcome::kMonitored);
  const Explanation none = f.explain("example.org", "127.0.0.2");
  CHECK(none.outcome == Outcome::kAllowed);
  CHECK(none.list.empty());
  CHECK(none.policy == "kids");
  CHECK(f.explain("casino.example", "127.0.0.3").action == "nodata");
  CHECK(f.explain("casino.example", "127.0.0.9").outcome == Outcome::kRefusedClient);
  const Explanation bad = f.explain("bad..name", "127.0.0.2");
  CHECK(bad.outcome == Outcome::kInvalidName);
  CHECK(bad.name == "bad..name");
  CHECK_FALSE(bad.reason.empty());
  // No client and no default policy: a client in no policy's networks, never silently the
  // first policy (explain_policies gives every policy's verdict).
  const Explanation d = f.explain("casino.example", nullptr);
  CHECK(d.outcome == Outcome::kRefusedClient);
  CHECK(d.policy.empty());
  CHECK(d.client.empty());
}

TEST_CASE("explain agrees with decide for every name and client") {
  Fixture f;
  sinkhole::blocklist::PatternScratch scratch;
  for (const auto& l : f.snap->lists)
    if (l.matcher->pattern_count()) scratch.prepare(l.matcher->patterns());
  const char* names[] = {"casino.example",     "www.casino.example", "ok.casino.example",
                         "bet.example",        "ads.example",        "good.ads.example",
                         "a.good.ads.example", "poker7.example",     "trial.example",
                         "example.org",        "casino.example.org"};
  for (const char* client : {"127.0.0.2", "127.0.0.3"}) {
    sockaddr_storage a{};
    REQUIRE(sinkhole::policy::parse_client_address(client, a));
    const int32_t p = f.snap->classify(reinterpret_cast<sockaddr*>(&a));
    for (const char* name : names) {
      CAPTURE(client);
      CAPTURE(name);
      uint8_t wire[sinkhole::dns::kMaxNameWire];
      const size_t len = sinkhole::dns::text_to_wire(name, wire);
      const auto v = f.snap->decide(p, wire, len, &scratch);
      const Explanation e = f.explain(name, client);
      using K = sinkhole::policy::Verdict::Kind;
      if (v.kind == K::kBlock) {
        CHECK(e.outcome == Outcome::kBlocked);
        CHECK(e.action == f.snap->actions[v.action].name);
        CHECK(e.list == f.snap->lists[v.list].name);
        CHECK(e.line == v.line);
      } else if (v.kind == K::kMonitor) {
        CHECK(e.outcome == Outcome::kMonitored);
      } else {
        CHECK((e.outcome == Outcome::kAllowed || e.outcome == Outcome::kAllowListed ||
               e.outcome == Outcome::kException));
      }
    }
  }
}

TEST_CASE("a snapshot built with BlockStats has a counter cell per policy, list and action") {
  TempDir tmp;
  tmp.write("casino.txt", "casino.example\n");
  tmp.write("trial.txt", "trial.example\n");
  sinkhole::metrics::BlockStats stats(2);
  const char* yaml =
      "lists:\n  casino: { path: casino.txt, category: gambling }\n"
      "  trial: { path: trial.txt, category: test }\n"
      "policies:\n  - { name: all, clients: [0.0.0.0/0], block: [casino] }\n"
      "  - { name: kids, clients: [10.0.0.0/8], block: [{ list: casino, action: refused },\n"
      "      { list: trial, action: passthru }, { list: casino, action: drop }] }\n";
  auto r1 = sinkhole::policy::build_snapshot(yaml, tmp.config(), 1, &stats);
  REQUIRE(r1.snapshot);
  const auto& s = *r1.snapshot;
  auto verdict = [](uint16_t policy, uint16_t list, uint16_t action) {
    sinkhole::policy::Verdict v;
    v.policy = policy;
    v.list = list;
    v.action = action;
    return v;
  };
  REQUIRE(s.cell_begin.size() == s.policies.size() * s.lists.size() + 1);
  auto* cell = s.cell_for(verdict(0, 0, s.nxdomain));
  REQUIRE(cell != nullptr);
  CHECK(s.cell_for(verdict(0, 0, s.tcp_only)) == nullptr);  // a domain list cannot answer tcp-only
  CHECK(s.cell_for(verdict(0, 1, s.nxdomain)) == nullptr);  // policy all has no rule for trial
  auto* kids = s.cell_for(verdict(1, 0, s.refused));
  REQUIRE(kids != nullptr);
  CHECK(kids != cell);  // another policy, another series
  // Only the first rule of a list in a policy can match: the second one gets no cell.
  CHECK(s.cell_for(verdict(1, 0, s.drop)) == nullptr);
  // A passthru rule counts monitored queries, not blocked ones.
  auto* monitored = s.cell_for(verdict(1, 1, s.passthru));
  REQUIRE(monitored != nullptr);
  cell->inc(1);
  kids->inc(0);
  monitored->inc(0);
  monitored->inc(1);
  const auto rows = stats.rows();
  REQUIRE(rows.size() == 2);
  CHECK((rows[0].policy == "all" && rows[0].action == "nxdomain" && rows[0].count == 1));
  CHECK((rows[1].policy == "kids" && rows[1].action == "refused" && rows[1].count == 1));
  const auto mon = stats.monitored_rows();
  REQUIRE(mon.size() == 1);
  CHECK((mon[0].policy == "kids" && mon[0].list == "trial" && mon[0].category == "test" &&
         mon[0].action == "passthru" && mon[0].count == 2));
  // A rebuilt snapshot (a reload) points at the same cell: counts carry over.
  auto r2 = sinkhole::policy::build_snapshot(yaml, tmp.config(), 2, &stats);
  REQUIRE(r2.snapshot);
  CHECK(r2.snapshot->cell_for(verdict(0, 0, r2.snapshot->nxdomain)) == cell);
  CHECK(cell->total() == 1);
  // Without stats (tests, --check) no cells: workers skip counting.
  auto r3 = sinkhole::policy::build_snapshot(yaml, tmp.config(), 3);
  CHECK(r3.snapshot->cell_for(verdict(0, 0, 0)) == nullptr);
}

// ---------------------------------------------------------------------------------------------
// Overridden rules, mandatory lists, every policy's verdict, exit status

constexpr const char* kMandatoryYaml = R"(lists:
  mic: { path: mic.txt, mandatory: true, exceptions: [mic-exceptions], category: regulator }
  mic-exceptions: { path: mic-exceptions.txt }
  helpdesk: { path: helpdesk.txt }
  gambling: { path: casino.txt, category: gambling }
  ads: { path: ads.adblock, format: adblock, category: ads }
policies:
  - name: subscribers
    clients: [127.0.0.2/32]
    allow: [helpdesk]
    block: [ads, { list: gambling, action: nodata }, mic]
  - name: business
    clients: [127.0.0.3/32]
    block: [gambling]
)";

std::shared_ptr<const sinkhole::policy::PolicySnapshot> build_mandatory(const TempDir& tmp,
                                                                        const char* yaml) {
  tmp.write("mic.txt", "casino.example\nlottery.example\ngood.ads.example\n");
  tmp.write("mic-exceptions.txt", "lottery.example\n");
  tmp.write("helpdesk.txt", "casino.example\nlottery.example\nbet.example\n");
  tmp.write("casino.txt", "# gambling\ncasino.example\nbet.example\n");
  tmp.write("ads.adblock", "! ads\n||ads.example^\n@@||good.ads.example^\n");
  auto r = sinkhole::policy::build_snapshot(yaml, tmp.config(), 1);
  INFO("errors: ", r.errors.empty() ? "" : r.errors.front());
  REQUIRE(r.snapshot);
  return r.snapshot;
}

Explanation explain_at(const sinkhole::policy::PolicySnapshot& snap, const char* name,
                       const char* client) {
  sockaddr_storage a{};
  REQUIRE(sinkhole::policy::parse_client_address(client, a));
  return sinkhole::policy::explain(snap, name, reinterpret_cast<sockaddr*>(&a));
}

TEST_CASE("explain: an allowed name shows every block rule its allow entry overrides") {
  TempDir tmp;
  const auto snap = build_mandatory(tmp, kMandatoryYaml);
  const Explanation e = explain_at(*snap, "www.bet.example", "127.0.0.2");
  CHECK(e.outcome == Outcome::kAllowListed);
  CHECK(e.list == "helpdesk");
  CHECK(e.line == 3);
  REQUIRE(e.overridden.size() == 1);
  const auto& o = e.overridden.front();
  CHECK(o.list == "gambling");
  CHECK(o.category == "gambling");
  CHECK(o.file == tmp.path("casino.txt"));
  CHECK(o.line == 3);
  CHECK(o.rule == "bet.example");
  CHECK(o.action == "nodata");
  CHECK_FALSE(o.mandatory);
  CHECK(o.lifted_by.empty());
  CHECK_FALSE(e.ignored);
  CHECK(sinkhole::policy::exit_status(e) == 0);
}

TEST_CASE("explain: a mandatory list is not overridden; the allow entry is shown as ignored") {
  TempDir tmp;
  const auto snap = build_mandatory(tmp, kMandatoryYaml);
  const Explanation e = explain_at(*snap, "casino.example", "127.0.0.2");
  CHECK(e.outcome == Outcome::kBlocked);
  CHECK(e.list == "mic");
  CHECK(e.mandatory);
  CHECK(e.line == 1);
  CHECK(e.action == "nxdomain");
  REQUIRE(e.ignored);
  CHECK(e.ignored->allow_list);
  CHECK(e.ignored->list == "helpdesk");
  CHECK(e.ignored->file == tmp.path("helpdesk.txt"));
  CHECK(e.ignored->line == 1);
  // gambling matched too: overridden by the allow entry (which mic then ignored).
  REQUIRE(e.overridden.size() == 1);
  CHECK(e.overridden.front().list == "gambling");
  CHECK(sinkhole::policy::exit_status(e) == 3);

  // Another list's exception (ads: @@||good.ads.example^) is ignored the same way.
  const Explanation x = explain_at(*snap, "good.ads.example", "127.0.0.2");
  CHECK(x.outcome == Outcome::kBlocked);
  CHECK(x.list == "mic");
  REQUIRE(x.ignored);
  CHECK_FALSE(x.ignored->allow_list);
  CHECK(x.ignored->list == "ads");
  CHECK(x.ignored->line == 3);

  // Its own exception list lifts it: allowed, and the lift is shown with both files.
  const Explanation l = explain_at(*snap, "lottery.example", "127.0.0.2");
  CHECK(l.outcome == Outcome::kAllowListed);
  REQUIRE(l.overridden.size() == 1);
  CHECK(l.overridden.front().list == "mic");
  CHECK(l.overridden.front().mandatory);
  CHECK(l.overridden.front().lifted_by == "mic-exceptions");
  CHECK(l.overridden.front().lifted_file == tmp.path("mic-exceptions.txt"));
  CHECK(l.overridden.front().lifted_line == 1);
  CHECK(sinkhole::policy::exit_status(l) == 0);
}

TEST_CASE("explain with mandatory lists agrees with decide") {
  TempDir tmp;
  const auto snap = build_mandatory(tmp, kMandatoryYaml);
  for (const char* client : {"127.0.0.2", "127.0.0.3"}) {
    sockaddr_storage a{};
    REQUIRE(sinkhole::policy::parse_client_address(client, a));
    const int32_t p = snap->classify(reinterpret_cast<sockaddr*>(&a));
    for (const char* name : {"casino.example", "www.lottery.example", "bet.example",
                             "good.ads.example", "ads.example", "example.org"}) {
      CAPTURE(client);
      CAPTURE(name);
      uint8_t wire[sinkhole::dns::kMaxNameWire];
      const size_t len = sinkhole::dns::text_to_wire(name, wire);
      const auto v = snap->decide(p, wire, len, nullptr);
      const Explanation e = explain_at(*snap, name, client);
      if (v.kind == sinkhole::policy::Verdict::Kind::kBlock) {
        CHECK(e.outcome == Outcome::kBlocked);
        CHECK(e.list == snap->lists[v.list].name);
        CHECK(e.line == v.line);
      } else {
        CHECK(e.outcome != Outcome::kBlocked);
      }
    }
  }
}

TEST_CASE("explain_policies: every policy's verdict in order, then the refused clients") {
  TempDir tmp;
  const auto snap = build_mandatory(tmp, kMandatoryYaml);
  auto each = sinkhole::policy::explain_policies(*snap, "Bet.Example.");
  REQUIRE(each.size() == 3);
  CHECK(each[0].policy == "subscribers");
  CHECK(each[0].outcome == Outcome::kAllowListed);
  CHECK(each[1].policy == "business");
  CHECK(each[1].outcome == Outcome::kBlocked);
  CHECK(each[2].policy.empty());
  CHECK(each[2].outcome == Outcome::kRefusedClient);
  for (const auto& e : each) CHECK(e.name == "bet.example");
  CHECK(sinkhole::policy::exit_status(each) == 3);  // blocked in one policy
  each = sinkhole::policy::explain_policies(*snap, "example.org");
  CHECK(sinkhole::policy::exit_status(each) == 4);  // allowed, but refused outside policies
  CHECK(sinkhole::policy::explain_policies(*snap, "bad..name").front().outcome ==
        Outcome::kInvalidName);
}

TEST_CASE("explain_policies: the only policy, the default, is assumed; both /0: no refused row") {
  TempDir tmp;
  const auto only = build_mandatory(tmp,
                                    "lists:\n  gambling: { path: casino.txt }\n"
                                    "policies:\n  - { name: all, clients: [10.0.0.0/8], block: "
                                    "[gambling] }\ndefault_policy: all\n");
  auto each = sinkhole::policy::explain_policies(*only, "casino.example");
  REQUIRE(each.size() == 1);
  CHECK(each[0].assumed);
  CHECK(each[0].policy == "all");
  CHECK(sinkhole::policy::exit_status(each) == 3);
  const auto everyone = build_mandatory(
      tmp,
      "lists:\n  gambling: { path: casino.txt }\n"
      "policies:\n  - { name: all, clients: [0.0.0.0/0, \"::/0\"], block: [gambling] }\n"
      "  - { name: lab, clients: [10.0.0.0/8] }\n");
  each = sinkhole::policy::explain_policies(*everyone, "example.org");
  REQUIRE(each.size() == 2);
  CHECK_FALSE(each[0].assumed);
  CHECK(sinkhole::policy::exit_status(each) == 0);
  const auto none = build_mandatory(tmp, "lists:\n  gambling: { path: casino.txt }\n");
  each = sinkhole::policy::explain_policies(*none, "casino.example");
  REQUIRE(each.size() == 1);
  CHECK(each[0].outcome == Outcome::kNoPolicies);
  CHECK(sinkhole::policy::exit_status(each) == 0);
}
