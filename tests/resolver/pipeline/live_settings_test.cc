// SPDX-License-Identifier: MIT
// A reload's settings applied to a running pipeline (QueryPipeline::apply_settings, as a
// worker does between two queries; pipeline_fixture.h): allow_query / deny_query /
// refuse_action switch for UDP, TCP and the TCP accept filter; the rate limit turned on
// and off; upstream.max_inflight; an upstream pool switched with a question in flight
// (it finishes on the old pool, new questions go to the new one, fail_all reaches both);
// the cache turned off and on by max_bytes. Also same_upstreams and LiveSettingsHolder.
#include "resolver/pipeline/live_settings.h"

#include <doctest/doctest.h>

#include "pipeline_fixture.h"

namespace {

using sinkhole::metrics::Counter;
using sinkhole::test::a_record;
using sinkhole::test::answer_to;
using sinkhole::test::FakeTransport;
using sinkhole::test::make_query;
using sinkhole::test::PipelineFixture;

constexpr uint16_t kA = 1;
constexpr uint16_t kRefused = 5, kServFail = 2;

bool filter_admits(const PipelineFixture& f, const std::string& client) {
  return f.pipe->client_filter().admits(f.endpoint(client, true).sa());
}

}  // namespace

TEST_CASE("allow_query, deny_query and refuse_action change at a reload, TCP accept included") {
  PipelineFixture f("", {}, 2, true, "", /*server_yaml=*/"");  // the default: private only
  f.query(make_query("a.example.", kA), "8.8.8.8");
  CHECK(f.last().rcode == kRefused);
  CHECK_FALSE(filter_admits(f, "8.8.8.8"));
  CHECK(f.transport.attempts.empty());

  f.apply_settings("  allow_query: [\"0.0.0.0/0\"]\n");
  f.query(make_query("b.example.", kA), "8.8.8.8");
  CHECK(f.transport.attempts.size() == 1);  // admitted: forwarded
  CHECK(filter_admits(f, "8.8.8.8"));

  f.apply_settings(
      "  allow_query: [\"0.0.0.0/0\"]\n  deny_query: [\"8.8.8.0/24\"]\n  refuse_action: drop\n");
  const size_t replies = f.replies();
  f.query(make_query("c.example.", kA), "8.8.8.8");
  f.query(make_query("c.example.", kA), "8.8.8.8", /*tcp=*/true);
  CHECK(f.replies() == replies);  // dropped, both transports
  CHECK(f.counter(Counter::kDropAcl) == 2);
  CHECK_FALSE(filter_admits(f, "8.8.8.8"));
  CHECK(filter_admits(f, "8.8.4.4"));
  CHECK(f.transport.attempts.size() == 1);
}

TEST_CASE("the rate limit is turned on, changed and off by a reload") {
  PipelineFixture f("", {}, 2, true, "", /*server_yaml=*/"");
  // REFUSED replies to a stranger pass the limiter like any UDP reply, with no upstream.
  auto burst = [&](int n) {
    const size_t before = f.replies();
    for (int i = 0; i < n; ++i) f.query(make_query("x.example.", kA), "8.8.8.8");
    return f.replies() - before;
  };
  CHECK(burst(5) == 5);
  f.apply_settings("", "", "rate_limit:\n  responses_per_second: 1\n  burst: 2\n  slip: 0\n");
  CHECK(burst(5) == 2);
  CHECK(f.counter(Counter::kRateLimitedDropped) == 3);
  // Same buckets: the prefix stays limited under new settings, then refills at the new rate.
  f.apply_settings("", "", "rate_limit:\n  responses_per_second: 100\n  burst: 100\n  slip: 0\n");
  CHECK(burst(1) == 0);
  f.clock.ms += 1000;
  CHECK(burst(50) == 50);
  f.apply_settings("");  // no rate_limit section: off
  CHECK(burst(200) == 200);
}

TEST_CASE("upstream.max_inflight applies to the next new question") {
  PipelineFixture f("", {}, 2, /*with_cache=*/false);
  f.apply_settings(PipelineFixture::kAdmitEveryone, "  max_inflight: 1\n  zone_share: 100%\n");
  f.query(make_query("q1.example.", kA));
  f.query(make_query("q2.example.", kA));
  CHECK(f.transport.attempts.size() == 1);
  CHECK(f.last().rcode == kServFail);
  CHECK(f.counter(Counter::kUpstreamLimitWorker) == 1);
  f.apply_settings(PipelineFixture::kAdmitEveryone, "  max_inflight: 8\n  zone_share: 100%\n");
  f.query(make_query("q3.example.", kA));
  CHECK(f.transport.attempts.size() == 2);
}

