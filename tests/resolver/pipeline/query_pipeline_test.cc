// SPDX-License-Identifier: MIT
// The query pipeline in-process (pipeline_fixture.h): every block action, the cache (fresh
// and stale), CNAME chains into a block from upstream and from the cache, the `cname`
// action's redirect, failover, the sticky upstream, TC → TCP, the 2 s deadline,
// coalescing, and a reload between a query and its answer. Each case asserts on the bytes
// a client would get and on the upstream attempts made.
#include <doctest/doctest.h>

#include "pipeline_fixture.h"

namespace {

using sinkhole::metrics::Counter;
using sinkhole::test::a_record;
using sinkhole::test::Answer;
using sinkhole::test::answer_to;
using sinkhole::test::cname_record;
using sinkhole::test::make_query;
using sinkhole::test::PipelineFixture;
using sinkhole::test::QueryOptions;
using sinkhole::test::ResponseOptions;
using sinkhole::test::wire_name;

constexpr uint16_t kA = 1, kAaaa = 28, kMx = 15, kCname = 5, kSoa = 6;

const char* kLists = R"yaml(
lists:
  gambling: { path: gambling.txt, format: domains, category: gambling }
  rpz:      { path: policy.rpz, format: rpz, category: rpz }
actions:
  warning-page:
    type: sinkhole
    a: 203.0.113.10
    aaaa: "2001:db8::10"
    ttl: 300
    ede: censored
    ede_text: "Blocked under Decree 147/2024/ND-CP (list {list}, category {category})"
  warn-cname: { type: cname, target: warn.example., ttl: 60, ede: blocked, ede_text: "see {list}" }
)yaml";

const std::vector<std::pair<std::string, std::string>> kFiles = {
    {"gambling.txt", "casino.example\nbet.example\n"},
    {"policy.rpz",
     "$TTL 300\n$ORIGIN rpz.example.\n@ SOA ns.rpz.example. hostmaster.rpz.example. 1 3600 600 "
     "86400 300\n@ NS ns.rpz.example.\ntcp.example CNAME rpz-tcp-only.\n"
     "local.example A 192.0.2.1\nlocal.example AAAA 2001:db8::1\n"
     "drop.example CNAME rpz-drop.\nwatch.example CNAME rpz-passthru.\n"}};

// A policy for every client where `gambling` gets `action`; the RPZ keeps its own actions.
std::string policy_with(const std::string& action) {
  return std::string(kLists) +
         "policies:\n  - name: all\n    clients: [\"0.0.0.0/0\", \"::/0\"]\n"
         "    block:\n      - { list: gambling, action: " +
         action + " }\n      - { list: rpz }\n";
}

std::string addr(const Answer& a, size_t i = 0) {
  const auto all = a.a_addresses();
  return i < all.size() ? all[i] : "";
}

}  // namespace

TEST_CASE("sinkhole action: the warning-page addresses with EDE 16 and its rendered text") {
  PipelineFixture f(policy_with("warning-page"), kFiles);
  f.query(make_query("www.Casino.example.", kA, {.id = 7}));
  Answer a = f.last();
  CHECK(a.id == 7);
  CHECK(a.rcode == 0);
  REQUIRE(a.answers.size() == 1);
  CHECK(addr(a) == "203.0.113.10");
  CHECK(a.answers[0].ttl == 300);
  CHECK(a.ede == 16);
  CHECK(a.ede_text == "Blocked under Decree 147/2024/ND-CP (list gambling, category gambling)");
  f.query(make_query("casino.example.", kAaaa));
  CHECK(addr(f.last()) == "2001:db8::10");
  // Another type: NODATA with the listed name's SOA, so the negative answer is cached.
  f.query(make_query("a.b.casino.example.", kMx));
  a = f.last();
  CHECK(a.answers.empty());
  REQUIRE(a.authority.size() == 1);
  CHECK(a.authority[0].type == kSoa);
  CHECK(a.authority[0].owner == "casino.example.");
  CHECK(f.transport.attempts.empty());  // a blocked name never reaches an upstream
  CHECK(f.counter(Counter::kBlocked) == 3);
}

