// SPDX-License-Identifier: MIT
#include "resolver/metrics/hyperloglog.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sinkhole::metrics {

namespace {

constexpr int kMaxRank = 64 - HyperLogLog::kPrecision + 1;  // 51, from the guard bit
// alpha_inf = 1 / (2 ln 2), the constant of the improved estimator for any m.
constexpr double kAlphaInf = 0.721347520444481703680;

// sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1): corrects for the registers still at 0.
double sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0;
  double z = x;
  double prev;
  do {
    x *= x;
    prev = z;
    z += x * y;
    y += y;
  } while (z != prev);
  return z;
}

// tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3: corrects for saturated registers.
double tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  double prev;
  do {
    x = std::sqrt(x);
    prev = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
  } while (z != prev);
  return z / 3.0;
}

}  // namespace

void HyperLogLog::merge_into(Registers& acc) const noexcept {
  for (size_t i = 0; i < kRegisters; ++i) {
    acc[i] = std::max(acc[i], regs_[i].load(std::memory_order_relaxed));
  }
}

void HyperLogLog::clear() noexcept {
  for (auto& r : regs_) r.store(0, std::memory_order_relaxed);
}

double HyperLogLog::estimate() const {
  Registers copy{};
  merge_into(copy);
  return estimate(copy);
}

double HyperLogLog::estimate(const Registers& regs) {
  std::array<uint32_t, kMaxRank + 1> hist{};  // hist[k] = registers holding k
  for (uint8_t r : regs) ++hist[std::min<int>(r, kMaxRank)];
  constexpr double m = kRegisters;
  double z = m * tau((m - hist[kMaxRank]) / m);
  for (int k = kMaxRank - 1; k >= 1; --k) z = 0.5 * (z + hist[k]);
  z += m * sigma(hist[0] / m);
  return kAlphaInf * m * m / z;  // all registers 0: z = inf, estimate 0
}

}  // namespace sinkhole::metrics
