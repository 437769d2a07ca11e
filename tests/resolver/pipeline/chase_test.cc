// SPDX-License-Identifier: MIT
// Chains the upstream leaves unfinished (an authoritative upstream answers a CNAME out of
// its zone with the CNAME alone), followed through the pipeline: the client gets the whole
// chain and the last link's records or rcode, every link is checked by policy, and a chain
// is bounded — a loop, more than eight questions or the client's deadline ends it with
// SERVFAIL. The finished answer is cached under the client's question. RPZ `CNAME
// other.name.` rules and the `cname` action's target are followed the same way.
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
using sinkhole::test::ResponseOptions;
using sinkhole::test::Rr;
using sinkhole::test::soa_rdata;
using sinkhole::test::wire_name;

constexpr uint16_t kA = 1, kCname = 5, kSoa = 6, kDname = 39;

const char* kPolicy = R"yaml(
lists:
  gambling: { path: gambling.txt, format: domains, category: gambling }
  rpz:      { path: policy.rpz, format: rpz, category: rpz }
actions:
  nx: { type: nxdomain, soa_ttl: 100 }
  warn-cname: { type: cname, target: warn.example., ttl: 60, ede: blocked, ede_text: "see {list}" }
policies:
  - name: all
    clients: ["127.0.0.0/8"]
    block:
      - { list: gambling, action: nx }
      - { list: rpz }
  - name: redirect
    clients: ["10.0.0.0/8"]
    block:
      - { list: gambling, action: warn-cname }
)yaml";

const std::vector<std::pair<std::string, std::string>> kFiles = {
    {"gambling.txt", "casino.example\n"},
    {"policy.rpz",
     "$TTL 300\n$ORIGIN rpz.example.\n@ SOA ns.rpz.example. hostmaster.rpz.example. 1 3600 600 "
     "86400 300\n@ NS ns.rpz.example.\n"
     "redir.example 90 CNAME www.other.example.\n"
     "toblocked.example 90 CNAME www.casino.example.\n"
     "loop1.example CNAME loop2.example.\nloop2.example CNAME loop1.example.\n"}};

// The question name of an attempt, in presentation form.
std::string asked(const PipelineFixture& f, size_t i) {
  const auto& q = f.transport.attempts.at(i).query;
  size_t pos = 12;
  std::string out;
  while (q.at(pos) != 0) {
    out.append(reinterpret_cast<const char*>(&q[pos + 1]), q[pos]);
    out += '.';
    pos += 1 + q[pos];
  }
  return out;
}

std::vector<std::string> chain_of(const Answer& a) {
  std::vector<std::string> out;
  for (const auto& r : a.answers) {
    std::string v = r.owner + " " + std::to_string(r.type) + " ";
    if (r.type == kCname || r.type == kDname) {
      size_t pos = 0;
      while (r.rdata.at(pos) != 0) {
        v.append(reinterpret_cast<const char*>(&r.rdata[pos + 1]), r.rdata[pos]);
        v += '.';
        pos += 1 + r.rdata[pos];
      }
    } else if (r.type == kA) {
      v += std::to_string(r.rdata[0]) + "." + std::to_string(r.rdata[1]) + "." +
           std::to_string(r.rdata[2]) + "." + std::to_string(r.rdata[3]);
    }
    out.push_back(v);
  }
  return out;
}

void reply(PipelineFixture& f, size_t i, const std::vector<Rr>& answers,
           const ResponseOptions& o = {}) {
  f.transport.reply(i, answer_to(f.transport.attempts.at(i).query, answers, o));
}

}  // namespace

