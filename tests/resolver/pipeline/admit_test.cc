// SPDX-License-Identifier: MIT
// The admit stage and response rate limiting in the pipeline (pipeline_fixture.h): the
// default allow_query, deny_query winning, refuse_action drop, UDP and TCP alike; the rate
// limit driven by the fake clock (drops, slips as TC=1, TCP never limited, another /24
// unaffected, refill); meta qtypes and other opcodes answered here, never forwarded.
#include <doctest/doctest.h>

#include "pipeline_fixture.h"

namespace {

using sinkhole::metrics::Counter;
using sinkhole::test::a_record;
using sinkhole::test::Answer;
using sinkhole::test::answer_to;
using sinkhole::test::make_query;
using sinkhole::test::PacketWriter;
using sinkhole::test::PipelineFixture;
using sinkhole::test::QueryOptions;

constexpr uint16_t kA = 1;
constexpr uint16_t kRefused = 5, kFormErr = 1, kNotImp = 4;

// A policy for everyone that blocks nothing: admission is the admit stage's alone.
const char* kOpen = "policies:\n  - name: all\n    clients: [\"0.0.0.0/0\", \"::/0\"]\n";

// Answers every attempt so far with 192.0.2.1.
void answer_all(PipelineFixture& f) {
  for (size_t i = 0; i < f.transport.attempts.size(); ++i)
    if (f.transport.attempts[i].live)
      f.transport.reply(i,
                        answer_to(f.transport.attempts[i].query, {a_record("", {192, 0, 2, 1})}));
}

}  // namespace

TEST_CASE("admit: the default allow_query serves private and loopback clients only") {
  PipelineFixture f(kOpen, {}, 2, true, /*upstream_yaml=*/"", /*server_yaml=*/"");
  int n = 0;
  for (const char* client : {"127.0.0.1", "10.1.2.3", "172.31.0.1", "192.168.7.7", "100.64.0.1",
                             "::1", "fd00::5", "fe80::1", "::ffff:10.0.0.1"}) {
    INFO(std::string(client));
    const size_t attempts = f.transport.attempts.size();
    // A name of its own each time: the same question would join the one in flight.
    f.query(make_query("n" + std::to_string(n++) + ".example.", kA), client);
    CHECK(f.transport.attempts.size() == attempts + 1);  // forwarded
  }
  for (const char* client :
       {"8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:db8::1", "::ffff:8.8.8.8"}) {
    INFO(client);
    const size_t attempts = f.transport.attempts.size();
    f.query(make_query("www.example.", kA, {.id = 0x4242}), client);
    CHECK(f.transport.attempts.size() == attempts);  // never forwarded
    const Answer a = f.last();
    CHECK(a.id == 0x4242);
    CHECK(a.rcode == kRefused);
    CHECK(a.ede == 18);
    CHECK(f.last_question() == "www.example.");
  }
  CHECK(f.counter(Counter::kRefusedAcl) == 5);
  // Over TCP too.
  f.query(make_query("www.example.", kA), "8.8.4.4", /*tcp=*/true);
  CHECK(f.last().rcode == kRefused);
  CHECK(f.counter(Counter::kRefusedAcl) == 6);
  CHECK(f.counter(Counter::kQueriesUdp) == 14);
  // A stranger's unreadable packet is dropped, not answered.
  const size_t replies = f.replies();
  const std::vector<uint8_t> garbage = {0x12, 0x34, 0x01};
  f.query(garbage, "8.8.8.8");
  CHECK(f.replies() == replies);
  CHECK(f.counter(Counter::kDropAcl) == 1);
}

TEST_CASE("admit: deny_query wins over a longer allow_query prefix; refuse_action drop") {
  PipelineFixture f(kOpen, {}, 2, true, /*upstream_yaml=*/"",
                    "  allow_query: [10.1.2.0/24, \"2001:db8::/32\"]\n"
                    "  deny_query: [10.0.0.0/8]\n"
                    "  refuse_action: drop\n");
  f.query(make_query("www.example.", kA), "2001:db8::7");
  CHECK(f.transport.attempts.size() == 1);
  const size_t replies = f.replies();
  f.query(make_query("www.example.", kA), "10.1.2.3");
  f.query(make_query("www.example.", kA), "127.0.0.1");  // not in this allow_query
  f.query(make_query("www.example.", kA), "10.1.2.3", /*tcp=*/true);
  CHECK(f.replies() == replies);
  CHECK(f.transport.attempts.size() == 1);
  CHECK(f.counter(Counter::kDropAcl) == 3);
  CHECK(f.counter(Counter::kRefusedAcl) == 0);
  CHECK(f.pipe->client_filter().admits(f.endpoint("2001:db8::9").sa()));
  CHECK_FALSE(f.pipe->client_filter().admits(f.endpoint("10.1.2.3").sa()));
}

