// SPDX-License-Identifier: MIT
// ProtectedUsers: how many distinct clients the blocking protected, per category, over the
// last hour and the last day — the figure ISPs report — without storing any client address.
// Each blocked query's client address is hashed with a per-process secret key and only the
// hash's HyperLogLog rank is kept (hyperloglog.h); the address itself is never stored.
//
// Threads and ownership: one instance for the daemon, inside BlockStats. Worker threads
// call record() (no lock, no allocation). The snapshot builder (start-up or reload thread,
// through BlockStats::category_id, under its lock) calls ensure_category() for each category
// before any worker can record into it; the control thread calls rotate() every few seconds.
// Any thread may call estimate() (the metrics scrape).
//
// Why one set of sketches shared by all workers, not one per worker merged at scrape:
// memory stays 608 KiB per category whatever the number of cores (per-worker sketches
// would be 608 KiB × workers × categories), and sharing costs almost nothing — a register
// is written only when a hash beats its rank, which after warm-up is rare, so the hot path
// is one relaxed byte load per ring and cache lines stay shared-clean across cores.
// (Per-worker counters, worker_counters.h, are written on every query; sketches are not.)
//
// Glossary
//   slot    a numbered time interval: now_s / 300 (5-minute slots) or now_s / 3600 (hours).
//   bucket  one sketch of a ring; holds the clients of one slot, and knows which (`epoch`).
//   ring    kHourBuckets 5-minute buckets (window 12 + 1 spare) or kDayBuckets 1-hour
//           buckets (24 + 1 spare); slot s writes bucket s % ring size.
//   window  last_hour = union of the buckets of slots s-11..s (the current one partial, so
//           between 55 and 60 minutes); last_day = hour slots s-23..s (23 to 24 hours).
//
// Layout (per category, allocated by ensure_category(), freed with the object):
//   hour ring   13 × HyperLogLog (16 KiB) + 13 epochs
//   day ring    25 × HyperLogLog (16 KiB) + 25 epochs
//   = 38 sketches ≈ 608 KiB; at most kMaxCategories = 64 categories ≈ 38 MiB.
//
// Rotation. Workers never clear. rotate(now) clears the *next* bucket (slot s+1) once per
// cycle and sets its epoch to s+1 after clearing (release). Its previous content is slot
// s-12 (s-24 for days), already outside the window, so this happens as soon as slot s
// begins and normally minutes before any worker writes slot s+1. estimate() counts only
// buckets whose epoch is in the window, so a bucket not rotated for longer than the ring
// covers (a stalled control thread, a clock jump) is never counted as current.
//
// Accepted inaccuracies (all small, none over-count):
//   - a worker whose clock is already in slot s+1 while rotate() (still in slot s, e.g.
//     run late in the slot) clears bucket s+1 may have its write wiped: a client seen only
//     in those microseconds, and not again in the window, is missed;
//   - if rotate() missed a whole slot, it finds the current bucket stale and clears it,
//     dropping the writes made since that slot began;
//   - estimate() called with a now_s one slot behind rotate()'s may union the oldest
//     bucket while it is being cleared (under-counts that one scrape).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "resolver/metrics/hyperloglog.h"

namespace sinkhole::metrics {

class ProtectedUsers {
 public:
  static constexpr size_t kMaxCategories = 64;
  static constexpr int64_t kHourSlotSeconds = 300;
  static constexpr size_t kHourWindow = 12;
  static constexpr size_t kHourBuckets = kHourWindow + 1;
  static constexpr int64_t kDaySlotSeconds = 3600;
  static constexpr size_t kDayWindow = 24;
  static constexpr size_t kDayBuckets = kDayWindow + 1;
  static constexpr size_t kBytesPerCategory =
      (kHourBuckets + kDayBuckets) * HyperLogLog::kRegisters;
  static constexpr double kRelativeError = HyperLogLog::kRelativeError;
  // Help text of the exported metric: the error bound is part of what is reported.
  static constexpr const char* kHelp =
      "Distinct client addresses with at least one blocked query, per category, over the "
      "last hour and day; ≈0.8% standard error (HyperLogLog p=14); addresses are never "
      "stored";

  // 128-bit key of the address hash. Drawn from getrandom() by default; tests and
  // benchmarks pass a fixed one to be reproducible.
  struct HashKey {
    uint64_t k0 = 0;
    uint64_t k1 = 0;
  };

  struct Estimates {
    double last_hour = 0;
    double last_day = 0;
  };

  enum class Window : uint8_t { kLastHour, kLastDay };

  // getrandom()'s 128 bits: the key of a process without protected_users.key_file.
  static HashKey random_key();

  ProtectedUsers();
  explicit ProtectedUsers(HashKey key);
  ~ProtectedUsers();
  ProtectedUsers(const ProtectedUsers&) = delete;
  ProtectedUsers& operator=(const ProtectedUsers&) = delete;

  // One thread at a time (BlockStats::category_id). Allocates the category's sketches if
  // not yet done; false if id >= kMaxCategories (the caller reports it; records into it are
  // ignored).
  bool ensure_category(uint16_t id);
  // Control thread, every few seconds, with the same clock as record().
  void rotate(int64_t now_s) noexcept;

  // Worker threads, on a blocked query: `addr` is the client address bytes (4 or 16).
  // Ignored if the category was never ensured or now_s < 0.
  void record(uint16_t category, const void* addr, size_t addr_len, int64_t now_s) noexcept;

  // Any thread. Zero for a category never ensured.
  Estimates estimate(uint16_t category, int64_t now_s) const;
  // Any thread: unions the window's buckets into `acc` (register-wise max) — the sketch
  // estimate() counts, which a fleet merges with other nodes' (sketch_merge.h). Relaxed
  // loads, no lock: a register may grow while it is read (never a torn value). False for a
  // category never ensured (acc untouched).
  bool window_registers(uint16_t category, int64_t now_s, Window window,
                        HyperLogLog::Registers& acc) const noexcept;
  // The key the addresses are hashed with (its fingerprint is exported, hash_key.h).
  const HashKey& key() const { return key_; }

 private:
  struct Category;

  uint64_t hash(const void* addr, size_t len) const noexcept;

  HashKey key_;
  std::array<std::atomic<Category*>, kMaxCategories> categories_{};
};

}  // namespace sinkhole::metrics
