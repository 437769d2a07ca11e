// SPDX-License-Identifier: MIT
// UpstreamHealth: whether one upstream is up or down, decided from what every worker saw
// (metrics/upstream_stats.h, merged by HealthMonitor): down after failed attempts
// (timeouts, socket errors, SERVFAIL/REFUSED, bad replies) with no answer for
// kDownAfterSilenceMs — and either kDownAfterFailures of them, or at least one and no
// worker asks it first any more (the pool failed over to another upstream after it
// failed, so it gets no queries to fail). Silence is required in both cases, so that a
// black-holed zone among healthy answers never marks its upstream down. Up again at its
// first answer after that (a down upstream is asked again when the one preferred fails).
// The change is reported once, not per query.
// Pure (time is an argument), so the state machine is unit-tested; control thread only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sinkhole::observe {

// One upstream, merged over workers (loop time: monotonic ms).
struct UpstreamSample {
  uint64_t failures_since_answer = 0;  // summed over workers
  uint64_t last_answer_ms = 0;         // the latest over workers; 0: never answered
  bool preferred = true;               // some worker asks it first
};

// What one worker saw of one upstream (metrics/upstream_stats.h).
struct WorkerUpstreamView {
  uint64_t failures_since_answer = 0;  // since this worker's own last answer from it
  uint64_t last_answer_ms = 0;
  uint64_t last_failure_ms = 0;
};

// The sample over workers: the latest answer any worker saw, and the failures of the
// workers that failed after it. A worker's failures older than another worker's answer
// are not evidence (the upstream answered since), so an upstream whose last word was an
// answer is never found down by a quiet spell after failures spread over workers.
inline UpstreamSample merge_worker_views(const WorkerUpstreamView* views, size_t n,
                                         bool preferred) {
  UpstreamSample s;
  s.preferred = preferred;
  for (size_t i = 0; i < n; ++i)
    if (views[i].last_answer_ms > s.last_answer_ms) s.last_answer_ms = views[i].last_answer_ms;
  for (size_t i = 0; i < n; ++i)
    if (views[i].last_failure_ms > s.last_answer_ms)
      s.failures_since_answer += views[i].failures_since_answer;
  return s;
}

class UpstreamHealth {
 public:
  static constexpr uint64_t kDownAfterFailures = 3;
  static constexpr uint64_t kDownAfterSilenceMs = 3000;

  enum class Change : uint8_t { kNone, kWentDown, kCameUp };

  // `start_ms`: when the server started (silence counts from there at first).
  explicit UpstreamHealth(uint64_t start_ms = 0) : since_ms_(start_ms), start_ms_(start_ms) {}

  Change update(const UpstreamSample& s, uint64_t now_ms) {
    if (up_) {
      const uint64_t quiet_from = s.last_answer_ms > start_ms_ ? s.last_answer_ms : start_ms_;
      const bool failing = s.failures_since_answer >= kDownAfterFailures ||
                           (s.failures_since_answer > 0 && !s.preferred);
      if (failing && now_ms >= quiet_from + kDownAfterSilenceMs) {
        up_ = false;
        since_ms_ = now_ms;
        return Change::kWentDown;
      }
      return Change::kNone;
    }
    if (s.last_answer_ms > since_ms_) {
      up_ = true;
      since_ms_ = s.last_answer_ms;
      return Change::kCameUp;
    }
    return Change::kNone;
  }

  bool up() const { return up_; }
  // When the current state began (for a down upstream: when it was found down).
  uint64_t since_ms() const { return since_ms_; }

 private:
  bool up_ = true;  // until proven otherwise: a server with no traffic yet is healthy
  uint64_t since_ms_;
  uint64_t start_ms_;
};

}  // namespace sinkhole::observe
