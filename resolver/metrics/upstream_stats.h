// SPDX-License-Identifier: MIT
// Per-upstream counters and answer latency of one worker: attempts sent, timeouts,
// failures (socket errors, bad replies, SERVFAIL/REFUSED) and a latency histogram of
// accepted replies. Written by the owning worker only (relaxed load+store, no locked
// instruction), read by the metrics thread, summed over workers at scrape time.
#pragma once

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
  };
  size_t n_;
  std::unique_ptr<Row[]> rows_;
};

}  // namespace sinkhole::metrics
