// SPDX-License-Identifier: MIT
// SystemdNotify: the datagrams a service manager receives, read from a notify socket the
// test owns (as systemd's own is): field syntax, one-line STATUS, MONOTONIC_USEC with
// RELOADING=1, the watchdog interval from WATCHDOG_USEC/WATCHDOG_PID, and silence when
// NOTIFY_SOCKET is unset.
#include "resolver/systemd/systemd_notify.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include "notify_socket.h"

namespace {

using sinkhole::systemd::SystemdNotify;
using namespace std::chrono_literals;

using sinkhole::test::NotifySocket;

uint64_t now_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

TEST_CASE("state changes arrive as sd_notify fields") {
  NotifySocket sock;
  SystemdNotify n;
  REQUIRE(n.enabled());
  n.ready("serving on 127.0.0.1:53");
  CHECK(sock.next() == "READY=1\nSTATUS=serving on 127.0.0.1:53");
  n.reloaded("reload FAILED:\nline 2\r\nline 3");
  CHECK(sock.next() == "READY=1\nSTATUS=reload FAILED: line 2  line 3");
  n.status("generation 7");
  CHECK(sock.next() == "STATUS=generation 7");
  n.stopping();
  const auto stop = sock.next();
  REQUIRE(stop);
  CHECK(stop->rfind("STOPPING=1\nSTATUS=", 0) == 0);
  CHECK(sock.next() == std::nullopt);
}

TEST_CASE("RELOADING=1 carries the monotonic time of the reload") {
  NotifySocket sock;
  SystemdNotify n;
  const uint64_t before = now_usec();
  n.reloading();
  const uint64_t after = now_usec();
  const auto m = sock.next();
  REQUIRE(m);
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  REQUIRE(m->rfind(prefix, 0) == 0);
  const uint64_t stamp = std::stoull(m->substr(prefix.size()));
  CHECK(stamp >= before);
  CHECK(stamp <= after);
}

TEST_CASE("the watchdog follows WATCHDOG_USEC and WATCHDOG_PID") {
  NotifySocket sock;
  SUBCASE("no WATCHDOG_USEC: off, pings send nothing") {
    SystemdNotify n;
    CHECK(n.watchdog_timeout() == 0us);
    n.watchdog_ping();
    CHECK(sock.next() == std::nullopt);
  }
  SUBCASE("WATCHDOG_USEC without WATCHDOG_PID: on, pinged at half of it") {
    ::setenv("WATCHDOG_USEC", "600000", 1);
    SystemdNotify n;
    CHECK(n.watchdog_timeout() == 600000us);
    CHECK(n.watchdog_ping_interval() == 300000us);
    n.watchdog_ping();
    CHECK(sock.next() == "WATCHDOG=1");
  }
  SUBCASE("WATCHDOG_PID names this process: on") {
    ::setenv("WATCHDOG_USEC", "30000000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    SystemdNotify n;
    CHECK(n.watchdog_timeout() == 30s);
  }
  SUBCASE("WATCHDOG_PID names another process (a parent's watchdog): off") {
    ::setenv("WATCHDOG_USEC", "30000000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
    SystemdNotify n;
    CHECK(n.watchdog_timeout() == 0us);
  }
}

TEST_CASE("without NOTIFY_SOCKET every call is a no-op") {
  NotifySocket sock;
  ::unsetenv("NOTIFY_SOCKET");
  ::setenv("WATCHDOG_USEC", "600000", 1);
  SystemdNotify n;
  CHECK_FALSE(n.enabled());
  CHECK(n.watchdog_timeout() == 0us);
  n.ready("x");
  n.reloading();
  n.reloaded("x");
  n.status("x");
  n.stopping();
  n.watchdog_ping();
  CHECK(sock.next() == std::nullopt);
}
