// SPDX-License-Identifier: MIT
// HyperLogLog: a fixed-size sketch that estimates how many distinct 64-bit hashes were
// added, without keeping any of them. Precision p = 14: 16384 one-byte registers (16 KiB),
// standard error 1.04 / sqrt(16384) ≈ 0.81%.
//
// Threads: add_hash() may be called by any number of threads on the same sketch at once,
// and merge_into()/estimate() by a reader meanwhile; clear() by one thread (it races only
// with writers the caller has arranged not to exist, see protected_users.h). Every register
// is a std::atomic<uint8_t> and every access is relaxed: a register only ever grows between
// clears, and max is commutative, so the order in which threads land their maxima does not
// change the result. add_hash() does a plain load and stores (compare-exchange) only when
// the new rank is larger; after warm-up that is rare, so shared sketches do not bounce
// cache lines between cores.
//
// Glossary
//   index   the top p bits of the hash: which register.
//   rank    1 + the number of leading zeros of the remaining 64 - p bits (1..51).
//   register  the largest rank seen for its index (0 = none yet).
//
// Estimator: Ertl's "improved" estimator (O. Ertl, "New cardinality estimation algorithms
// for HyperLogLog sketches", 2017; Redis uses it since 5.0). It works from the histogram of
// register values, reduces to linear counting for small counts (0 → 0, 1 → 1.00) and has no
// bias bump where the classic estimator switches from linear counting to the raw estimate
// (around 2.5·m, i.e. 40k here) — so no HLL++ thresholds or empirical bias tables.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace sinkhole::metrics {

class HyperLogLog {
 public:
  static constexpr int kPrecision = 14;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;
  // Standard error of estimate(): 1.04 / sqrt(kRegisters) = 1.04 / 128.
  static constexpr double kRelativeError = 1.04 / 128.0;
  static_assert(kRegisters == 128 * 128, "kRelativeError assumes p = 14");

  using Registers = std::array<uint8_t, kRegisters>;

  // `h` must be a well-mixed 64-bit hash: the index and the rank both come from its bits.
  void add_hash(uint64_t h) noexcept {
    const size_t index = static_cast<size_t>(h >> (64 - kPrecision));
    // The guard bit caps the rank at 64 - p + 1 when the low bits are all zero.
    const uint64_t rest = (h << kPrecision) | (uint64_t{1} << (kPrecision - 1));
    const auto rank = static_cast<uint8_t>(std::countl_zero(rest) + 1);
    auto& reg = regs_[index];
    uint8_t cur = reg.load(std::memory_order_relaxed);
    while (rank > cur && !reg.compare_exchange_weak(cur, rank, std::memory_order_relaxed,
                                                    std::memory_order_relaxed)) {
    }
  }

  // acc[i] = max(acc[i], register i): unions this sketch into `acc` (windows, merges).
  void merge_into(Registers& acc) const noexcept;
  void clear() noexcept;

  double estimate() const;
  static double estimate(const Registers& regs);

 private:
  std::array<std::atomic<uint8_t>, kRegisters> regs_{};
};

static_assert(sizeof(std::atomic<uint8_t>) == 1 && std::atomic<uint8_t>::is_always_lock_free,
              "registers are one lock-free byte each");

}  // namespace sinkhole::metrics
