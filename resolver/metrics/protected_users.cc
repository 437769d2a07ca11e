// SPDX-License-Identifier: MIT
#include "resolver/metrics/protected_users.h"

#include <sys/random.h>

#include <cstring>
#include <limits>
#include <random>

namespace sinkhole::metrics {

namespace {

// Epoch of a bucket no rotate() has labelled yet: below every window.
constexpr int64_t kNever = std::numeric_limits<int64_t>::min();

// A ring of N buckets; epochs[i] = the slot bucket i holds (written by rotate() only).
template <size_t N>
struct Ring {
  std::array<HyperLogLog, N> buckets;
  std::array<std::atomic<int64_t>, N> epochs;

  Ring() {
    for (auto& e : epochs) e.store(kNever, std::memory_order_relaxed);
  }

  void add(int64_t slot, uint64_t h) noexcept { buckets[slot % N].add_hash(h); }

  // Clear first, then publish the epoch: whoever acquires the new epoch sees the clear.
  void reset(int64_t slot) noexcept {
    buckets[slot % N].clear();
    epochs[slot % N].store(slot, std::memory_order_release);
  }

  void rotate(int64_t slot) noexcept {
    auto& current = epochs[slot % N];
    const int64_t held = current.load(std::memory_order_relaxed);
    if (held == kNever) {
      // Fresh bucket: it holds only writes made since ensure_category(), i.e. this slot.
      current.store(slot, std::memory_order_release);
    } else if (held != slot) {
      // Stale (a missed slot or a clock jump): its content is another cycle's.
      reset(slot);
    }
    if (epochs[(slot + 1) % N].load(std::memory_order_relaxed) != slot + 1) reset(slot + 1);
  }

  // Unions the buckets of slots slot-window+1 .. slot into acc. A stale or future bucket
  // (epoch outside that range, kNever included) is skipped.
  void union_window(int64_t slot, size_t window, HyperLogLog::Registers& acc) const noexcept {
    const int64_t oldest = slot - static_cast<int64_t>(window) + 1;
    for (size_t i = 0; i < N; ++i) {
      const int64_t e = epochs[i].load(std::memory_order_acquire);
      if (e >= oldest && e <= slot) buckets[i].merge_into(acc);
    }
  }
};

}  // namespace

ProtectedUsers::HashKey ProtectedUsers::random_key() {
  ProtectedUsers::HashKey k;
  // At most 256 bytes: getrandom() returns them all once the pool is initialised.
  if (getrandom(&k, sizeof k, 0) != static_cast<ssize_t>(sizeof k)) {
    std::random_device rd;  // only where getrandom() is unavailable (seccomp, old kernel)
    k.k0 = (uint64_t{rd()} << 32) ^ rd();
    k.k1 = (uint64_t{rd()} << 32) ^ rd();
  }
  return k;
}

namespace {

uint64_t load64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// 64×64 → 128-bit multiply, halves folded: every output bit depends on every input bit.
uint64_t mum(uint64_t a, uint64_t b) noexcept {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

constexpr uint64_t kP0 = 0xa0761d6478bd642full;  // wyhash's odd constants
constexpr uint64_t kP1 = 0xe7037ed1a0b428dbull;

}  // namespace

struct ProtectedUsers::Category {
  Ring<kHourBuckets> hour;
  Ring<kDayBuckets> day;
};

ProtectedUsers::ProtectedUsers() : ProtectedUsers(random_key()) {}

ProtectedUsers::ProtectedUsers(HashKey key) : key_(key) {}

ProtectedUsers::~ProtectedUsers() {
  for (auto& c : categories_) delete c.load(std::memory_order_relaxed);
}

bool ProtectedUsers::ensure_category(uint16_t id) {
  if (id >= kMaxCategories) return false;
  // One thread at a time stores the pointers (BlockStats' lock); release publishes the
  // zeroed sketches.
  if (categories_[id].load(std::memory_order_relaxed) == nullptr) {
    categories_[id].store(new Category(), std::memory_order_release);
  }
  return true;
}

void ProtectedUsers::rotate(int64_t now_s) noexcept {
  if (now_s < 0) return;
  for (auto& slot : categories_) {
    Category* c = slot.load(std::memory_order_acquire);
    if (c == nullptr) continue;
    c->hour.rotate(now_s / kHourSlotSeconds);
    c->day.rotate(now_s / kDaySlotSeconds);
  }
}

void ProtectedUsers::record(uint16_t category, const void* addr, size_t addr_len,
                            int64_t now_s) noexcept {
  if (category >= kMaxCategories || now_s < 0) return;
  Category* c = categories_[category].load(std::memory_order_acquire);
  if (c == nullptr) return;
  const uint64_t h = hash(addr, addr_len);
  c->hour.add(now_s / kHourSlotSeconds, h);
  c->day.add(now_s / kDaySlotSeconds, h);
}

ProtectedUsers::Estimates ProtectedUsers::estimate(uint16_t category, int64_t now_s) const {
  Estimates out;
  HyperLogLog::Registers acc{};
  if (!window_registers(category, now_s, Window::kLastHour, acc)) return out;
  out.last_hour = HyperLogLog::estimate(acc);
  acc.fill(0);
  window_registers(category, now_s, Window::kLastDay, acc);
  out.last_day = HyperLogLog::estimate(acc);
  return out;
}

bool ProtectedUsers::window_registers(uint16_t category, int64_t now_s, Window window,
                                      HyperLogLog::Registers& acc) const noexcept {
  if (category >= kMaxCategories || now_s < 0) return false;
  const Category* c = categories_[category].load(std::memory_order_acquire);
  if (c == nullptr) return false;
  if (window == Window::kLastHour)
    c->hour.union_window(now_s / kHourSlotSeconds, kHourWindow, acc);
  else
    c->day.union_window(now_s / kDaySlotSeconds, kDayWindow, acc);
  return true;
}

// A wyhash-style keyed mixer (two 128-bit multiplies for an address of up to 16 bytes), not
// a PRF such as SipHash. That suffices here: no hash value ever leaves the process — only
// register maxima are kept and only the estimate is exported — so nobody can observe
// outputs to attack the key. The key is still needed so that outsiders cannot choose
// addresses that land on chosen registers and ranks (inflating the count), and the
// multiply-fold construction gives the uniform bits HyperLogLog needs
// (hyperloglog_test/protected_users_test check sequential IPv4 and IPv6 addresses).
uint64_t ProtectedUsers::hash(const void* addr, size_t len) const noexcept {
  const auto* p = static_cast<const uint8_t*>(addr);
  uint64_t seed = key_.k0;
  size_t left = len;
  for (; left > 16; left -= 16, p += 16) {
    seed = mum(load64(p) ^ key_.k1, load64(p + 8) ^ seed);
  }
  uint8_t tail[16] = {};
  if (left > 0) std::memcpy(tail, p, left);
  const unsigned __int128 r =
      static_cast<unsigned __int128>(load64(tail) ^ key_.k1) * (load64(tail + 8) ^ seed);
  return mum(static_cast<uint64_t>(r) ^ kP0 ^ len, static_cast<uint64_t>(r >> 64) ^ kP1);
}

}  // namespace sinkhole::metrics
