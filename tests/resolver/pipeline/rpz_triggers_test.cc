// SPDX-License-Identifier: MIT
// RPZ rpz-client-ip and rpz-ip rules through the real pipeline (fake transport): a listed
// client gets the zone's action without an upstream; an upstream answer (fresh or cached)
// with a listed address gets the rule's action; the RPZ precedence — client-ip, then QNAME,
// then rpz-ip inside one zone, the first zone of the policy across zones (a QNAME rule of a
// later zone waits for the answer, and applies without one).
#include <doctest/doctest.h>

#include "pipeline_fixture.h"

namespace {

using sinkhole::metrics::Counter;
using sinkhole::test::a_record;
using sinkhole::test::Answer;
using sinkhole::test::answer_to;
using sinkhole::test::make_query;
using sinkhole::test::PipelineFixture;
using sinkhole::test::QueryOptions;
using sinkhole::test::Rr;

constexpr uint16_t kA = 1, kAaaa = 28;
constexpr const char* kSoa =
    "$TTL 300\n@ SOA ns.rpz.example. hostmaster.rpz.example. 1 3600 600 86400 300\n"
    "@ NS ns.rpz.example.\n";

std::string zone(const std::string& rules) {
  return kSoa + rules;
}

// Policy for every client: block rules over the given lists, in order.
std::string policy(std::initializer_list<const char*> lists) {
  std::string y = "lists:\n";
  for (const char* l : lists)
    y += std::string("  ") + l + ": { path: " + l + ".rpz, format: rpz, category: " + l + " }\n";
  y += "policies:\n  - name: all\n    clients: [\"0.0.0.0/0\", \"::/0\"]\n    block:\n";
  for (const char* l : lists) y += std::string("      - { list: ") + l + " }\n";
  return y;
}

Rr aaaa_record(std::vector<uint8_t> ip) {
  return {"", kAaaa, 300, std::move(ip)};
}

TEST_CASE("rpz-client-ip: a listed client gets the action for every name, others are served") {
  PipelineFixture f(policy({"clients"}),
                    {{"clients.rpz", zone("32.9.0.0.127.rpz-client-ip CNAME .\n"
                                          "64.zz.5.db8.2001.rpz-client-ip CNAME rpz-drop.\n")}});
  f.query(make_query("www.example.org.", kA, {.id = 1}), "127.0.0.9");
  CHECK(f.transport.attempts.empty());
  Answer a = f.last();
  CHECK(a.id == 1);
  CHECK(a.rcode == 3);
  CHECK(f.counter(Counter::kBlocked) == 1);
  CHECK(f.counter(Counter::kBlockedRpzClientIp) == 1);
  f.query(make_query("www.example.org.", kA, {.id = 2}), "2001:db8:5::77");
  CHECK(f.replies() == 1);  // dropped
  CHECK(f.counter(Counter::kBlockedRpzClientIp) == 2);
  f.query(make_query("www.example.org.", kA, {.id = 3}), "127.0.0.10");
  REQUIRE(f.transport.attempts.size() == 1);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {198, 51, 100, 7})}));
  a = f.last();
  CHECK(a.id == 3);
  CHECK(a.rcode == 0);
  CHECK(a.a_addresses() == std::vector<std::string>{"198.51.100.7"});
  CHECK(f.counter(Counter::kBlockedRpzClientIp) == 2);
}

TEST_CASE("rpz-ip: an answer with a listed address gets the action, from upstream and cache") {
  PipelineFixture f(policy({"answers"}),
                    {{"answers.rpz", zone("24.0.2.0.192.rpz-ip CNAME .\n"
                                          "8.0.0.0.192.rpz-ip A 10.9.9.9\n"
                                          "128.66.zz.db8.2001.rpz-ip CNAME rpz-drop.\n")}});
  f.query(make_query("www.example.org.", kA, {.id = 1}));
  REQUIRE(f.transport.attempts.size() == 1);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query,
                                 {a_record("", {198, 51, 100, 1}), a_record("", {192, 0, 2, 66})}));
  Answer a = f.last();
  CHECK(a.id == 1);
  CHECK(a.rcode == 3);  // the /24 (longer than the /8) decides: NXDOMAIN
  CHECK(a.answers.empty());
  CHECK(f.counter(Counter::kBlockedRpzIp) == 1);
  CHECK(f.counter(Counter::kBlocked) == 1);
  // Cached as the upstream sent it; decided again when served from the cache.
  f.query(make_query("www.example.org.", kA, {.id = 2}));
  CHECK(f.transport.attempts.size() == 1);
  CHECK(f.counter(Counter::kCacheHits) == 1);
  CHECK(f.last().rcode == 3);
  CHECK(f.counter(Counter::kBlockedRpzIp) == 2);
  // Only the /8 holds this one: its local data replaces the answer.
  f.query(make_query("other.example.org.", kA, {.id = 3}));
  REQUIRE(f.transport.attempts.size() == 2);
  f.transport.reply(1, answer_to(f.transport.attempts[1].query, {a_record("", {192, 1, 1, 1})}));
  a = f.last();
  CHECK(a.rcode == 0);
  CHECK(a.a_addresses() == std::vector<std::string>{"10.9.9.9"});
  // AAAA in an IPv6 prefix: rpz-drop, no reply.
  const size_t replies = f.replies();
  f.query(make_query("v6.example.org.", kAaaa, {.id = 4}));
  REQUIRE(f.transport.attempts.size() == 3);
  f.transport.reply(
      2, answer_to(f.transport.attempts[2].query,
                   {aaaa_record({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x66})}));
  CHECK(f.replies() == replies);
  CHECK(f.counter(Counter::kBlockedRpzIp) == 4);
  // An unlisted address passes.
  f.query(make_query("fine.example.org.", kA, {.id = 5}));
  f.transport.reply(3, answer_to(f.transport.attempts[3].query, {a_record("", {198, 51, 100, 9})}));
  CHECK(f.last().a_addresses() == std::vector<std::string>{"198.51.100.9"});
  CHECK(f.counter(Counter::kBlockedRpzIp) == 4);
  CHECK(f.sink.none_held());
}