TEST_CASE("rate limit: drops, slips TC=1 every 2nd, never limits TCP, refills with time") {
  PipelineFixture f(std::string(kOpen) +
                    "rate_limit:\n  responses_per_second: 10\n  burst: 4\n  slip: 2\n"
                    "  exempt: [127.0.0.0/8]\n");
  // Prime the cache, so that every later answer is immediate.
  f.query(make_query("www.example.", kA), "10.0.5.1");
  answer_all(f);
  REQUIRE(f.replies() == 1);
  for (int i = 0; i < 9; ++i) f.query(make_query("www.example.", kA), "10.0.5.1");
  // Burst 4 (the priming answer was the first); then x s x s x s.
  CHECK(f.replies() == 4 + 3);
  CHECK(f.counter(Counter::kRateLimitedDropped) == 3);
  CHECK(f.counter(Counter::kRateLimitedSlipped) == 3);
  const Answer slip = f.last();
  CHECK(slip.tc());
  CHECK(slip.answers.empty());
  CHECK(f.last_question() == "www.example.");
  // Another /24 of the same /16 is not affected; nor are exempt clients; nor TCP.
  f.query(make_query("www.example.", kA), "10.0.6.1");
  CHECK_FALSE(f.last().tc());
  CHECK(f.last().a_addresses() == std::vector<std::string>{"192.0.2.1"});
  for (int i = 0; i < 20; ++i) f.query(make_query("www.example.", kA), "127.0.0.1");
  for (int i = 0; i < 20; ++i) f.query(make_query("www.example.", kA), "10.0.5.1", /*tcp=*/true);
  CHECK(f.counter(Counter::kRateLimitedDropped) == 3);
  CHECK(f.last().a_addresses() == std::vector<std::string>{"192.0.2.1"});
  // 300 ms later: three more UDP answers for 10.0.5.0/24.
  f.clock.ms += 300;
  const size_t before = f.replies();
  for (int i = 0; i < 3; ++i) f.query(make_query("www.example.", kA), "10.0.5.9");
  CHECK(f.replies() == before + 3);
  CHECK_FALSE(f.last().tc());
  f.query(make_query("www.example.", kA), "10.0.5.9");
  CHECK(f.counter(Counter::kRateLimitedDropped) == 4);
}

TEST_CASE("meta qtypes: FORMERR with the client's flags echoed, never forwarded") {
  PipelineFixture f(kOpen);
  for (uint16_t qtype : {0, 41, 128, 200, 249, 250, 253, 254}) {
    INFO(std::to_string(qtype));
    f.query(make_query("www.example.", qtype));
    const Answer a = f.last();
    CHECK(a.rcode == kFormErr);
    CHECK(a.flags == (0x8000 | 0x0100 | kFormErr));  // QR RD: no RA added (as Unbound)
  }
  CHECK(f.transport.attempts.empty());
  CHECK(f.counter(Counter::kFormErrMetaQtype) == 8);
  // Types outside the meta range are forwarded: 255 (ANY) is answered, 256 (URI) forwarded.
  f.query(make_query("www.example.", 256));
  CHECK(f.transport.attempts.size() == 1);
}

TEST_CASE("other opcodes: NOTIMP with every client flag echoed, as Unbound sets them") {
  PipelineFixture f(kOpen);
  struct Case {
    uint16_t flags;  // of the query
    uint16_t want;   // of the reply
  } cases[] = {
      {0x0900, 0x8904},  // IQUERY, RD → QR RD, NOTIMP: no RA
      {0x0DB0, 0x8DB4},  // IQUERY AA RD RA AD CD: all echoed
      {0x1040, 0x9044},  // STATUS with Z: Z echoed
      {0x2B00, 0xA904},  // UPDATE with TC: TC cleared
      {0x7800, 0xF804},  // opcode 15
  };
  for (const auto& c : cases) {
    INFO(std::to_string(c.flags));
    PacketWriter p;
    p.header(0x55AA, c.flags, 1, 0, 0, 0).question("www.example.", kA);
    f.query(p.bytes());
    const Answer a = f.last();
    CHECK(a.id == 0x55AA);
    CHECK(a.rcode == kNotImp);
    CHECK(a.flags == c.want);
    CHECK(f.last_question() == "www.example.");
  }
  // NOTIFY has its own stage (notify_stage.h): for a zone no list is a secondary of, from
  // anyone, REFUSED with the opcode and question echoed, never NOTIMP.
  PacketWriter p;
  p.header(0x55AA, 0x2110, 1, 0, 0, 0).question("www.example.", kA);
  f.query(p.bytes());
  CHECK(f.last().rcode == 5);
  CHECK(((f.last().flags >> 11) & 0xF) == 4);
  CHECK(f.last_question() == "www.example.");
  CHECK(f.transport.attempts.empty());
}
