// SPDX-License-Identifier: MIT
// DebugLog: the gate of the per-query debug lines (log.level: debug) — the pipeline's
// decision line (client, name, type, policy, verdict, cache/upstream) and the upstream
// pool's choice and failover lines. Above debug, `on()` is one relaxed load of spdlog's
// level and nothing else runs: no formatting, no allocation, no clock read. At debug, at
// most `per_second` lines a second pass (log.debug_query_rate); the rest are counted, and
// the first line of the next second is preceded by one saying how many were left out.
// One per worker, shared by its pipeline and pool; worker thread only.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>

namespace sinkhole::upstream {

class DebugLog {
 public:
  explicit DebugLog(unsigned per_second = 100) : per_second_(per_second ? per_second : 1) {}

  // Whether per-query debug lines are wanted at all (the level is live: a reload may
  // change it).
  static bool on() noexcept {
    return spdlog::default_logger_raw()->should_log(spdlog::level::debug);
  }

  // Call only when on(): whether one more line may be written at `now_ms`.
  bool allow(uint64_t now_ms) {
    if (now_ms >= window_start_ + 1000) {
      if (suppressed_ > 0)
        spdlog::debug(
            "debug: {} per-query line(s) suppressed in the last second "
            "(log.debug_query_rate: {} a second per worker)",
            suppressed_, per_second_);
      window_start_ = now_ms;
      written_ = 0;
      suppressed_ = 0;
    }
    if (written_ < per_second_) {
      ++written_;
      return true;
    }
    ++suppressed_;
    return false;
  }

  uint64_t suppressed() const { return suppressed_; }
  // log.debug_query_rate after a reload (the worker's thread, between two queries).
  void set_rate(unsigned per_second) { per_second_ = per_second ? per_second : 1; }

 private:
  unsigned per_second_;
  uint64_t window_start_ = 0;
  unsigned written_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace sinkhole::upstream
