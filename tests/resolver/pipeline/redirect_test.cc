// SPDX-License-Identifier: MIT
// The `cname` action's redirect through the pipeline: the client's answer waits on the
// target's resolution, so everything that can happen to an upstream question can happen to
// it — every upstream failing (at once, or at the deadline, with a stale copy of the target
// in the cache), an answer too big for the client, many redirects at once reusing their
// state slots. Each client must get its own question, EDE and an answer, and every hold on
// a client must be released.
#include <doctest/doctest.h>

#include "pipeline_fixture.h"

namespace {

using sinkhole::metrics::Counter;
using sinkhole::test::a_record;
using sinkhole::test::answer_to;
using sinkhole::test::cname_record;
using sinkhole::test::make_query;
using sinkhole::test::PipelineFixture;
using sinkhole::test::Rr;

constexpr uint16_t kA = 1, kAaaa = 28;

const char* kPolicy = R"yaml(
lists:
  gambling: { path: gambling.txt, format: domains, category: gambling }
  other:    { path: other.txt, format: domains, category: other }
actions:
  warn-cname: { type: cname, target: warn.example., ttl: 60, ede: blocked, ede_text: "see {list}" }
policies:
  - name: all
    clients: ["0.0.0.0/0", "::/0"]
    block:
      - { list: gambling, action: warn-cname }
      - { list: other, action: warn-cname }
)yaml";

const std::vector<std::pair<std::string, std::string>> kFiles = {
    {"gambling.txt", "casino.example\n"}, {"other.txt", "other.example\n"}};

}  // namespace

TEST_CASE("redirect: every upstream refusing the send at once gives SERVFAIL, nothing held") {
  PipelineFixture f(kPolicy, kFiles);
  f.transport.refuse_send = {true, true};
  f.query(make_query("casino.example.", kA, {.id = 5}), "127.0.0.1", /*tcp=*/true);
  REQUIRE(f.replies() == 1);
  CHECK(f.last().id == 5);
  CHECK(f.last().rcode == 2);
  CHECK(f.last().ede == 22);
  CHECK(f.sink.none_held());
  CHECK(f.pipe->in_flight() == 0);
}

TEST_CASE("redirect: a stale copy of the target is never served as the blocked name's answer") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("warn.example.", kA));
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {1, 2, 3, 4}, 60)}));
  f.clock.ms += 120'000;  // the warning host's answer is stale now
  f.query(make_query("casino.example.", kA, {.id = 6}));
  f.transport.advance(2'000);
  CHECK(f.last().id == 6);
  CHECK(f.last().rcode == 2);
  CHECK(f.last().ede == 22);
  CHECK(f.counter(Counter::kCacheStale) == 0);
  CHECK(f.sink.none_held());
}

TEST_CASE("redirect: an answer too big for the client's UDP limit becomes TC=1") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("casino.example.", kA, {.id = 7, .payload = 512}));
  std::vector<Rr> many;
  for (int i = 0; i < 60; ++i) many.push_back(a_record("", {10, 0, 0, static_cast<uint8_t>(i)}));
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, many));
  CHECK(f.last().id == 7);
  CHECK(f.last().tc());
  CHECK(f.sink.sent.back().bytes.size() <= 512);
  CHECK(f.counter(Counter::kTruncatedUdp) == 1);
}

TEST_CASE("redirect: slots are reused and each client keeps its own EDE text") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("casino.example.", kA, {.id = 1}));
  f.query(make_query("other.example.", kAaaa, {.id = 2}));
  REQUIRE(f.transport.attempts.size() == 2);
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {1, 1, 1, 1})}));
  CHECK(f.last().ede_text == "see gambling");
  f.query(make_query("other.example.", kA, {.id = 3}));  // reuses the first slot
  f.transport.reply(2, answer_to(f.transport.attempts[2].query, {a_record("", {1, 1, 1, 1})}));
  CHECK(f.last().id == 3);
  CHECK(f.last().ede_text == "see other");
  f.transport.reply(1, answer_to(f.transport.attempts[1].query, {}));
  CHECK(f.last().id == 2);
  CHECK(f.last().ede_text == "see other");
  CHECK(f.sink.none_held());
}

TEST_CASE("redirect: blocks found in a CNAME chain while answering many clients at once") {
  PipelineFixture f(kPolicy, kFiles);
  f.query(make_query("promo.example.org.", kA, {.id = 1}), "127.0.0.1");
  f.query(make_query("promo.example.org.", kA, {.id = 2}), "127.0.0.2", /*tcp=*/true);
  f.query(make_query("promo.example.org.", kA, {.id = 3}), "127.0.0.3");
  REQUIRE(f.transport.attempts.size() == 1);
  // The answer chains into a listed name: every client is redirected to the warning host,
  // which all three then wait on together.
  f.transport.reply(
      0, answer_to(f.transport.attempts[0].query, {cname_record("", "www.casino.example."),
                                                   a_record("www.casino.example.", {1, 1, 1, 1})}));
  REQUIRE(f.transport.attempts.size() == 2);
  CHECK(f.replies() == 0);
  f.transport.reply(1, answer_to(f.transport.attempts[1].query, {a_record("", {9, 9, 9, 9})}));
  REQUIRE(f.replies() == 3);
  for (const auto& s : f.sink.sent) {
    const auto a = sinkhole::test::read_answer(s.bytes);
    CHECK(a.rcode == 0);
    CHECK(a.answers.size() == 2);
    CHECK(a.ede_text == "see gambling");
  }
  CHECK(f.counter(Counter::kBlockedCnameChain) == 3);
  CHECK(f.sink.none_held());
}
