// SPDX-License-Identifier: MIT
#include "policy/staged_tally.h"

#include <netinet/in.h>

#include <cstring>
#include <random>

namespace sinkhole::policy {

namespace {

uint64_t mix(uint64_t a, uint64_t b) noexcept {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

}  // namespace

StagedTally::StagedTally(std::string key, int64_t since_unix_ms)
    : key_(std::move(key)), since_ms_(since_unix_ms) {
  std::random_device rd;
  k0_ = (uint64_t{rd()} << 32) ^ rd();
  k1_ = (uint64_t{rd()} << 32) ^ rd() ^ 0xe7037ed1a0b428dbull;
}

void StagedTally::record(unsigned worker, const sockaddr* client) noexcept {
  // A worker's own cache line (workers past kSlots share one): never contended in
  // practice, and exact either way.
  slots_[worker % kSlots].n.fetch_add(1, std::memory_order_relaxed);
  if (!client) return;
  uint64_t a = 0, b = 0;
  if (client->sa_family == AF_INET) {
    uint32_t v4;
    std::memcpy(&v4, &reinterpret_cast<const sockaddr_in*>(client)->sin_addr, 4);
    a = v4;
  } else if (client->sa_family == AF_INET6) {
    const auto* p = reinterpret_cast<const sockaddr_in6*>(client)->sin6_addr.s6_addr;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    b ^= 0x9e3779b97f4a7c15ull;  // v4 and v6 addresses never share a hash input
  }
  hll_.add_hash(mix(mix(a ^ k0_, b ^ k1_) ^ 0xa0761d6478bd642full, k1_ ^ a));
}

uint64_t StagedTally::queries() const noexcept {
  uint64_t t = 0;
  for (const auto& s : slots_) t += s.n.load(std::memory_order_relaxed);
  return t;
}

}  // namespace sinkhole::policy
