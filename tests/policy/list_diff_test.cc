// SPDX-License-Identifier: MIT
// list diff (policy/list_diff.h): added and removed names, duplicates once, the cap.
#include "policy/list_diff.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "tests/policy/temp_dir.h"

using namespace sinkhole::policy;

TEST_CASE("diff_names: added, removed, duplicates counted once, names capped") {
  const ListDiff d = diff_names({"a.example", "b.example", "b.example", "c.example"},
                                {"c.example", "d.example", "e.example", "a.example"}, 1);
  CHECK(d.added == 2);
  CHECK(d.removed == 1);
  CHECK(d.added_names == std::vector<std::string>{"d.example"});
  CHECK(d.removed_names == std::vector<std::string>{"b.example"});
  const ListDiff same = diff_names({"x.example"}, {"x.example"}, 10);
  CHECK(same.added == 0);
  CHECK(same.removed == 0);
}

TEST_CASE("block_names: a hosts file and an adblock file, exceptions left out") {
  sinkhole::test::TempDir tmp;
  const auto hosts = tmp.write("h.txt", "0.0.0.0 one.example\n0.0.0.0 two.example\n");
  const auto ab = tmp.write("a.txt", "||three.example^\n@@||four.example^\n");
  auto h = block_names(hosts, nullptr);
  std::sort(h.begin(), h.end());
  CHECK(h == std::vector<std::string>{"one.example", "two.example"});
  CHECK(block_names(ab, nullptr) == std::vector<std::string>{"three.example"});
}