TEST_CASE("chase: a CNAME into another zone is followed; the whole chain is cached") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("www.a.test.", kA, {.id = 1}));
  reply(f, 0, {cname_record("", "www.b.test.", 600)});
  REQUIRE(f.transport.attempts.size() == 2);
  CHECK(asked(f, 1) == "www.b.test.");
  CHECK(f.replies() == 0);
  reply(f, 1, {a_record("", {192, 0, 2, 7}, 120)});
  REQUIRE(f.replies() == 1);
  const Answer a = f.last();
  CHECK(a.id == 1);
  CHECK(a.rcode == 0);
  CHECK(chain_of(a) ==
        std::vector<std::string>{"www.a.test. 5 www.b.test.", "www.b.test. 1 192.0.2.7"});
  CHECK(f.counter(Counter::kCnameChased) == 1);
  CHECK(f.sink.none_held());
  CHECK(f.pipe->chases_in_use() == 0);
  // Cached under the client's question with the chain's smallest TTL: no upstream query.
  f.clock.ms += 100'000;
  f.query(make_query("WWW.A.test.", kA, {.id = 2}));
  CHECK(f.transport.attempts.size() == 2);
  const Answer c = f.last();
  CHECK(c.id == 2);
  CHECK(chain_of(c) == chain_of(a));
  CHECK(c.answers[0].ttl == 500);  // each record ages; the entry lives min(600, 120) s
  CHECK(c.answers[1].ttl == 20);
  // Once the shortest TTL runs out, the chain is asked for again.
  f.clock.ms += 30'000;
  f.query(make_query("www.a.test.", kA, {.id = 3}));
  CHECK(f.transport.attempts.size() == 3);
}

TEST_CASE("chase: a chain through three zones, and a DNAME with its synthesized CNAME") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("www.a.test.", kA, {.id = 1}));
  reply(f, 0, {cname_record("", "www.b.test.")});
  reply(f, 1, {cname_record("", "x.c.test."), cname_record("x.c.test.", "y.d.test.")});
  REQUIRE(f.transport.attempts.size() == 3);
  CHECK(asked(f, 2) == "y.d.test.");
  reply(f, 2, {a_record("", {192, 0, 2, 9})});
  CHECK(chain_of(f.last()) ==
        std::vector<std::string>{"www.a.test. 5 www.b.test.", "www.b.test. 5 x.c.test.",
                                 "x.c.test. 5 y.d.test.", "y.d.test. 1 192.0.2.9"});
  CHECK(f.counter(Counter::kCnameChased) == 2);

  // DNAME: host.old.test → host.new.test (RFC 6672), the synthesized CNAME alongside.
  f.query(make_query("host.old.test.", kA, {.id = 2}));
  reply(f, 3,
        {Rr{"old.test.", kDname, 300, wire_name("new.test.")}, cname_record("", "host.new.test.")});
  REQUIRE(f.transport.attempts.size() == 5);
  CHECK(asked(f, 4) == "host.new.test.");
  reply(f, 4, {a_record("", {192, 0, 2, 10})});
  CHECK(f.last().id == 2);
  CHECK(f.last().answers.size() == 3);
  CHECK(f.last().a_addresses() == std::vector<std::string>{"192.0.2.10"});

  // A DNAME alone (no synthesized CNAME) is substituted by us.
  f.query(make_query("mail.old2.test.", kA, {.id = 3}));
  reply(f, 5, {Rr{"old2.test.", kDname, 300, wire_name("new2.test.")}});
  REQUIRE(f.transport.attempts.size() == 7);
  CHECK(asked(f, 6) == "mail.new2.test.");
  reply(f, 6, {a_record("", {192, 0, 2, 11})});
  CHECK(f.last().a_addresses() == std::vector<std::string>{"192.0.2.11"});
  CHECK(f.sink.none_held());
}