TEST_CASE("nxdomain, nodata and refused actions") {
  struct Case {
    const char* action;
    uint16_t rcode;
    bool soa;
  };
  for (const Case c :
       {Case{"nxdomain", 3, true}, Case{"nodata", 0, true}, Case{"refused", 5, false}}) {
    CAPTURE(c.action);
    PipelineFixture f(policy_with(c.action), kFiles);
    f.query(make_query("www.bet.example.", kA));
    const Answer a = f.last();
    CHECK(a.rcode == c.rcode);
    CHECK(a.answers.empty());
    CHECK(a.authority.size() == (c.soa ? 1u : 0u));
    if (c.soa) CHECK(a.authority[0].owner == "bet.example.");
    CHECK(f.transport.attempts.empty());
  }
}

TEST_CASE("drop action: no answer, counted as blocked") {
  PipelineFixture f(policy_with("drop"), kFiles);
  f.query(make_query("casino.example.", kA));
  f.query(make_query("drop.example.", kA));  // RPZ rpz-drop
  CHECK(f.replies() == 0);
  CHECK(f.counter(Counter::kBlocked) == 2);
}

TEST_CASE("tcp-only (RPZ): TC=1 over UDP, resolved over TCP") {
  PipelineFixture f(policy_with("nxdomain"), kFiles);
  f.query(make_query("tcp.example.", kA));
  CHECK(f.last().tc());
  CHECK(f.transport.attempts.empty());
  f.query(make_query("tcp.example.", kA, {.id = 9}), "127.0.0.1", /*tcp=*/true);
  REQUIRE(f.transport.attempts.size() == 1);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {192, 0, 2, 80})}));
  CHECK(f.last().id == 9);
  CHECK(addr(f.last()) == "192.0.2.80");
  CHECK(f.counter(Counter::kTruncatedUdp) == 1);
  CHECK(f.sink.none_held());
}

TEST_CASE("local-data (RPZ): the zone's records for the asked type") {
  PipelineFixture f(policy_with("nxdomain"), kFiles);
  f.query(make_query("local.example.", kAaaa));
  CHECK(addr(f.last()) == "2001:db8::1");
  f.query(make_query("local.example.", kA));
  CHECK(addr(f.last()) == "192.0.2.1");
}

TEST_CASE("passthru (monitor): forwarded and answered, counted as monitored") {
  PipelineFixture f(policy_with("passthru"), kFiles);
  f.query(make_query("casino.example.", kA));
  REQUIRE(f.transport.attempts.size() == 1);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {198, 51, 100, 1})}));
  CHECK(addr(f.last()) == "198.51.100.1");
  CHECK(f.counter(Counter::kMonitored) == 1);
  CHECK(f.counter(Counter::kBlocked) == 0);
}

TEST_CASE("clients in no policy get REFUSED with EDE 18") {
  PipelineFixture f(std::string(kLists) +
                        "policies:\n  - name: lan\n    clients: [\"10.0.0.0/8\"]\n"
                        "    block: [{ list: gambling, action: nxdomain }]\n",
                    kFiles);
  f.query(make_query("example.org.", kA), "192.0.2.99");
  CHECK(f.last().rcode == 5);
  CHECK(f.last().ede == 18);
  f.query(make_query("casino.example.", kA), "10.1.2.3");
  CHECK(f.last().rcode == 3);
}

TEST_CASE("cname action: our CNAME to the warning host, then the host's records, with EDE") {
  PipelineFixture f(policy_with("warn-cname"), kFiles);
  f.query(make_query("www.casino.example.", kA, {.id = 21}));
  REQUIRE(f.transport.attempts.size() == 1);
  // The upstream is asked for the warning host, never for the blocked name.
  const auto& sent = f.transport.attempts[0].query;
  const auto warn = wire_name("warn.example.");
  CHECK(std::equal(warn.begin(), warn.end(), sent.begin() + 12));
  CHECK(f.replies() == 0);
  f.transport.reply(0, answer_to(sent, {a_record("", {203, 0, 113, 77}, 120)}));
  const Answer a = f.last();
  CHECK(a.id == 21);
  REQUIRE(a.answers.size() == 2);
  CHECK(a.answers[0].type == kCname);
  CHECK(a.answers[0].owner == "www.casino.example.");
  CHECK(a.answers[0].ttl == 60);
  CHECK(a.answers[0].rdata == wire_name("warn.example."));
  CHECK(a.answers[1].owner == "warn.example.");
  CHECK(addr(a) == "203.0.113.77");
  CHECK(a.ede == 15);
  CHECK(a.ede_text == "see gambling");
  CHECK(f.sink.none_held());
}