TEST_CASE("RPZ precedence inside one zone: client-ip, then QNAME, then rpz-ip") {
  PipelineFixture f(policy({"one"}),
                    {{"one.rpz", zone("32.9.0.0.127.rpz-client-ip CNAME rpz-drop.\n"
                                      "www.example.org CNAME .\n"
                                      "24.0.2.0.192.rpz-ip CNAME *.\n")}});
  // A listed client: its rule beats the name's.
  f.query(make_query("www.example.org.", kA, {.id = 1}), "127.0.0.9");
  CHECK(f.replies() == 0);
  // The name's rule beats the answer's: decided at once, nothing forwarded.
  f.query(make_query("www.example.org.", kA, {.id = 2}));
  CHECK(f.transport.attempts.empty());
  CHECK(f.last().rcode == 3);
  // Another name: the answer's rule (NODATA).
  f.query(make_query("ok.example.org.", kA, {.id = 3}));
  REQUIRE(f.transport.attempts.size() == 1);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {192, 0, 2, 1})}));
  const Answer a = f.last();
  CHECK(a.id == 3);
  CHECK(a.rcode == 0);
  CHECK(a.answers.empty());
  CHECK(f.counter(Counter::kBlockedRpzClientIp) == 1);
  CHECK(f.counter(Counter::kBlockedRpzIp) == 1);
  CHECK(f.counter(Counter::kBlocked) == 3);
}

TEST_CASE("RPZ precedence across zones: the first zone wins, a later QNAME rule waits") {
  PipelineFixture f(policy({"first", "second"}),
                    {{"first.rpz", zone("24.0.2.0.192.rpz-ip CNAME *.\n")},
                     {"second.rpz", zone("www.example.org CNAME .\n"
                                         "32.9.0.0.127.rpz-client-ip CNAME .\n")}});
  // The second zone's name rule waits for the answer: the first zone's rpz-ip rule wins.
  f.query(make_query("www.example.org.", kA, {.id = 1}));
  REQUIRE(f.transport.attempts.size() == 1);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {192, 0, 2, 1})}));
  Answer a = f.last();
  CHECK(a.rcode == 0);  // NODATA, the first zone's
  CHECK(a.answers.empty());
  CHECK(f.counter(Counter::kBlockedRpzIp) == 1);
  // An answer the first zone does not list: the second zone's name rule.
  f.query(make_query("www.example.org.", kAaaa, {.id = 2}));
  REQUIRE(f.transport.attempts.size() == 2);
  f.transport.reply(
      1, answer_to(f.transport.attempts[1].query,
                   {aaaa_record({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})}));
  a = f.last();
  CHECK(a.id == 2);
  CHECK(a.rcode == 3);
  CHECK(f.counter(Counter::kBlockedRpzIp) == 1);
  CHECK(f.counter(Counter::kBlocked) == 2);
  // No upstream answers at all: the name's rule applies rather than SERVFAIL.
  f.query(make_query("www.example.org.", kA, {.id = 3, .do_bit = true}));
  REQUIRE(f.transport.attempts.size() == 3);
  f.transport.advance(5'000);
  a = f.last();
  CHECK(a.id == 3);
  CHECK(a.rcode == 3);
  // A client-ip rule of the later zone waits the same way.
  f.query(make_query("client.example.org.", kA, {.id = 4}), "127.0.0.9");
  REQUIRE(f.transport.attempts.size() >= 5);
  f.transport.reply(f.transport.attempts.size() - 1,
                    answer_to(f.transport.attempts.back().query, {a_record("", {192, 0, 2, 9})}));
  a = f.last();
  CHECK(a.id == 4);
  CHECK(a.rcode == 0);
  CHECK(a.answers.empty());
  CHECK(f.sink.none_held());
}

}  // namespace