TEST_CASE("chase: complete answers are passed on as they are") {
  PipelineFixture f(kPolicy, kFiles);
  // NODATA for the target: the target zone's SOA is in the authority section.
  f.query(make_query("www.a.test.", kA, {.id = 1}));
  reply(f, 0, {cname_record("", "www.b.test.")},
        {.authority = {Rr{"b.test.", kSoa, 300, soa_rdata("b.test.", 60)}}});
  CHECK(f.transport.attempts.size() == 1);
  CHECK(f.last().answers.size() == 1);
  CHECK(f.last().authority.size() == 1);
  // A referral for the target (NS of its zone): we forward, we do not follow referrals.
  f.query(make_query("www2.a.test.", kA, {.id = 2}));
  reply(f, 1, {cname_record("", "www.sub.a.test.")},
        {.authority = {Rr{"sub.a.test.", 2, 300, wire_name("ns.sub.a.test.")}}});
  CHECK(f.transport.attempts.size() == 2);
  CHECK(f.last().id == 2);
  // NS records of the question's own zone are no referral for an out-of-zone target.
  f.query(make_query("www3.a.test.", kA, {.id = 3}));
  reply(f, 2, {cname_record("", "www.b.test.")},
        {.authority = {Rr{"a.test.", 2, 300, wire_name("ns.a.test.")}}});
  REQUIRE(f.transport.attempts.size() == 4);
  CHECK(asked(f, 3) == "www.b.test.");
  reply(f, 3, {a_record("", {192, 0, 2, 7})});
  CHECK(f.last().id == 3);
  CHECK(f.last().answers.size() == 2);
  // A question for the CNAME itself is answered by the CNAME.
  f.query(make_query("www4.a.test.", kCname, {.id = 4}));
  reply(f, 4, {cname_record("", "www.b.test.")});
  CHECK(f.transport.attempts.size() == 5);
  CHECK(f.last().id == 4);
  CHECK(f.counter(Counter::kCnameChased) == 1);
}

TEST_CASE("chase: NXDOMAIN at the end of the chain keeps the chain and the SOA (RFC 6604)") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("www.a.test.", kA, {.id = 1}));
  reply(f, 0, {cname_record("", "gone.b.test.", 600)});
  reply(f, 1, {}, {.rcode = 3, .authority = {Rr{"b.test.", kSoa, 300, soa_rdata("b.test.", 60)}}});
  const Answer a = f.last();
  CHECK(a.rcode == 3);
  CHECK(chain_of(a) == std::vector<std::string>{"www.a.test. 5 gone.b.test."});
  REQUIRE(a.authority.size() == 1);
  CHECK(a.authority[0].type == kSoa);
  // Cached as a negative answer (min of the SOA TTL and MINIMUM).
  f.query(make_query("www.a.test.", kA, {.id = 2}));
  CHECK(f.transport.attempts.size() == 2);
  CHECK(f.last().rcode == 3);
  f.clock.ms += 61'000;
  f.query(make_query("www.a.test.", kA, {.id = 3}));
  CHECK(f.transport.attempts.size() == 3);
}

TEST_CASE("chase: a loop, a chain over eight questions and a too-big chain get SERVFAIL") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("www.a.test.", kA, {.id = 1}));
  reply(f, 0, {cname_record("", "www.b.test.")});
  reply(f, 1, {cname_record("", "WWW.A.test.")});  // back to the question
  CHECK(f.transport.attempts.size() == 2);
  CHECK(f.last().rcode == 2);
  CHECK(f.last().ede == 0);
  CHECK(f.last().ede_text == "CNAME loop");
  CHECK(f.counter(Counter::kCnameChaseFailed) == 1);
  // A loop inside one answer.
  f.query(make_query("l1.a.test.", kA, {.id = 2}));
  reply(f, 2, {cname_record("", "l2.a.test."), cname_record("l2.a.test.", "l1.a.test.")});
  CHECK(f.transport.attempts.size() == 3);
  CHECK(f.last().id == 2);
  CHECK(f.last().rcode == 2);

  // n0 → n1 → … each in its own zone: eight questions after the first, then SERVFAIL.
  f.query(make_query("n0.z0.test.", kA, {.id = 3}));
  const size_t first = f.transport.attempts.size() - 1;
  for (int i = 0; i < 9; ++i) {
    const size_t at = first + static_cast<size_t>(i);
    REQUIRE(f.transport.attempts.size() == at + 1);
    reply(
        f, at,
        {cname_record("", "n" + std::to_string(i + 1) + ".z" + std::to_string(i + 1) + ".test.")});
  }
  CHECK(f.transport.attempts.size() == first + 9);  // the first question and 8 more
  CHECK(f.last().id == 3);
  CHECK(f.last().rcode == 2);
  CHECK(f.last().ede_text == "CNAME chain too long");
  CHECK(f.counter(Counter::kCnameChaseFailed) == 3);
  CHECK(f.sink.none_held());
  CHECK(f.pipe->chases_in_use() == 0);
  CHECK(f.pipe->in_flight() == 0);
}