TEST_CASE("cache: the second query is answered without an upstream, TTLs aged") {
  PipelineFixture f;
  f.query(make_query("www.example.org.", kA, {.id = 1}));
  REQUIRE(f.transport.attempts.size() == 1);
  f.transport.reply(
      0, answer_to(f.transport.attempts[0].query, {a_record("", {198, 51, 100, 7}, 600)}));
  CHECK(f.last().answers[0].ttl == 600);
  f.clock.ms += 100'000;
  f.query(make_query("WWW.example.ORG.", kA, {.id = 2}));
  CHECK(f.transport.attempts.size() == 1);
  const Answer a = f.last();
  CHECK(a.id == 2);
  CHECK(addr(a) == "198.51.100.7");
  CHECK(a.answers[0].ttl == 500);
  CHECK(f.counter(Counter::kCacheHits) == 1);
}

TEST_CASE("stale: every upstream failing serves an expired answer with TTL 30") {
  PipelineFixture f;
  f.query(make_query("old.example.org.", kA));
  f.transport.reply(
      0, answer_to(f.transport.attempts[0].query, {a_record("", {198, 51, 100, 8}, 60)}));
  f.clock.ms += 120'000;  // expired a minute ago
  f.query(make_query("old.example.org.", kA, {.id = 3}));
  REQUIRE(f.transport.attempts.size() == 2);  // a miss: asked again
  f.transport.advance(2'000);                 // nobody answers until the deadline
  const Answer a = f.last();
  CHECK(a.id == 3);
  CHECK(a.rcode == 0);
  CHECK(addr(a) == "198.51.100.8");
  CHECK(a.answers[0].ttl == 30);
  CHECK(f.counter(Counter::kCacheStale) == 1);
}

TEST_CASE("a CNAME chain into a listed name is blocked, from upstream and from the cache") {
  PipelineFixture f(policy_with("nxdomain"), kFiles);
  f.query(make_query("promo.example.org.", kA, {.id = 4}));
  f.transport.reply(0, answer_to(f.transport.attempts[0].query,
                                 {cname_record("", "lucky.casino.example."),
                                  a_record("lucky.casino.example.", {192, 0, 2, 66})}));
  Answer a = f.last();
  CHECK(a.rcode == 3);
  CHECK(a.answers.empty());
  REQUIRE(a.authority.size() == 1);
  CHECK(a.authority[0].owner == "promo.example.org.");  // owned by the question
  CHECK(f.counter(Counter::kBlockedCnameChain) == 1);
  // The answer was cached as the upstream sent it; the cached copy is checked the same way.
  f.query(make_query("promo.example.org.", kA, {.id = 5}));
  CHECK(f.transport.attempts.size() == 1);
  CHECK(f.counter(Counter::kCacheHits) == 1);
  a = f.last();
  CHECK(a.id == 5);
  CHECK(a.rcode == 3);
  CHECK(f.counter(Counter::kBlockedCnameChain) == 2);
}

TEST_CASE("failover to the next upstream after a timeout; the answering one becomes sticky") {
  PipelineFixture f;
  f.query(make_query("a.example.org.", kA));
  REQUIRE(f.transport.attempts.size() == 1);
  CHECK(f.transport.attempts[0].upstream == 0);
  f.transport.advance(1'500);  // the per-attempt timeout
  REQUIRE(f.transport.attempts.size() == 2);
  CHECK(f.transport.attempts[1].upstream == 1);
  f.transport.reply(1, answer_to(f.transport.attempts[1].query, {a_record("", {192, 0, 2, 1})}));
  CHECK(addr(f.last()) == "192.0.2.1");
  CHECK(f.counter(Counter::kUpstreamTimeouts) == 1);
  // Sticky: the next question goes to the upstream that answered, not to the dead first one.
  f.query(make_query("b.example.org.", kA));
  REQUIRE(f.transport.attempts.size() == 3);
  CHECK(f.transport.attempts[2].upstream == 1);
}

TEST_CASE("a socket error moves to the next upstream at once") {
  PipelineFixture f;
  f.transport.refuse_send = {true, false};
  f.query(make_query("c.example.org.", kA));
  REQUIRE(f.transport.attempts.size() == 1);
  CHECK(f.transport.attempts[0].upstream == 1);
  CHECK(f.counter(Counter::kUpstreamErrors) == 1);
}

TEST_CASE("TC=1 from upstream: retried over TCP to the same upstream") {
  PipelineFixture f;
  f.query(make_query("big.example.org.", kA));
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {}, ResponseOptions{.tc = true}));
  REQUIRE(f.transport.attempts.size() == 2);
  CHECK(f.transport.attempts[1].tcp);
  CHECK(f.transport.attempts[1].upstream == 0);
  CHECK(f.replies() == 0);
  f.transport.reply(1, answer_to(f.transport.attempts[1].query, {a_record("", {192, 0, 2, 9})}));
  CHECK(addr(f.last()) == "192.0.2.9");
  CHECK(f.counter(Counter::kUpstreamTcpRetries) == 1);
}

