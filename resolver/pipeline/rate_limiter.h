// SPDX-License-Identifier: MIT
// RateLimiter: response rate limiting per client prefix (the idea of BIND's and Knot's RRL,
// written here from the idea): a token bucket per /24 (IPv4) or /56 (IPv6) client prefix.
// A UDP response spends a token; with none left it is dropped, except every `slip`-th
// limited one, which goes out as TC=1 so that a real client behind the prefix retries over
// TCP (which is never limited), while a spoofed victim receives almost nothing: a
// reflection flood is cut to the configured rate. Exempt prefixes are never limited.
//
// One limiter per worker, no lock. The configured rate is for the whole server: each
// worker gets rate/N and burst/N (N workers), because SO_REUSEPORT spreads one client's
// queries over the workers by source port, so a flood from random ports reaches every
// worker, while a client that keeps one port sees 1/N of the rate.
//
// Layout: `table_size` buckets (a power of two), 24 bytes each, allocated once. A prefix is
// hashed with a per-process random key (so a remote sender cannot aim collisions at a
// victim's bucket) and looked for in 4 consecutive slots; a prefix not there takes an empty
// slot or the one idle longest, starting full. Memory is bounded whatever the number of
// sources; a flood of many prefixes only recycles buckets, which start full, so the worst
// it does is let some limited prefix spend another burst.
//
// Tokens are integers: a response costs 1000 × N units, a bucket gains `rate` units per ms
// and holds at most 1000 × burst: exactly rate/N per second and burst/N per worker.
// Worker thread only; check() allocates nothing.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>

#include "policy/client_groups.h"
#include "resolver/config/access_config.h"

namespace sinkhole::pipeline {

class RateLimiter {
 public:
  enum class Outcome : uint8_t { kPass, kDrop, kSlip };

  RateLimiter() = default;  // off
  // `workers` shares the configured rate between this many limiters; `key` seeds the
  // prefix hash (random in the server, fixed in tests).
  RateLimiter(const config::RateLimitConfig& cfg, unsigned workers, uint64_t key0, uint64_t key1);
  // New settings (a reload, or the worker count), keeping the key and the buckets: a
  // prefix being limited stays limited. The table is allocated the first time the limit is
  // on and kept (its size, rate_limit.table_size, needs a restart to change); turning the
  // limit off only stops the checks.
  void reconfigure(const config::RateLimitConfig& cfg, unsigned workers);

  bool enabled() const { return on_; }
  // The outcome of one UDP response to `client` at monotonic time `now_ms`.
  Outcome check(const sockaddr* client, uint64_t now_ms) noexcept;

  size_t memory_bytes() const { return (mask_ + 1) * sizeof(Bucket); }

 private:
  struct Bucket {
    uint64_t key = 0;  // 0: empty
    uint64_t tokens = 0;
    uint32_t last_ms = 0;  // low 32 bits of the monotonic ms of the last refill
    uint32_t limited = 0;  // responses limited so far (for slip)
  };
  static constexpr unsigned kProbe = 4;

  uint64_t prefix_key(const sockaddr* client) const noexcept;
  Bucket& find(uint64_t key, uint32_t now) noexcept;

  std::unique_ptr<Bucket[]> table_;
  bool on_ = false;
  size_t mask_ = 0;
  uint64_t rate_ = 0;      // units per ms
  uint64_t capacity_ = 0;  // units
  uint64_t cost_ = 0;      // units per response
  uint32_t slip_ = 0;
  uint32_t v4_mask_ = 0;
  uint64_t v6_mask_hi_ = 0;
  uint64_t v6_mask_lo_ = 0;
  uint64_t key0_ = 0;
  uint64_t key1_ = 0;
  policy::ClientGroups exempt_;
};

}  // namespace sinkhole::pipeline
