// SPDX-License-Identifier: MIT
#include "resolver/metrics/block_stats.h"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

namespace sm = sinkhole::metrics;

TEST_CASE("BlockStats: one stable cell per (list, category, action), summed over workers") {
  sm::BlockStats stats(4);
  auto* a = stats.cell("casinos", "gambling", "warning");
  auto* b = stats.cell("casinos", "gambling", "nxdomain");
  CHECK(a != b);
  CHECK(stats.cell("casinos", "gambling", "warning") == a);  // a reload finds the same cell
  // Names that would collide if simply concatenated stay apart.
  CHECK(stats.cell("ab", "c", "d") != stats.cell("a", "bc", "d"));
  a->inc(0);
  a->inc(3);
  a->inc(3);
  b->inc(1);
  a->inc(99);  // not a worker: ignored, not a crash
  const auto rows = stats.rows();
  REQUIRE(rows.size() == 4);
  CHECK(rows[2].list == "casinos");
  CHECK(rows[2].action == "nxdomain");  // sorted by list, category, action
  CHECK(rows[2].blocked == 1);
  CHECK(rows[3].action == "warning");
  CHECK(rows[3].blocked == 3);
}

TEST_CASE("BlockStats: workers count into their own slots concurrently, none lost") {
  sm::BlockStats stats(4);
  auto* c = stats.cell("l", "c", "a");
  std::vector<std::thread> threads;
  for (size_t w = 0; w < 4; ++w)
    threads.emplace_back([c, w] {
      for (int i = 0; i < 100000; ++i) c->inc(w);
    });
  uint64_t seen = 0;
  for (int i = 0; i < 100; ++i) seen = std::max(seen, c->total());  // a scraper reading along
  for (auto& t : threads) t.join();
  CHECK(c->total() == 400000);
  CHECK(seen <= 400000);
}