TEST_CASE("the 2 s deadline: SERVFAIL with EDE 22 when no upstream answers in time") {
  PipelineFixture f(/*policy_yaml=*/"", {}, /*upstreams=*/3);
  const uint64_t start = f.clock.ms;
  f.query(make_query("slow.example.org.", kA, {.id = 11}));
  f.transport.advance(1'999);
  CHECK(f.replies() == 0);
  // Two attempts so far (1.5 s, then the 0.5 s left); the third upstream is never asked.
  CHECK(f.transport.attempts.size() == 2);
  f.transport.advance(1);
  const Answer a = f.last();
  CHECK(a.id == 11);
  CHECK(a.rcode == 2);
  CHECK(a.ede == 22);
  CHECK(f.sink.sent.back().at_ms - start == 2'000);
  CHECK(f.transport.live_count() == 0);
  CHECK(f.sink.none_held());
}

TEST_CASE("coalescing: identical questions share one upstream query, each client its own reply") {
  PipelineFixture f;
  f.query(make_query("same.example.org.", kA, {.id = 100}), "127.0.0.1");
  f.query(make_query("SAME.example.org.", kA, {.id = 200}), "127.0.0.2");
  f.query(make_query("same.example.org.", kA, {.id = 300, .do_bit = true}), "127.0.0.3");
  CHECK(f.transport.attempts.size() == 2);  // DO=1 is another question
  CHECK(f.counter(Counter::kUpstreamCoalesced) == 1);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {192, 0, 2, 5})}));
  REQUIRE(f.replies() == 2);
  const Answer one = sinkhole::test::read_answer(f.sink.sent[0].bytes);
  const Answer two = sinkhole::test::read_answer(f.sink.sent[1].bytes);
  CHECK(one.id == 100);
  CHECK(two.id == 200);
  // Each client gets its own question case back (0x20).
  CHECK(f.sink.sent[1].bytes[13] == 'S');
  CHECK(addr(two) == "192.0.2.5");
}

TEST_CASE("a reload between a query and its answer applies to the answer") {
  PipelineFixture f(policy_with("nxdomain"), kFiles);
  f.query(make_query("promo.example.net.", kA, {.id = 8}));
  REQUIRE(f.transport.attempts.size() == 1);
  // While the question is upstream, the list gains the name the answer's CNAME points to.
  f.dir.write("gambling.txt", "casino.example\nbet.example\nnewcasino.example\n");
  f.reload(policy_with("nxdomain"));
  f.transport.reply(0, answer_to(f.transport.attempts[0].query,
                                 {cname_record("", "www.newcasino.example."),
                                  a_record("www.newcasino.example.", {192, 0, 2, 70})}));
  CHECK(f.last().id == 8);
  CHECK(f.last().rcode == 3);
  // And a reload that lifts a block serves the name at once.
  f.dir.write("gambling.txt", "bet.example\n");
  f.reload(policy_with("nxdomain"));
  f.query(make_query("casino.example.", kA));
  CHECK(f.transport.attempts.size() == 2);
}