TEST_CASE("chase: a link into a listed name gets that block's answer") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("www.a.test.", kA, {.id = 1}));
  reply(f, 0, {cname_record("", "www.b.test.")});
  // The second link points into the list: the client's question gets the block.
  reply(f, 1, {cname_record("", "www.casino.example.")});
  CHECK(f.transport.attempts.size() == 2);
  const Answer a = f.last();
  CHECK(a.id == 1);
  CHECK(a.rcode == 3);
  CHECK(a.answers.empty());
  REQUIRE(a.authority.size() == 1);
  CHECK(a.authority[0].owner == "www.a.test.");
  CHECK(f.counter(Counter::kBlockedCnameChain) == 1);
  // A name we make from a DNAME alone is checked too (the DNAME's own target is not listed).
  f.query(make_query("casino.old.test.", kA, {.id = 9}));
  reply(f, 2, {Rr{"old.test.", kDname, 300, wire_name("example.")}});
  CHECK(f.transport.attempts.size() == 3);
  CHECK(f.last().id == 9);
  CHECK(f.last().rcode == 3);
  CHECK(f.counter(Counter::kBlockedCnameChain) == 2);
  // The same chain for a group that redirects: the warning host's records.
  f.query(make_query("www2.a.test.", kA, {.id = 2}), "10.1.1.1");
  reply(f, 3, {cname_record("", "www.casino.example.")});
  REQUIRE(f.transport.attempts.size() == 5);
  CHECK(asked(f, 4) == "warn.example.");
  reply(f, 4, {a_record("", {203, 0, 113, 1})});
  CHECK(f.last().id == 2);
  CHECK(chain_of(f.last()) ==
        std::vector<std::string>{"www2.a.test. 5 warn.example.", "warn.example. 1 203.0.113.1"});
  CHECK(f.last().ede_text == "see gambling");
  CHECK(f.sink.none_held());
}

TEST_CASE("chase: the target gets what is left of the client's deadline") {
  PipelineFixture f(kPolicy, kFiles);
  const uint64_t start = f.clock.ms;
  f.query(make_query("www.a.test.", kA, {.id = 1}));
  f.transport.advance(1'400);  // the first answer is slow
  reply(f, 0, {cname_record("", "www.b.test.")});
  REQUIRE(f.transport.attempts.size() == 2);
  CHECK(f.transport.attempts[1].expires_ms == start + 2'000);  // not 1.5 s from now
  f.transport.advance(5'000);                                  // the target never answers
  REQUIRE(f.replies() == 1);
  CHECK(f.last().rcode == 2);
  CHECK(f.last().ede == 22);
  CHECK(f.sink.sent.back().at_ms - start == 2'000);
  CHECK(f.sink.none_held());
  CHECK(f.pipe->chases_in_use() == 0);
}

TEST_CASE("chase: clients asking the same chain share each upstream question") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("www.a.test.", kA, {.id = 1}), "127.0.0.1");
  f.query(make_query("www.a.test.", kA, {.id = 2}), "127.0.0.2", /*tcp=*/true);
  f.query(make_query("www.a.test.", kA, {.id = 3}), "127.0.0.3");
  REQUIRE(f.transport.attempts.size() == 1);
  reply(f, 0, {cname_record("", "www.b.test.")});
  REQUIRE(f.transport.attempts.size() == 2);
  reply(f, 1, {a_record("", {192, 0, 2, 7})});
  REQUIRE(f.replies() == 3);
  for (const auto& s : f.sink.sent) {
    const Answer a = sinkhole::test::read_answer(s.bytes);
    CHECK(a.answers.size() == 2);
    CHECK(a.a_addresses() == std::vector<std::string>{"192.0.2.7"});
  }
  CHECK(f.counter(Counter::kUpstreamCoalesced) == 4);
  CHECK(f.sink.none_held());
  CHECK(f.pipe->chases_in_use() == 0);
}

TEST_CASE("chase: a target already cached is answered at once") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("www.b.test.", kA, {.id = 1}));
  reply(f, 0, {a_record("", {192, 0, 2, 7})});
  f.query(make_query("www.a.test.", kA, {.id = 2}));
  reply(f, 1, {cname_record("", "www.b.test.")});
  CHECK(f.transport.attempts.size() == 2);
  CHECK(f.last().id == 2);
  CHECK(f.last().answers.size() == 2);
  CHECK(f.counter(Counter::kCacheHits) == 1);
}

