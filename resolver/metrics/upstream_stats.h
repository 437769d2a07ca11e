// SPDX-License-Identifier: MIT
// Per-upstream counters and answer latency of one worker: attempts sent, timeouts,
// failures (socket errors, bad replies, SERVFAIL/REFUSED) and a latency histogram of
// accepted replies; and what the upstream health view (observe/upstream_monitor.h) needs:
// failures since the last answer, when it last answered and failed (loop time: monotonic
// ms, the base every worker shares), the last error and a smoothed RTT. Written by the
// owning worker only (relaxed load+store, no locked instruction), read by the metrics and
// control threads, summed or merged over workers when read.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace sinkhole::metrics {

// Upper bounds of the latency buckets, in seconds (Prometheus `le`); +Inf is implicit.
// From a loopback answer (~0.1 ms) to the 2 s deadline.
inline constexpr std::array<double, 12> kLatencyBounds{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                       0.05,   0.1,   0.2,   0.5,   1.0,  2.0};

class UpstreamStats {
 public:
  enum Field : size_t { kQueries, kTimeouts, kFailures, kAnswers, kFieldCount };
  // Why an attempt failed (the last one is shown by `sinkholectl upstreams`).
  enum class Error : uint8_t { kNone, kTimeout, kSocket, kRcode, kBadReply };

  explicit UpstreamStats(size_t upstreams) : n_(upstreams), rows_(new Row[upstreams]) {}

  void inc(size_t upstream, Field f) noexcept {
    if (upstream < n_) bump(rows_[upstream].fields[f], 1);
  }
  void observe(size_t upstream, uint64_t latency_ns) noexcept {
    if (upstream >= n_) return;
    Row& r = rows_[upstream];
    const double s = static_cast<double>(latency_ns) * 1e-9;
    size_t b = 0;
    while (b < kLatencyBounds.size() && s > kLatencyBounds[b]) ++b;
    bump(r.buckets[b], 1);  // per bucket here; cumulative at render time
    bump(r.sum_ns, latency_ns);
    bump(r.fields[kAnswers], 1);
  }

  // The upstream answered (any usable reply, TC=1 included): failures since the last
  // answer start again from 0; the smoothed RTT moves by 1/8 of the difference (RFC 6298).
  void note_answer(size_t upstream, uint64_t now_ms, uint64_t rtt_us) noexcept {
    if (upstream >= n_) return;
    Row& r = rows_[upstream];
    r.failures_since_answer.store(0, std::memory_order_relaxed);
    r.last_answer_ms.store(now_ms, std::memory_order_relaxed);
    const uint64_t srtt = r.srtt_us.load(std::memory_order_relaxed);
    r.srtt_us.store(srtt == 0 ? std::max<uint64_t>(rtt_us, 1) : (7 * srtt + rtt_us) / 8,
                    std::memory_order_relaxed);
  }
  void note_failure(size_t upstream, uint64_t now_ms, Error e) noexcept {
    if (upstream >= n_) return;
    Row& r = rows_[upstream];
    bump(r.failures_since_answer, 1);
    r.last_failure_ms.store(now_ms, std::memory_order_relaxed);
    r.last_error.store(static_cast<uint8_t>(e), std::memory_order_relaxed);
  }
  uint64_t failures_since_answer(size_t u) const noexcept {
    return rows_[u].failures_since_answer.load(std::memory_order_relaxed);
  }
  uint64_t last_answer_ms(size_t u) const noexcept {
    return rows_[u].last_answer_ms.load(std::memory_order_relaxed);
  }
  uint64_t last_failure_ms(size_t u) const noexcept {
    return rows_[u].last_failure_ms.load(std::memory_order_relaxed);
  }
  Error last_error(size_t u) const noexcept {
    return static_cast<Error>(rows_[u].last_error.load(std::memory_order_relaxed));
  }
  uint64_t srtt_us(size_t u) const noexcept {
    return rows_[u].srtt_us.load(std::memory_order_relaxed);
  }

  // The upstream this worker asks first (the pool's sticky choice), for the failover line.
  void set_preferred(size_t upstream) noexcept {
    preferred_.store(upstream, std::memory_order_relaxed);
  }
  size_t preferred() const noexcept { return preferred_.load(std::memory_order_relaxed); }

  size_t size() const { return n_; }
  uint64_t get(size_t upstream, Field f) const noexcept {
    return rows_[upstream].fields[f].load(std::memory_order_relaxed);
  }
  // Count in bucket b (not cumulative); b == kLatencyBounds.size() is +Inf.
  uint64_t bucket(size_t upstream, size_t b) const noexcept {
    return rows_[upstream].buckets[b].load(std::memory_order_relaxed);
  }
  uint64_t sum_ns(size_t upstream) const noexcept {
    return rows_[upstream].sum_ns.load(std::memory_order_relaxed);
  }

 private:
  static void bump(std::atomic<uint64_t>& v, uint64_t by) noexcept {
    v.store(v.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  struct alignas(64) Row {
    std::array<std::atomic<uint64_t>, kFieldCount> fields{};
    std::array<std::atomic<uint64_t>, kLatencyBounds.size() + 1> buckets{};
    std::atomic<uint64_t> sum_ns{0};
    std::atomic<uint64_t> failures_since_answer{0};
    std::atomic<uint64_t> last_answer_ms{0};  // 0: never
    std::atomic<uint64_t> last_failure_ms{0};
    std::atomic<uint64_t> srtt_us{0};  // 0: no answer yet
    std::atomic<uint8_t> last_error{0};
  };
  size_t n_;
  std::unique_ptr<Row[]> rows_;
  std::atomic<size_t> preferred_{0};
};

}  // namespace sinkhole::metrics