TEST_CASE("malformed and meta queries are answered before policy; queries and rcodes counted") {
  PipelineFixture f(policy_with("nxdomain"), kFiles);
  std::vector<uint8_t> q = make_query("x.example.", kA);
  q.resize(q.size() - 3);  // a cut OPT
  f.query(q);
  CHECK(f.last().rcode == 1);
  f.query(make_query("example.org.", 252));  // AXFR
  CHECK(f.last().rcode == 5);
  CHECK(f.last().ede == 18);
  f.query(make_query("casino.example.", 255));  // ANY: RFC 8482, even for a listed name
  CHECK(f.last().rcode == 0);
  f.query({1, 2, 3, 4, 5});  // no header: dropped, but a query received all the same
  CHECK(f.replies() == 3);
  CHECK(f.counter(Counter::kQueriesUdp) == 4);
  f.query(make_query("example.org.", 252), "127.0.0.1", /*tcp=*/true);
  CHECK(f.counter(Counter::kQueriesTcp) == 1);
  CHECK(f.counter(Counter::kRcodeFormErr) == 1);
  CHECK(f.counter(Counter::kRcodeNoError) == 1);
  CHECK(f.counter(Counter::kRcodeRefused) == 2);
}

TEST_CASE("queries are reported to the sink (dnstap) only when it logs them, garbage never") {
  PipelineFixture f;
  f.query(make_query("a.example.org.", kA));
  CHECK(f.sink.received_count == 0);
  f.pipe->set_log_queries(true);
  f.query(make_query("a.example.org.", kA));
  f.query({1, 2, 3, 4, 5});
  std::vector<uint8_t> bad = make_query("x.example.", kA);
  bad.resize(bad.size() - 3);
  f.query(bad);  // FORMERR: answered, so logged
  CHECK(f.sink.received_count == 2);
}

TEST_CASE("without a cache every question goes upstream") {
  PipelineFixture f("", {}, 2, /*with_cache=*/false);
  for (int i = 0; i < 2; ++i) {
    f.query(make_query("nc.example.org.", kA, {.id = static_cast<uint16_t>(i)}));
    REQUIRE(f.transport.attempts.size() == static_cast<size_t>(i + 1));
    f.transport.reply(static_cast<size_t>(i),
                      answer_to(f.transport.attempts[static_cast<size_t>(i)].query,
                                {a_record("", {192, 0, 2, 3})}));
    CHECK(f.last().id == i);
  }
  CHECK(f.counter(Counter::kCacheMisses) == 0);
}

TEST_CASE("fail_all (forced shutdown) answers every waiting client with SERVFAIL") {
  PipelineFixture f;
  f.query(make_query("w1.example.org.", kA, {.id = 1}));
  f.query(make_query("w2.example.org.", kA, {.id = 2}), "127.0.0.1", /*tcp=*/true);
  CHECK(f.pipe->in_flight() == 2);
  f.pipe->fail_all();
  CHECK(f.pipe->in_flight() == 0);
  REQUIRE(f.replies() == 2);
  CHECK(sinkhole::test::read_answer(f.sink.sent[0].bytes).rcode == 2);
  CHECK(sinkhole::test::read_answer(f.sink.sent[1].bytes).rcode == 2);
  CHECK(f.transport.live_count() == 0);
  CHECK(f.sink.none_held());
}

