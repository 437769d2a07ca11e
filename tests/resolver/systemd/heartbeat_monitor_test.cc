// SPDX-License-Identifier: MIT
// HeartbeatMonitor: the watchdog's "is every worker loop alive?" decision, as a table of
// successive heartbeat readings and the workers each check must call stalled.
#include "resolver/systemd/heartbeat_monitor.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace {

using sinkhole::systemd::HeartbeatMonitor;

struct Step {
  std::vector<uint64_t> beats;
  std::vector<size_t> stalled;
};

void run(const char* name, const std::vector<Step>& steps) {
  HeartbeatMonitor m;
  for (size_t i = 0; i < steps.size(); ++i) {
    INFO(name, ", check ", i);
    CHECK(m.stalled(steps[i].beats) == steps[i].stalled);
  }
}

}  // namespace

TEST_CASE("every worker must beat between two checks") {
  run("all alive", {{{1, 1}, {}}, {{2, 5}, {}}, {{3, 9}, {}}});
  run("no beat yet at the first check", {{{0, 3}, {0}}, {{1, 4}, {}}});
  run("one worker hangs, then recovers",
      {{{1, 1, 1}, {}}, {{2, 1, 2}, {1}}, {{3, 1, 3}, {1}}, {{4, 2, 4}, {}}});
  run("all hang", {{{4, 4}, {}}, {{4, 4}, {0, 1}}});
  run("a worker that beat many times counts once", {{{1}, {}}, {{1000}, {}}});
  run("one worker", {{{5}, {}}, {{5}, {0}}, {{6}, {}}});
}

TEST_CASE("a counter that wrapped around has moved") {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  run("wrap", {{{max}, {}}, {{0}, {}}, {{0}, {0}}});
}

TEST_CASE("a changed number of workers gives nothing to compare with") {
  run("grew", {{{1}, {}}, {{2, 1}, {0, 1}}, {{3, 2}, {}}});
  run("shrank", {{{1, 1}, {}}, {{2}, {0}}, {{3}, {}}});
}

TEST_CASE("no workers: nothing is stalled") {
  run("empty", {{{}, {}}, {{}, {}}});
}