TEST_CASE("a new upstream pool takes new questions; one in flight finishes on the old pool") {
  PipelineFixture f("", {}, 2, /*with_cache=*/false);
  f.query(make_query("old.example.", kA, {.id = 1}));
  REQUIRE(f.transport.attempts.size() == 1);

  // As Worker::apply_settings: a new transport and pool, handed to the pipeline.
  FakeTransport fresh(f.clock);
  sinkhole::upstream::UpstreamPool::Options po;
  po.servers = {*sinkhole::config::SocketAddress::parse("127.0.0.99", 53)};
  auto next =
      std::make_unique<sinkhole::upstream::UpstreamPool>(po, fresh, f.clock, f.counters, *f.pipe);
  f.pipe->set_upstreams(next.get());
  CHECK(f.pool->active() == 1);

  f.query(make_query("new.example.", kA, {.id = 2}));
  CHECK(f.transport.attempts.size() == 1);  // not the old pool
  REQUIRE(fresh.attempts.size() == 1);
  CHECK(next->active() == 1);

  f.transport.reply(0, answer_to(f.transport.attempts[0].query, {a_record("", {192, 0, 2, 1})}));
  CHECK(f.last().id == 1);
  CHECK(f.last().rcode == 0);
  CHECK(f.pool->active() == 0);  // the worker may now close the old pool

  f.query(make_query("third.example.", kA, {.id = 3}));
  CHECK(fresh.attempts.size() == 2);
  f.pipe->fail_all();  // each question is cancelled by its own pool
  CHECK(f.pipe->in_flight() == 0);
  CHECK(next->active() == 0);
  CHECK(f.last().rcode == kServFail);
  CHECK(f.sink.none_held());
}

TEST_CASE("cache.max_bytes 0 turns the cache off at once, and a non-zero value back on") {
  PipelineFixture f;
  auto ask = [&](uint16_t id) {
    f.query(make_query("c.example.org.", kA, {.id = id}));
    for (size_t i = 0; i < f.transport.attempts.size(); ++i)
      if (f.transport.attempts[i].live)
        f.transport.reply(
            i, answer_to(f.transport.attempts[i].query, {a_record("", {192, 0, 2, 9}, 600)}));
  };
  ask(1);
  ask(2);
  CHECK(f.transport.attempts.size() == 1);  // the second from the cache
  sinkhole::cache::CacheOptions off = f.cache->options();
  off.max_bytes = 0;
  f.cache->reconfigure(off);
  CHECK_FALSE(f.cache->enabled());
  CHECK(f.cache->stats().entries == 0);
  ask(3);
  ask(4);
  CHECK(f.transport.attempts.size() == 3);  // each one upstream, nothing stored
  CHECK(f.cache->stats().entries == 0);
  sinkhole::cache::CacheOptions on = off;
  on.max_bytes = size_t{1} << 20;
  on.max_ttl = 60;  // the TTL clamp applies to what is stored from now on
  f.cache->reconfigure(on);
  ask(5);
  ask(6);
  CHECK(f.transport.attempts.size() == 4);
  CHECK(f.last().answers.at(0).ttl == 60);
}

TEST_CASE("same_upstreams: any upstream setting or row change needs a new pool") {
  using sinkhole::pipeline::LiveSettings;
  auto settings = [](auto change) {
    auto c = std::make_shared<sinkhole::config::Config>();
    c->upstream.servers = {*sinkhole::config::SocketAddress::parse("192.0.2.1", 53)};
    change(*c);
    LiveSettings s;
    s.config = c;
    s.upstream_rows = {0};
    return s;
  };
  const LiveSettings base = settings([](auto&) {});
  CHECK(same_upstreams(base, settings([](auto&) {})));
  CHECK(same_upstreams(base, settings([](auto& c) { c.upstream.max_inflight = 1; })));
  CHECK(same_upstreams(base, settings([](auto& c) { c.cache.max_ttl = 1; })));
  CHECK_FALSE(same_upstreams(base, settings([](auto& c) {
                               c.upstream.servers = {
                                   *sinkhole::config::SocketAddress::parse("192.0.2.2", 53)};
                             })));
  CHECK_FALSE(same_upstreams(base, settings([](auto& c) { c.upstream.timeout = {}; })));
  CHECK_FALSE(same_upstreams(base, settings([](auto& c) { c.upstream.deadline = {}; })));
  CHECK_FALSE(
      same_upstreams(base, settings([](auto& c) { c.upstream.max_inflight_per_upstream = 1; })));
  CHECK_FALSE(same_upstreams(base, settings([](auto& c) { c.upstream.socket_reuse = 1; })));
}

TEST_CASE("LiveSettingsHolder: generation moves on publish; retired settings freed when unused") {
  sinkhole::pipeline::LiveSettingsHolder h;
  auto make = [](uint64_t g) {
    auto s = std::make_shared<sinkhole::pipeline::LiveSettings>();
    s->generation = g;
    s->config = std::make_shared<sinkhole::config::Config>();
    return s;
  };
  h.publish(make(1));
  CHECK(h.generation() == 1);
  auto held = h.current();  // a worker still on generation 1
  h.publish(make(2));
  CHECK(h.generation() == 2);
  CHECK(h.current()->generation == 2);
  CHECK(h.collect() == 1);  // still held
  held.reset();
  CHECK(h.collect() == 0);
}
