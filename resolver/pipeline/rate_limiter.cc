// SPDX-License-Identifier: MIT
#include "resolver/pipeline/rate_limiter.h"

#include <netinet/in.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace sinkhole::pipeline {

namespace {

// One multiply-fold round (the mixing step of wyhash): fast, and with a secret key an
// outsider cannot choose addresses that collide.
uint64_t mix(uint64_t a, uint64_t b) {
  const unsigned __int128 m = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(m) ^ static_cast<uint64_t>(m >> 64);
}

uint64_t load_be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

uint64_t high_mask(unsigned bits) {  // the top `bits` of 64 set
  return bits == 0 ? 0 : bits >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - bits);
}

}  // namespace

RateLimiter::RateLimiter(const config::RateLimitConfig& cfg, unsigned workers, uint64_t key0,
                         uint64_t key1)
    : key0_(key0 | 1), key1_(key1 | 1) {
  reconfigure(cfg, workers);
}

void RateLimiter::reconfigure(const config::RateLimitConfig& cfg, unsigned workers) {
  on_ = cfg.enabled();
  if (!on_) return;
  workers = std::max(workers, 1u);
  if (!table_) {
    const size_t size = std::bit_ceil(std::max<size_t>(cfg.table_size, kProbe));
    table_ = std::make_unique<Bucket[]>(size);
    mask_ = size - 1;
  }
  const uint64_t burst = cfg.burst ? cfg.burst : cfg.responses_per_second;
  rate_ = cfg.responses_per_second;
  capacity_ = 1000 * burst;
  cost_ = 1000 * uint64_t{workers};
  // A per-worker burst below one response would limit everything.
  capacity_ = std::max(capacity_, cost_);
  slip_ = cfg.slip;
  v4_mask_ = static_cast<uint32_t>(high_mask(32u + cfg.ipv4_prefix) & 0xFFFFFFFFu);
  v6_mask_hi_ = high_mask(cfg.ipv6_prefix);
  v6_mask_lo_ = high_mask(cfg.ipv6_prefix > 64 ? cfg.ipv6_prefix - 64u : 0u);
  policy::ClientGroups::Builder b;
  for (const auto& c : cfg.exempt) b.add(c, 0, nullptr);
  exempt_ = b.build();
}

uint64_t RateLimiter::prefix_key(const sockaddr* sa) const noexcept {
  uint64_t hi = 0;
  uint64_t lo = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    hi = (ntohl(in->sin_addr.s_addr) & v4_mask_) | (uint64_t{4} << 32);
  } else {
    const uint8_t* a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr.s6_addr;
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(a, kMapped, 12) == 0) {
      // An IPv4 client on a dual-stack socket: its /24, as on an IPv4 socket.
      const uint32_t v4 = static_cast<uint32_t>(a[12]) << 24 | a[13] << 16 | a[14] << 8 | a[15];
      hi = (v4 & v4_mask_) | (uint64_t{4} << 32);
    } else {
      hi = load_be64(a) & v6_mask_hi_;
      lo = (load_be64(a + 8) & v6_mask_lo_) ^ 6;
    }
  }
  return mix(hi ^ key0_, mix(lo ^ key1_, key0_ ^ 0x9E3779B97F4A7C15ull)) | 1;
}

RateLimiter::Bucket& RateLimiter::find(uint64_t key, uint32_t now) noexcept {
  const size_t start = static_cast<size_t>(key >> 7) & mask_;
  Bucket* victim = nullptr;
  uint32_t victim_idle = 0;
  for (unsigned i = 0; i < kProbe; ++i) {
    Bucket& b = table_[(start + i) & mask_];
    if (b.key == key) return b;
    const uint32_t idle = b.key == 0 ? UINT32_MAX : now - b.last_ms;
    if (!victim || idle > victim_idle) {
      victim = &b;
      victim_idle = idle;
    }
  }
  *victim = Bucket{key, capacity_, now, 0};
  return *victim;
}

RateLimiter::Outcome RateLimiter::check(const sockaddr* client, uint64_t now_ms) noexcept {
  if (!on_) return Outcome::kPass;
  if (exempt_.lookup(client) != policy::ClientGroups::kNoGroup) return Outcome::kPass;
  const auto now = static_cast<uint32_t>(now_ms);
  Bucket& b = find(prefix_key(client), now);
  const uint32_t elapsed = now - b.last_ms;
  b.last_ms = now;
  b.tokens = std::min(capacity_, b.tokens + uint64_t{elapsed} * rate_);
  if (b.tokens >= cost_) {
    b.tokens -= cost_;
    return Outcome::kPass;
  }
  ++b.limited;
  return slip_ != 0 && b.limited % slip_ == 0 ? Outcome::kSlip : Outcome::kDrop;
}

}  // namespace sinkhole::pipeline
