// SPDX-License-Identifier: MIT
// HyperLogLog: the estimate for small counts (exact-ish: linear-counting range), large
// counts (within 2% at 100k and 1M, and across the range where the classic estimator has
// its bias bump), repeated hashes, merging overlapping sketches, clear(), and the same
// registers whether one thread or four add a set concurrently. Hashes come from splitmix64
// over fixed seeds, so every run sees the same registers.
#include "resolver/metrics/hyperloglog.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace {

using sinkhole::metrics::HyperLogLog;

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Distinct item i of a synthetic population (seed picks the population).
uint64_t item(uint64_t seed, uint64_t i) {
  return splitmix64(seed * 0x100000000ull + i);
}

// 16 KiB of atomics each: keep them off the test's stack.
std::unique_ptr<HyperLogLog> sketch_of(uint64_t seed, uint64_t first, uint64_t count) {
  auto s = std::make_unique<HyperLogLog>();
  for (uint64_t i = first; i < first + count; ++i) s->add_hash(item(seed, i));
  return s;
}

double relative_error(double estimate, double truth) {
  return std::fabs(estimate - truth) / truth;
}

}  // namespace

TEST_CASE("HyperLogLog is exact-ish for small counts") {
  auto s = std::make_unique<HyperLogLog>();
  CHECK(s->estimate() == 0.0);

  s->add_hash(item(1, 0));
  CHECK(s->estimate() == doctest::Approx(1.0).epsilon(0.01));

  for (uint64_t i = 1; i < 10; ++i) s->add_hash(item(1, i));
  CHECK(std::fabs(s->estimate() - 10.0) <= 1.0);

  for (uint64_t i = 10; i < 100; ++i) s->add_hash(item(1, i));
  CHECK(relative_error(s->estimate(), 100) <= 0.02);
}

TEST_CASE("HyperLogLog: adding the same hash again does not grow the estimate") {
  auto s = sketch_of(2, 0, 50);
  const double before = s->estimate();
  for (int round = 0; round < 1000; ++round) s->add_hash(item(2, round % 50));
  CHECK(s->estimate() == before);

  auto one = std::make_unique<HyperLogLog>();
  for (int round = 0; round < 1000; ++round) one->add_hash(item(3, 7));
  CHECK(one->estimate() == doctest::Approx(1.0).epsilon(0.01));
}

TEST_CASE("HyperLogLog is within 2% for large counts") {
  // Includes 20k..80k, where the classic estimator switches from linear counting.
  for (uint64_t n : {1'000ull, 10'000ull, 20'000ull, 40'000ull, 60'000ull, 80'000ull, 100'000ull,
                     1'000'000ull}) {
    CAPTURE(n);
    const auto s = sketch_of(4, 0, n);
    const double e = s->estimate();
    CAPTURE(e);
    CHECK(relative_error(e, static_cast<double>(n)) <= 0.02);
  }
}

TEST_CASE("HyperLogLog: merging overlapping sketches estimates the union") {
  // a = items 0..60k, b = items 40k..100k: 20k shared, union 100k.
  const auto a = sketch_of(5, 0, 60'000);
  const auto b = sketch_of(5, 40'000, 60'000);
  HyperLogLog::Registers acc{};
  a->merge_into(acc);
  b->merge_into(acc);
  CHECK(relative_error(HyperLogLog::estimate(acc), 100'000) <= 0.02);

  // The union of the sketches is the sketch of the union.
  const auto both = sketch_of(5, 0, 100'000);
  HyperLogLog::Registers direct{};
  both->merge_into(direct);
  CHECK(acc == direct);

  // merge_into keeps the larger register of acc.
  HyperLogLog::Registers high{};
  high.fill(60);
  a->merge_into(high);
  bool all_kept = true;
  for (uint8_t r : high) all_kept = all_kept && r == 60;
  CHECK(all_kept);
}

TEST_CASE("HyperLogLog: clear() empties the sketch") {
  auto s = sketch_of(6, 0, 10'000);
  CHECK(s->estimate() > 9'000);
  s->clear();
  CHECK(s->estimate() == 0.0);
  s->add_hash(item(6, 1));
  CHECK(s->estimate() == doctest::Approx(1.0).epsilon(0.01));
}

TEST_CASE("HyperLogLog: four threads adding to one sketch give one thread's registers") {
  constexpr uint64_t kItems = 200'000;
  const auto single = sketch_of(7, 0, kItems);
  HyperLogLog::Registers expected{};
  single->merge_into(expected);

  // Every thread adds the whole set, each from a different starting point, so threads race
  // on the same registers (compare-exchange retries), not just on disjoint ones. A reader
  // scrapes meanwhile, as the metrics thread would.
  auto shared = std::make_unique<HyperLogLog>();
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&shared, t] {
      for (uint64_t k = 0; k < kItems; ++k)
        shared->add_hash(item(7, (k + t * kItems / 4) % kItems));
    });
  }
  double scraped = 0;
  std::thread reader([&shared, &scraped] {
    for (int i = 0; i < 20; ++i) scraped = shared->estimate();
  });
  for (auto& th : threads) th.join();
  reader.join();
  CHECK(scraped >= 0.0);

  HyperLogLog::Registers got{};
  shared->merge_into(got);
  CHECK(got == expected);
}
