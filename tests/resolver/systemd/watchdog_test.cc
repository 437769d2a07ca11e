// SPDX-License-Identifier: MIT
// Watchdog on a real libuv loop, with heartbeats from a function (no workers): off without
// a watchdog; on, it asks for heartbeats, pings while every counter moves, withholds the
// ping while one stands still, and pings again once it moves.
#include "resolver/systemd/watchdog.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "notify_socket.h"

namespace {

using sinkhole::systemd::SystemdNotify;
using sinkhole::systemd::Watchdog;
using namespace std::chrono_literals;

using sinkhole::test::NotifySocket;

struct Loop {
  uv_loop_t loop{};
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);  // lets closed handles finish
    CHECK(uv_loop_close(&loop) == 0);
  }
};

}  // namespace

TEST_CASE("heartbeat period: a quarter of the check, from 1 ms to 250 ms") {
  CHECK(Watchdog::heartbeat_period(15000ms) == 250ms);
  CHECK(Watchdog::heartbeat_period(400ms) == 100ms);
  CHECK(Watchdog::heartbeat_period(2ms) == 1ms);
}

TEST_CASE("no watchdog asked for: nothing starts, no heartbeats") {
  ::unsetenv("NOTIFY_SOCKET");
  Loop l;
  SystemdNotify notify;
  int asked = 0;
  Watchdog w(&l.loop, notify, [&] {
    ++asked;
    return std::vector<uint64_t>{1};
  });
  CHECK(w.start() == std::nullopt);
  w.close();
  CHECK(asked == 0);
}

TEST_CASE("pings while every heartbeat moves, none while one stands still") {
  NotifySocket sock;
  ::setenv("WATCHDOG_USEC", "40000", 1);  // a check every 20 ms
  Loop l;
  SystemdNotify notify;
  std::vector<uint64_t> beats{0, 0};
  Watchdog w(&l.loop, notify, [&] { return beats; });
  const auto period = w.start();
  REQUIRE(period);
  CHECK(*period == 5ms);

  auto check = [&] { uv_run(&l.loop, UV_RUN_ONCE); };  // one timer tick
  beats = {1, 1};
  check();
  CHECK(sock.pings() == 1);
  beats = {2, 1};  // worker 1 stuck
  check();
  CHECK(sock.pings() == 0);
  check();
  CHECK(sock.pings() == 0);
  beats = {3, 2};  // alive again
  check();
  CHECK(sock.pings() == 1);
  w.close();
}
