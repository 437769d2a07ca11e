// SPDX-License-Identifier: MIT
// ProtectedUsers (resolver/metrics/protected_users): the cost a blocked query pays to be
// counted, and the cost of one scrape. Measured:
//   - record() of a new client each time (IPv4, IPv6): keyed hash + two sketch adds; after
//     warm-up most adds find the register already large enough and do not write;
//   - record() of 1,024 repeated IPv6 clients (the common case: a subscriber's devices);
//   - the same with 2 threads on the one shared instance (the design choice of the header:
//     shared sketches, not per worker);
//   - estimate() of one category whose 13 + 25 buckets are all filled (36 sketch unions
//     of 16 KiB and two estimator runs).
// Run: build/perf/protected_users_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>

#include "resolver/metrics/protected_users.h"

namespace sm = sinkhole::metrics;

namespace {

constexpr sm::ProtectedUsers::HashKey kKey{0x0123456789abcdefull, 0x5eed5eed5eed5eedull};
constexpr int64_t kT0 = 1'700'002'800;  // a whole hour
constexpr uint16_t kCategory = 7;

std::array<uint8_t, 4> ipv4(uint32_t i) {
  return {static_cast<uint8_t>(i >> 24), static_cast<uint8_t>(i >> 16),
          static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
}

std::array<uint8_t, 16> ipv6(uint64_t i) {
  std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};  // 2001:db8::i
  for (int b = 15; b >= 8; --b, i >>= 8) a[b] = static_cast<uint8_t>(i);
  return a;
}

// One instance for every benchmark and thread, as in the daemon.
sm::ProtectedUsers& shared() {
  static sm::ProtectedUsers* pu = [] {
    auto* p = new sm::ProtectedUsers(kKey);
    p->ensure_category(kCategory);
    p->rotate(kT0);
    return p;
  }();
  return *pu;
}

void BM_RecordNewV4(benchmark::State& state) {
  auto& pu = shared();
  uint32_t i = 0x0a000000u + static_cast<uint32_t>(state.thread_index()) * 0x01000000u;
  for (auto _ : state) {
    const auto a = ipv4(i++);
    pu.record(kCategory, a.data(), a.size(), kT0);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordNewV4)->Threads(1)->Threads(2);

void BM_RecordNewV6(benchmark::State& state) {
  auto& pu = shared();
  uint64_t i = static_cast<uint64_t>(state.thread_index()) << 40;
  for (auto _ : state) {
    const auto a = ipv6(i++);
    pu.record(kCategory, a.data(), a.size(), kT0);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordNewV6)->Threads(1)->Threads(2);

void BM_RecordRepeatedV6(benchmark::State& state) {
  auto& pu = shared();
  std::array<std::array<uint8_t, 16>, 1024> clients;
  for (size_t k = 0; k < clients.size(); ++k) clients[k] = ipv6(0xc0ffee00 + k);
  size_t k = 0;
  for (auto _ : state) {
    const auto& a = clients[k++ & (clients.size() - 1)];
    pu.record(kCategory, a.data(), a.size(), kT0);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordRepeatedV6)->Threads(1)->Threads(2);

void BM_Estimate(benchmark::State& state) {
  // Its own instance: 25 hours of traffic, 2,000 clients per 5-minute slot, rotated as the
  // control thread would, so every bucket of both rings holds data.
  static sm::ProtectedUsers* pu = [] {
    auto* p = new sm::ProtectedUsers(kKey);
    p->ensure_category(kCategory);
    uint64_t client = 0;
    for (int64_t t = kT0; t <= kT0 + 25 * 3600; t += 300) {
      p->rotate(t);
      for (int n = 0; n < 2000; ++n) {
        const auto a = ipv6(client++ % 150'000);
        p->record(kCategory, a.data(), a.size(), t);
      }
    }
    return p;
  }();
  const int64_t now = kT0 + 25 * 3600;
  for (auto _ : state) {
    auto e = pu->estimate(kCategory, now);
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_Estimate)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
