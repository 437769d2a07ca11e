// SPDX-License-Identifier: MIT
// The per-query debug lines' gate: off above debug (the level is read each time, so a live
// level change applies), at most N lines a second at debug, the rest counted.
#include "resolver/upstream/debug_log.h"

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

using sinkhole::upstream::DebugLog;

TEST_CASE("debug lines: off above debug, N a second at debug, the rest counted") {
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::info);
  CHECK_FALSE(DebugLog::on());
  spdlog::set_level(spdlog::level::debug);
  CHECK(DebugLog::on());
  spdlog::set_level(spdlog::level::off);  // keep the test's output clean

  DebugLog log(3);
  CHECK(log.allow(5000));
  CHECK(log.allow(5100));
  CHECK(log.allow(5999));
  CHECK_FALSE(log.allow(5999));
  CHECK_FALSE(log.allow(6000 - 1));
  CHECK(log.suppressed() == 2);
  // A new second: the count starts again (the "suppressed" line is written first).
  CHECK(log.allow(6100));
  CHECK(log.suppressed() == 0);
  spdlog::set_level(level);
}
