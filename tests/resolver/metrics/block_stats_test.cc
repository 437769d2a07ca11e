// SPDX-License-Identifier: MIT
#include "resolver/metrics/block_stats.h"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

namespace sm = sinkhole::metrics;

TEST_CASE("BlockStats: one stable cell per (policy, list, category, action), summed") {
  sm::BlockStats stats(4);
  auto* a = stats.cell("subscribers", "casinos", "gambling", "warning");
  auto* b = stats.cell("subscribers", "casinos", "gambling", "nxdomain");
  auto* staff = stats.cell("staff", "casinos", "gambling", "warning");
  CHECK(a != b);
  CHECK(a != staff);  // the policy is a label of its own
  CHECK(stats.cell("subscribers", "casinos", "gambling", "warning") == a);  // a reload finds it
  // Names that would collide if simply concatenated stay apart.
  CHECK(stats.cell("p", "ab", "c", "d") != stats.cell("p", "a", "bc", "d"));
  CHECK(stats.cell("pa", "b", "c", "d") != stats.cell("p", "ab", "c", "d"));
  a->inc(0);
  a->inc(3);
  a->inc(3);
  b->inc(1);
  staff->inc(2);
  a->inc(99);  // not a worker: ignored, not a crash
  const auto rows = stats.rows();
  REQUIRE(rows.size() == 6);
  CHECK(rows[0].list == "a");  // sorted by policy, list, category, action
  CHECK(rows[2].policy == "pa");
  CHECK(rows[3].policy == "staff");
  CHECK(rows[3].count == 1);
  CHECK(rows[4].policy == "subscribers");
  CHECK(rows[4].action == "nxdomain");
  CHECK(rows[4].count == 1);
  CHECK(rows[5].action == "warning");
  CHECK(rows[5].count == 3);
  CHECK(stats.monitored_rows().empty());
}

TEST_CASE("BlockStats: monitored cells are a table of their own") {
  sm::BlockStats stats(2);
  auto* blocked = stats.cell("p", "trial", "test", "passthru");
  auto* monitored = stats.monitor_cell("p", "trial", "test", "passthru");
  CHECK(blocked != monitored);
  CHECK(stats.monitor_cell("p", "trial", "test", "passthru") == monitored);
  monitored->inc(1);
  monitored->inc(0);
  const auto rows = stats.monitored_rows();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].policy == "p");
  CHECK(rows[0].list == "trial");
  CHECK(rows[0].count == 2);
  REQUIRE(stats.rows().size() == 1);
  CHECK(stats.rows()[0].count == 0);
}

TEST_CASE("BlockStats: workers count into their own slots concurrently, none lost") {
  sm::BlockStats stats(4);
  auto* c = stats.cell("p", "l", "c", "a");
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
