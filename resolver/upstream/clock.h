// SPDX-License-Identifier: MIT
// Clock: every time the query path reads, behind one seam so that tests replay time
// (tests/resolver/pipeline drives deadlines, TTLs and stale windows with a fake clock).
// LoopClock is the real one: monotonic time is the worker loop's own (uv_now, read once per
// loop turn, so a batch of queries costs no clock reads). Worker thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <ctime>

namespace sinkhole::upstream {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds: upstream deadlines, cache insert and expiry times. Every
  // worker's clock shares one base (the cache is shared between workers).
  virtual uint64_t now_ms() const = 0;
  // Monotonic nanoseconds, for latency measurements.
  virtual uint64_t now_ns() const = 0;
  // Wall-clock seconds since the epoch (protected-user windows).
  virtual int64_t unix_seconds() const = 0;
  // Wall-clock nanoseconds since the epoch (dnstap query and response times).
  virtual uint64_t wall_ns() const = 0;
};

class LoopClock final : public Clock {
 public:
  explicit LoopClock(uv_loop_t* loop) : loop_(loop) {}
  uint64_t now_ms() const override { return uv_now(loop_); }
  uint64_t now_ns() const override { return uv_hrtime(); }
  int64_t unix_seconds() const override { return static_cast<int64_t>(std::time(nullptr)); }
  uint64_t wall_ns() const override {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
  }

 private:
  uv_loop_t* loop_;
};

}  // namespace sinkhole::upstream
