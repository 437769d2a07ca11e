// SPDX-License-Identifier: MIT
// /healthz's verdict as a pure function (every reason that applies, 200 only with none),
// the upstream state machine (down after failures AND silence, up at the first answer,
// each change reported once) and the per-worker figures it is fed from.
#include "resolver/observe/health_check.h"

#include <doctest/doctest.h>

#include "resolver/metrics/upstream_stats.h"
#include "resolver/observe/upstream_health.h"

using namespace sinkhole::observe;

TEST_CASE(
    "healthy only when lists are loaded, no worker is stuck, the last reload worked and "
    "an upstream is up") {
  HealthInput ok;
  ok.generation = 3;
  ok.upstreams = 2;
  ok.upstreams_up = 1;
  auto v = evaluate_health(ok);
  CHECK(v.healthy);
  CHECK(v.reasons.empty());
  CHECK(health_json(ok, v).dump() ==
        R"({"status":"ok","reasons":[],"generation":3,"upstreams_up":1,"upstreams":2})");

  HealthInput bad = ok;
  bad.lists_loaded = false;
  bad.stuck_workers = {0, 2};
  bad.last_reload_error = "sinkholed.yaml:4:3: unknown key";
  bad.upstreams_up = 0;
  v = evaluate_health(bad);
  CHECK_FALSE(v.healthy);
  REQUIRE(v.reasons.size() == 4);
  CHECK(v.reasons[0].check == "lists");
  CHECK(v.reasons[1].check == "workers");
  CHECK(v.reasons[1].message == "worker(s) 0, 2 made no progress (stuck loop)");
  CHECK(v.reasons[2].check == "reload");
  CHECK(v.reasons[2].message ==
        "the last reload failed (policy generation 3 still in service): sinkholed.yaml:4:3: "
        "unknown key");
  CHECK(v.reasons[3].check == "upstreams");
  CHECK(v.reasons[3].message == "no upstream is up (all 2 down)");
  CHECK(health_json(bad, v)["status"] == "unhealthy");

  // A feed list with no copy to serve yet (its first transfer has not succeeded).
  HealthInput pending = ok;
  pending.pending_lists = {"mic"};
  v = evaluate_health(pending);
  CHECK_FALSE(v.healthy);
  REQUIRE(v.reasons.size() == 1);
  CHECK(v.reasons[0].check == "lists");
  CHECK(v.reasons[0].message == "feed list(s) mic have no copy to serve yet");

  // Each reason alone is enough.
  HealthInput one = ok;
  one.upstreams_up = 0;
  CHECK_FALSE(evaluate_health(one).healthy);
  one = ok;
  one.last_reload_error = "x";
  CHECK_FALSE(evaluate_health(one).healthy);
  // No upstream configured (not possible in a config, but not "all down" either).
  one = ok;
  one.upstreams = 0;
  one.upstreams_up = 0;
  CHECK(evaluate_health(one).healthy);
}

TEST_CASE("an upstream goes down after failures and silence, both, and comes up at an answer") {
  using C = UpstreamHealth::Change;
  UpstreamHealth h(/*start_ms=*/1000);
  CHECK(h.up());
  // Failures, but an answer within the silence window: stays up (a black-holed zone
  // among healthy answers).
  CHECK(h.update({5, 3000}, 4000) == C::kNone);
  CHECK(h.update({5, 3000}, 5999) == C::kNone);
  // Silence, but too few failures: stays up (no traffic is no evidence).
  CHECK(h.update({2, 3000}, 9000) == C::kNone);
  // Both: down, reported once.
  CHECK(h.update({3, 3000}, 9000) == C::kWentDown);
  CHECK_FALSE(h.up());
  CHECK(h.since_ms() == 9000);
  CHECK(h.update({10, 3000}, 10000) == C::kNone);
  // An answer after it went down: up, reported once.
  CHECK(h.update({0, 10500}, 11000) == C::kCameUp);
  CHECK(h.up());
  CHECK(h.update({0, 10500}, 12000) == C::kNone);
  // One failure and the pool moved to another upstream (none asks it first): it gets no
  // queries to fail, so one failure and the silence are enough.
  UpstreamHealth left(1000);
  CHECK(left.update({1, 3000, true}, 7000) == C::kNone);
  CHECK(left.update({1, 3000, false}, 5999) == C::kNone);
  CHECK(left.update({1, 3000, false}, 6000) == C::kWentDown);
  CHECK(left.update({0, 6500, false}, 7000) == C::kCameUp);
  // Never answered: silence counts from the start.
  UpstreamHealth fresh(1000);
  CHECK(fresh.update({3, 0}, 3999) == C::kNone);
  CHECK(fresh.update({3, 0}, 4000) == C::kWentDown);
}

TEST_CASE("over workers: only failures after the latest answer anywhere count") {
  using C = UpstreamHealth::Change;
  // Worker 1 saw three refusals at 2000-2200; worker 0 an answer at 2500. The upstream's
  // last word was an answer: a quiet spell after it is no reason to find it down.
  const WorkerUpstreamView answered_last[] = {{0, 2500, 1500}, {3, 1000, 2200}};
  UpstreamSample s = merge_worker_views(answered_last, 2, true);
  CHECK(s.last_answer_ms == 2500);
  CHECK(s.failures_since_answer == 0);
  UpstreamHealth h(1000);
  CHECK(h.update(s, 60'000) == C::kNone);
  // Failures on both workers after the latest answer add up.
  const WorkerUpstreamView failing[] = {{2, 2500, 4000}, {1, 1000, 4100}};
  s = merge_worker_views(failing, 2, true);
  CHECK(s.failures_since_answer == 3);
  CHECK(h.update(s, 5499) == C::kNone);
  CHECK(h.update(s, 5500) == C::kWentDown);
  // Never answered: every failure counts, from the start.
  const WorkerUpstreamView never[] = {{1, 0, 1200}, {2, 0, 1300}};
  s = merge_worker_views(never, 2, false);
  CHECK(s.failures_since_answer == 3);
  CHECK_FALSE(s.preferred);
  CHECK(merge_worker_views(never, 0, true).failures_since_answer == 0);
}

TEST_CASE("per-worker upstream figures: failures since the last answer, smoothed RTT") {
  sinkhole::metrics::UpstreamStats s(2);
  using E = sinkhole::metrics::UpstreamStats::Error;
  s.note_failure(0, 100, E::kTimeout);
  s.note_failure(0, 200, E::kRcode);
  CHECK(s.failures_since_answer(0) == 2);
  CHECK(s.last_failure_ms(0) == 200);
  CHECK(s.last_error(0) == E::kRcode);
  CHECK(s.srtt_us(0) == 0);
  s.note_answer(0, 300, 8000);
  CHECK(s.failures_since_answer(0) == 0);
  CHECK(s.last_answer_ms(0) == 300);
  CHECK(s.srtt_us(0) == 8000);
  s.note_answer(0, 400, 16000);
  CHECK(s.srtt_us(0) == 9000);  // 7/8 of 8000 + 1/8 of 16000
  CHECK(s.failures_since_answer(1) == 0);
  s.note_failure(5, 1, E::kSocket);  // out of range: ignored
}
