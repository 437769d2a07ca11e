// SPDX-License-Identifier: MIT
// Feed work threads at shutdown: stop() cancels and joins them within its bound, detaches
// one that ignores its flag (so the daemon still exits), and starts nothing afterwards.
#include "resolver/feeds/feed_threads.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace feeds = sinkhole::feeds;
using namespace std::chrono_literals;

namespace {

feeds::FeedThreads::Cancel flag() {
  return std::make_shared<std::atomic<bool>>(false);
}

// Sleeps in small steps until `c` is set (a transfer waiting for its primary).
void until_cancelled(const std::atomic<bool>& c) {
  while (!c.load()) std::this_thread::sleep_for(1ms);
}

}  // namespace

TEST_CASE("stop() cancels the threads in flight and joins them") {
  feeds::FeedThreads threads;
  std::atomic<int> saw_cancel{0};
  for (int i = 0; i < 3; ++i) {
    auto c = flag();
    REQUIRE(threads.spawn(c, [c, &saw_cancel] {
      until_cancelled(*c);
      ++saw_cancel;
    }));
  }
  CHECK(threads.size() == 3);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(threads.stop(30s) == 0);
  // Joined, not timed out: far below the bound even under sanitizers.
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK(saw_cancel == 3);  // every thread ended through its flag, before stop() returned
  CHECK(threads.size() == 0);
}

TEST_CASE("a thread that ignores its flag is left behind after the bound") {
  feeds::FeedThreads threads;
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto ended = std::make_shared<std::atomic<bool>>(false);
  REQUIRE(threads.spawn(flag(), [release, ended] {
    until_cancelled(*release);  // not its cancel flag: stuck as far as stop() can tell
    ended->store(true);
  }));
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(threads.stop(50ms) == 1);
  CHECK(std::chrono::steady_clock::now() - t0 >= 50ms);
  CHECK(threads.size() == 0);
  release->store(true);  // the detached thread ends on its own, touching only what it shares
  while (!ended->load()) std::this_thread::sleep_for(1ms);
}

TEST_CASE("after stop() nothing starts; ended threads are joined at later spawns") {
  feeds::FeedThreads threads;
  std::atomic<int> ran{0};
  constexpr int kSpawns = 200;
  for (int i = 0; i < kSpawns; ++i) {
    REQUIRE(threads.spawn(flag(), [&ran] { ++ran; }));
    std::this_thread::sleep_for(1ms);
  }
  // Without reaping every one of them would still be held.
  CHECK(threads.size() < static_cast<size_t>(kSpawns));
  CHECK(threads.stop(30s) == 0);
  CHECK(ran == kSpawns);
  CHECK_FALSE(threads.spawn(flag(), [&ran] { ++ran; }));
  CHECK(ran == kSpawns);
}
