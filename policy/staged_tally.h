// SPDX-License-Identifier: MIT
// StagedTally: what a staged list version (sinkholectl list stage) would have blocked that
// the version serving does not — queries, and distinct clients in a HyperLogLog sketch
// (resolver/metrics/hyperloglog.h; the address is hashed with a per-tally random key and
// never stored) — counted since the version was staged. Shown by `sinkholectl list diff`.
//
// Threads: workers call record() (no lock, no allocation: a per-worker counter slot and
// relaxed register maxima); any thread reads queries()/clients(). The snapshot builder
// makes one per staged copy and hands the same object to the next snapshots for as long as
// that copy stays staged (`key`: the staged file's identity), so reloads keep the count.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "resolver/metrics/hyperloglog.h"

namespace sinkhole::policy {

class StagedTally {
 public:
  static constexpr size_t kSlots = 64;  // workers beyond share slots (still exact, atomic)

  StagedTally(std::string key, int64_t since_unix_ms);
  const std::string& key() const { return key_; }
  int64_t since_unix_ms() const { return since_ms_; }

  // Worker `worker`: one query from `client` the staged version would block.
  void record(unsigned worker, const sockaddr* client) noexcept;
  uint64_t queries() const noexcept;
  double clients() const { return hll_.estimate(); }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> n{0};
  };
  std::string key_;
  int64_t since_ms_;
  uint64_t k0_, k1_;
  std::array<Slot, kSlots> slots_;
  metrics::HyperLogLog hll_;
};

}  // namespace sinkhole::policy
