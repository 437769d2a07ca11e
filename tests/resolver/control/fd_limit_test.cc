// SPDX-License-Identifier: MIT
#include "resolver/control/fd_limit.h"

#include <doctest/doctest.h>
#include <sys/resource.h>

TEST_CASE("raise_fd_limit lifts the soft limit to the hard limit") {
  rlimit rl{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  const rlimit saved = rl;
  if (rl.rlim_max > 256) {  // start from a low soft limit, as a default shell does
    rl.rlim_cur = 256;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &rl) == 0);
  }
  const auto l = sinkhole::control::raise_fd_limit();
  CHECK(l.error.empty());
  CHECK(l.before == (saved.rlim_max > 256 ? 256 : saved.rlim_cur));
  CHECK(l.after == saved.rlim_max);
  REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  CHECK(rl.rlim_cur == saved.rlim_max);
  // Already at the hard limit: nothing to do.
  const auto again = sinkhole::control::raise_fd_limit();
  CHECK(again.before == again.after);
  setrlimit(RLIMIT_NOFILE, &saved);
}

TEST_CASE("fd_demand covers every worker's TCP clients and the HTTP endpoint") {
  sinkhole::config::Config cfg;
  cfg.server.workers = 4;
  cfg.server.tcp_max_connections = 1000;
  CHECK(sinkhole::control::fd_demand(cfg) == 4000 + 1024);
  cfg.metrics.listen = sinkhole::config::SocketAddress::parse("127.0.0.1:9153", 9153);
  CHECK(sinkhole::control::fd_demand(cfg) == 4000 + 256 + 1024);
}