TEST_CASE("sticky upstream: the one that answered last is tried first, even after another failed") {
  PipelineFixture f;
  f.query(make_query("one.example.org.", kA));  // to upstream 0
  f.transport.advance(1'000);
  f.query(make_query("two.example.org.", kA));  // to upstream 0 as well
  f.transport.advance(500);                     // the first times out: it moves to upstream 1
  REQUIRE(f.transport.attempts.size() == 3);
  CHECK(f.transport.attempts[2].upstream == 1);
  // Upstream 0 answers the second question after all: it is preferred again.
  f.transport.reply(1, answer_to(f.transport.attempts[1].query, {a_record("", {192, 0, 2, 2})}));
  f.query(make_query("three.example.org.", kA));
  REQUIRE(f.transport.attempts.size() == 4);
  CHECK(f.transport.attempts[3].upstream == 0);
}

TEST_CASE("mandatory list: a name allow-listed in a group is still blocked through the pipeline") {
  // mic is the regulator's list; the helpdesk allow list holds one of its names (and a
  // category false positive, which it still lifts).
  std::string lists(kLists);
  lists.insert(lists.find("actions:"),
               "  mic: { path: mic.txt, mandatory: true, category: regulator }\n"
               "  helpdesk: { path: helpdesk.txt }\n");
  PipelineFixture f(lists +
                        "policies:\n  - name: subscribers\n    clients: [\"0.0.0.0/0\", \"::/0\"]\n"
                        "    allow: [helpdesk]\n"
                        "    block: [{ list: gambling, action: nxdomain }, { list: mic, action: "
                        "warning-page }]\n",
                    {kFiles[0],
                     kFiles[1],
                     {"mic.txt", "casino.example\n"},
                     {"helpdesk.txt", "casino.example\nbet.example\n"}});
  f.query(make_query("www.casino.example.", kA));
  Answer a = f.last();
  CHECK(a.rcode == 0);
  CHECK(addr(a) == "203.0.113.10");  // mic's warning page, not the allow list's pass
  CHECK(a.ede_text == "Blocked under Decree 147/2024/ND-CP (list mic, category regulator)");
  CHECK(f.transport.attempts.empty());
  CHECK(f.counter(Counter::kBlocked) == 1);
  // bet.example is only in the category list: the allow list lifts it, it is forwarded.
  f.query(make_query("bet.example.", kA));
  REQUIRE(f.transport.attempts.size() == 1);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {198, 51, 100, 1})}));
  CHECK(addr(f.last()) == "198.51.100.1");
  CHECK(f.counter(Counter::kBlocked) == 1);
}

TEST_CASE("legal basis: {authority} and {reference} in the EDE text of an answer and a redirect") {
  std::string lists(kLists);
  lists.insert(lists.find("actions:"),
               "  mic:\n    path: mic.txt\n    category: regulator\n"
               "    basis: { authority: MIC, reference: \"Decision 1234/QD-BTTTT\" }\n");
  lists +=
      "  legal: { type: nxdomain, ede: censored, ede_text: \"Blocked by {authority} under "
      "{reference} ({list})\" }\n"
      "  legal-cname: { type: cname, target: warn.example., ede_text: \"{authority}/{reference}\" "
      "}\n";
  PipelineFixture f(lists +
                        "policies:\n  - name: all\n    clients: [\"0.0.0.0/0\", \"::/0\"]\n"
                        "    block: [{ list: mic, action: legal }, { list: gambling, action: "
                        "legal }, { list: rpz }]\n"
                        "  - name: redirected\n    clients: [\"192.0.2.0/24\"]\n"
                        "    block: [{ list: mic, action: legal-cname }]\n",
                    {kFiles[0], kFiles[1], {"mic.txt", "mic.example\n"}});
  f.query(make_query("www.mic.example.", kA));
  Answer a = f.last();
  CHECK(a.rcode == 3);
  CHECK(a.ede == 16);
  CHECK(a.ede_text == "Blocked by MIC under Decision 1234/QD-BTTTT (mic)");
  // A list without a basis: the placeholders are empty, the rest of the text stays.
  f.query(make_query("casino.example.", kA));
  CHECK(f.last().ede_text == "Blocked by  under  (gambling)");
  // The cname action keeps the rendered text for the answer built once the target resolves.
  f.query(make_query("www.mic.example.", kA), "192.0.2.9");
  REQUIRE(f.transport.attempts.size() == 1);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {1, 1, 1, 1})}));
  CHECK(f.last().ede_text == "MIC/Decision 1234/QD-BTTTT");
}
