// SPDX-License-Identifier: MIT
// One sinkholed per address: lock file names, the plan for a config (wildcard against
// specific addresses on one port, duplicates, the control socket), conflicts between two
// holders (two open file descriptions of one file conflict under flock, as two processes
// would) with the holder's PID in the message, and a runtime directory made one level deep.
#include "resolver/control/instance_lock.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/policy/temp_dir.h"

namespace {

using namespace sinkhole::control;
using sinkhole::config::SocketAddress;
using sinkhole::test::TempDir;

SocketAddress addr(const char* text) {
  return *SocketAddress::parse(text, 53);
}

}  // namespace

TEST_CASE("lock files are named after the address and port; udp and tcp share one") {
  CHECK(listen_lock_name(addr("127.0.0.1:53")) == "listen-127.0.0.1-53.lock");
  CHECK(listen_lock_name(addr("[::1]:5353")) == "listen-::1-5353.lock");
  CHECK(port_lock_name(AF_INET, 53) == "port-inet-53.lock");
  CHECK(port_lock_name(AF_INET6, 53) == "port-inet6-53.lock");
  CHECK(control_lock_name("/run/sinkholed/control.sock") ==
        "control-run-sinkholed-control.sock.lock");
}

TEST_CASE("the plan: specific addresses share their port's lock, a wildcard takes it alone") {
  const auto plan = lock_plan({addr("127.0.0.1:53"), addr("127.0.0.2:53"), addr("[::1]:53")},
                              "/run/x/control.sock");
  REQUIRE(plan.size() == 6);
  CHECK(plan[0].file == "listen-127.0.0.1-53.lock");
  CHECK(plan[0].exclusive);
  CHECK(plan[1].file == "port-inet-53.lock");
  CHECK_FALSE(plan[1].exclusive);
  CHECK(plan[2].file == "listen-127.0.0.2-53.lock");
  CHECK(plan[3].file == "listen-::1-53.lock");
  CHECK(plan[4].file == "port-inet6-53.lock");
  CHECK(plan[5].file == "control-run-x-control.sock.lock");
  CHECK(plan[5].what == "control socket /run/x/control.sock");

  // Listening on the wildcard and a specific address of the same port: one exclusive lock
  // on the port (a shared one too would conflict with our own exclusive one).
  const auto both = lock_plan({addr("127.0.0.1:53"), addr("0.0.0.0:53"), addr("127.0.0.1:53")}, "");
  REQUIRE(both.size() == 3);
  CHECK(both[1].file == "port-inet-53.lock");
  CHECK(both[1].exclusive);
  CHECK(both[2].file == "listen-0.0.0.0-53.lock");
}

TEST_CASE("a second holder of the same address fails, naming the address and the PID") {
  TempDir dir;
  const auto plan = lock_plan({addr("127.0.0.1:5353")}, dir.path("control.sock"));
  InstanceLocks first;
  std::string error;
  REQUIRE(first.acquire(dir.path(""), plan, &error));
  InstanceLocks second;
  CHECK_FALSE(second.acquire(dir.path(""), plan, &error));
  CHECK(error == "127.0.0.1:5353 is already served by sinkholed pid " + std::to_string(getpid()) +
                     " (lock " + dir.path("listen-127.0.0.1-5353.lock") + ")");
  // Another address on another port, and another control socket: no conflict.
  CHECK(second.acquire(dir.path(""), lock_plan({addr("127.0.0.2:5353")}, dir.path("b.sock")),
                       &error));
  second.release();
  // Released (as when the process dies): the address is free again.
  first.release();
  CHECK(second.acquire(dir.path(""), plan, &error));
}

TEST_CASE("wildcard and specific addresses on one port conflict both ways") {
  TempDir dir;
  std::string error;
  {
    InstanceLocks specific;
    REQUIRE(specific.acquire(dir.path(""), lock_plan({addr("127.0.0.1:5353")}, ""), &error));
    InstanceLocks wildcard;
    CHECK_FALSE(wildcard.acquire(dir.path(""), lock_plan({addr("0.0.0.0:5353")}, ""), &error));
    CHECK(error.rfind("0.0.0.0:5353 overlaps an address already served on port 5353 "
                      "(127.0.0.1:5353 by sinkholed pid " +
                          std::to_string(getpid()),
                      0) == 0);
    // Another specific address on the port is fine; so is the other family's wildcard.
    InstanceLocks other;
    CHECK(other.acquire(dir.path(""), lock_plan({addr("127.0.0.2:5353"), addr("[::]:5353")}, ""),
                        &error));
  }
  InstanceLocks wildcard;
  REQUIRE(wildcard.acquire(dir.path(""), lock_plan({addr("0.0.0.0:5353")}, ""), &error));
  InstanceLocks specific;
  CHECK_FALSE(specific.acquire(dir.path(""), lock_plan({addr("127.0.0.1:5353")}, ""), &error));
  CHECK(error.find("(0.0.0.0:5353 by sinkholed pid ") != std::string::npos);
}

TEST_CASE("the control socket's lock") {
  TempDir dir;
  std::string error;
  InstanceLocks a, b;
  REQUIRE(a.acquire(dir.path(""), lock_plan({addr("127.0.0.1:5353")}, "/tmp/c.sock"), &error));
  CHECK_FALSE(b.acquire(dir.path(""), lock_plan({addr("127.0.0.2:5353")}, "/tmp/c.sock"), &error));
  CHECK(error.rfind("control socket /tmp/c.sock is in use by sinkholed pid ", 0) == 0);
}

TEST_CASE("the runtime directory is made one level deep, never its parents") {
  TempDir dir;
  std::string error;
  CHECK(ensure_runtime_dir(dir.path("run"), &error));
  CHECK(std::filesystem::is_directory(dir.path("run")));
  CHECK(ensure_runtime_dir(dir.path("run"), &error));  // exists: fine
  CHECK_FALSE(ensure_runtime_dir(dir.path("missing/run"), &error));
  CHECK(error.rfind("cannot create runtime directory " + dir.path("missing/run"), 0) == 0);
  CHECK_FALSE(std::filesystem::exists(dir.path("missing")));
  dir.write("file", "x");
  CHECK_FALSE(ensure_runtime_dir(dir.path("file"), &error));
  CHECK(error == "runtime directory " + dir.path("file") + " is not a directory");
}
