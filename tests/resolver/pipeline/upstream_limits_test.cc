// SPDX-License-Identifier: MIT
// The in-flight limits in the pipeline (pipeline_fixture.h): past upstream.max_inflight, a
// zone's upstream.zone_share or every upstream's upstream.max_inflight_per_upstream, a new
// question is answered at once — stale from the cache when it can be, else SERVFAIL with
// EDE 0 and a text naming the limit — counted by reason, while identical questions still
// coalesce and other zones and upstreams keep being served.
#include <doctest/doctest.h>

#include "pipeline_fixture.h"

namespace {

using sinkhole::metrics::Counter;
using sinkhole::test::a_record;
using sinkhole::test::Answer;
using sinkhole::test::answer_to;
using sinkhole::test::make_query;
using sinkhole::test::PipelineFixture;

constexpr uint16_t kA = 1;

void check_limited(const Answer& a, uint16_t id, const std::string& text) {
  CHECK(a.id == id);
  CHECK(a.rcode == 2);
  CHECK(a.ede == 0);
  CHECK(a.ede_text == text);
}

}  // namespace

TEST_CASE("max_inflight: a new question past the limit gets SERVFAIL at once; joining is free") {
  PipelineFixture f("", {}, 2, /*with_cache=*/false, "  max_inflight: 3\n  zone_share: 100%\n");
  for (int i = 0; i < 3; ++i)
    f.query(make_query("q" + std::to_string(i) + ".example.org.", kA, {.id = uint16_t(i)}));
  CHECK(f.transport.attempts.size() == 3);
  CHECK(f.replies() == 0);
  f.query(make_query("q3.example.org.", kA, {.id = 33}));
  CHECK(f.transport.attempts.size() == 3);  // never sent upstream
  check_limited(f.last(), 33, "too many queries in flight upstream");
  CHECK(f.counter(Counter::kUpstreamLimitWorker) == 1);
  // An identical question joins the one in flight: no new upstream work, no refusal.
  f.query(make_query("Q0.example.org.", kA, {.id = 40}));
  CHECK(f.counter(Counter::kUpstreamCoalesced) == 1);
  CHECK(f.replies() == 1);
  // An answer frees a place.
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {192, 0, 2, 1})}));
  CHECK(f.replies() == 3);
  f.query(make_query("q3.example.org.", kA, {.id = 34}));
  CHECK(f.transport.attempts.size() == 4);
  CHECK(f.counter(Counter::kUpstreamLimitWorker) == 1);
  f.transport.advance(2'000);
  CHECK(f.sink.none_held());
}

TEST_CASE("zone_share: a dead zone fills its share, other zones keep their answers") {
  // 10 questions in flight per worker, a zone gets 30% of them: 3.
  PipelineFixture f("", {}, 2, /*with_cache=*/false, "  max_inflight: 10\n  zone_share: 30%\n");
  for (int i = 0; i < 8; ++i)
    f.query(make_query("r" + std::to_string(i) + ".blackhole.test.", kA, {.id = uint16_t(i)}));
  CHECK(f.transport.attempts.size() == 3);
  CHECK(f.replies() == 5);
  check_limited(f.last(), 7, "too many queries in flight for this zone");
  CHECK(f.counter(Counter::kUpstreamLimitZone) == 5);
  CHECK(f.counter(Counter::kUpstreamLimitWorker) == 0);
  // A healthy zone still gets through, and is answered.
  f.query(make_query("www.healthy.test.", kA, {.id = 100}));
  REQUIRE(f.transport.attempts.size() == 4);
  f.transport.reply(3, answer_to(f.transport.attempts[3].query, {a_record("", {192, 0, 2, 7})}));
  CHECK(f.last().id == 100);
  CHECK(f.last().rcode == 0);
  // When the dead zone's questions time out, its share is free again.
  f.transport.advance(2'000);
  CHECK(f.counter(Counter::kUpstreamAllFailed) == 3);
  const size_t before = f.transport.attempts.size();
  f.query(make_query("later.blackhole.test.", kA, {.id = 200}));
  CHECK(f.transport.attempts.size() == before + 1);
  CHECK(f.counter(Counter::kUpstreamLimitZone) == 5);
  f.transport.advance(2'000);
  CHECK(f.sink.none_held());
}

TEST_CASE("a limit serves a stale answer when the cache has one (RFC 8767)") {
  PipelineFixture f("", {}, 2, /*with_cache=*/true, "  max_inflight: 1\n");
  f.query(make_query("old.example.org.", kA, {.id = 1}));
  f.transport.reply(
      0, answer_to(f.transport.attempts[0].query, {a_record("", {198, 51, 100, 8}, 60)}));
  f.clock.ms += 120'000;                                    // expired a minute ago
  f.query(make_query("busy.example.org.", kA, {.id = 2}));  // takes the only place
  f.query(make_query("old.example.org.", kA, {.id = 3}));
  const Answer a = f.last();
  CHECK(a.id == 3);
  CHECK(a.rcode == 0);
  CHECK(a.answers.at(0).ttl == 30);
  CHECK(f.counter(Counter::kCacheStale) == 1);
  CHECK(f.counter(Counter::kUpstreamLimitWorker) == 1);
  f.transport.advance(2'000);
  CHECK(f.sink.none_held());
}

TEST_CASE("max_inflight_per_upstream: a busy upstream is passed over, then SERVFAIL") {
  PipelineFixture f("", {}, 2, /*with_cache=*/false,
                    "  max_inflight_per_upstream: 2\n  zone_share: 100%\n");
  for (int i = 0; i < 4; ++i)
    f.query(make_query("p" + std::to_string(i) + ".example.org.", kA, {.id = uint16_t(i)}));
  REQUIRE(f.transport.attempts.size() == 4);
  CHECK(f.transport.attempts[0].upstream == 0);
  CHECK(f.transport.attempts[1].upstream == 0);
  CHECK(f.transport.attempts[2].upstream == 1);  // the first is full: the second one
  CHECK(f.transport.attempts[3].upstream == 1);
  CHECK(f.pool->busy(0) == 2);
  CHECK(f.pool->busy(1) == 2);
  f.query(make_query("p4.example.org.", kA, {.id = 44}));
  CHECK(f.transport.attempts.size() == 4);
  check_limited(f.last(), 44, "every upstream is busy");
  CHECK(f.counter(Counter::kUpstreamLimitUpstream) == 1);
  CHECK(f.counter(Counter::kUpstreamAllFailed) == 0);
  // An answer frees its upstream's place.
  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {192, 0, 2, 1})}));
  CHECK(f.pool->busy(0) == 1);
  f.query(make_query("p5.example.org.", kA, {.id = 55}));
  REQUIRE(f.transport.attempts.size() == 5);
  CHECK(f.transport.attempts[4].upstream == 0);
  f.transport.advance(2'000);
  CHECK(f.pool->busy(0) == 0);
  CHECK(f.pool->busy(1) == 0);
  CHECK(f.sink.none_held());
}