TEST_CASE("chase: an RPZ `CNAME other.name.` rule answers with the target's records") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("redir.example.", kA, {.id = 1}));
  REQUIRE(f.transport.attempts.size() == 1);
  CHECK(asked(f, 0) == "www.other.example.");
  reply(f, 0, {a_record("", {192, 0, 2, 80})});
  Answer a = f.last();
  CHECK(a.id == 1);
  CHECK(a.rcode == 0);
  CHECK(chain_of(a) == std::vector<std::string>{"redir.example. 5 www.other.example.",
                                                "www.other.example. 1 192.0.2.80"});
  CHECK(a.answers[0].ttl == 90);
  // Asking for the CNAME itself gets the rule's record, nothing more.
  f.query(make_query("redir.example.", kCname, {.id = 2}));
  CHECK(f.transport.attempts.size() == 1);
  CHECK(chain_of(f.last()) == std::vector<std::string>{"redir.example. 5 www.other.example."});
  // A target on a list gets that list's block.
  f.query(make_query("toblocked.example.", kA, {.id = 3}));
  CHECK(f.transport.attempts.size() == 1);
  CHECK(f.last().id == 3);
  CHECK(f.last().rcode == 3);
  CHECK(f.counter(Counter::kBlockedCnameChain) == 1);
  // Rules pointing at each other end in SERVFAIL.
  f.query(make_query("loop1.example.", kA, {.id = 4}));
  CHECK(f.transport.attempts.size() == 1);
  CHECK(f.last().id == 4);
  CHECK(f.last().rcode == 2);
  // The block answer is not cached: the target is asked for again.
  f.query(make_query("redir.example.", kA, {.id = 5}));
  CHECK(f.counter(Counter::kCacheHits) == 1);  // the target's own cached answer
  CHECK(f.last().id == 5);
  CHECK(f.last().answers.size() == 2);
  CHECK(f.sink.none_held());
}

TEST_CASE("chase: the `cname` action's target, itself a CNAME out of its zone, is followed") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("casino.example.", kA, {.id = 1}), "10.0.0.1");
  REQUIRE(f.transport.attempts.size() == 1);
  CHECK(asked(f, 0) == "warn.example.");
  reply(f, 0, {cname_record("", "lb.warn-cdn.test.")});
  REQUIRE(f.transport.attempts.size() == 2);
  reply(f, 1, {a_record("", {203, 0, 113, 5})});
  CHECK(chain_of(f.last()) == std::vector<std::string>{"casino.example. 5 warn.example.",
                                                       "warn.example. 5 lb.warn-cdn.test.",
                                                       "lb.warn-cdn.test. 1 203.0.113.5"});
  CHECK(f.last().ede_text == "see gambling");
  CHECK(f.sink.none_held());
}
