// SPDX-License-Identifier: MIT
// A zone transfer waiting for a silent primary ends at once when cancelled (shutdown, the
// feed replaced), long before its read timeout.
#include "resolver/feeds/xfr_client.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/resolver/feeds/one_shot_server.h"

namespace feeds = sinkhole::feeds;
using namespace std::chrono_literals;

TEST_CASE("a transfer from a primary that never answers ends when cancelled") {
  // A listening socket that never accepts: the connection completes in the backlog and the
  // request is sent, then nothing comes back.
  sockaddr_in a{};
  const int l = sinkhole::test::listen_on_loopback(a);

  feeds::XfrRequest req;
  req.primary = sinkhole::config::SocketAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&a));
  req.zone = "mic.rpz";
  req.deadline_ms = 120000;
  req.read_timeout_ms = 60000;
  std::atomic<bool> cancel{false};
  req.cancel = &cancel;
  std::atomic<bool> returned{false};
  feeds::XfrResult r;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread t([&] {
    r = feeds::transfer(req);
    returned = true;
  });
  std::this_thread::sleep_for(200ms);
  CHECK_FALSE(returned.load());  // still waiting for the primary
  const auto cancelled_at = std::chrono::steady_clock::now();
  cancel = true;
  t.join();
  const auto took = std::chrono::steady_clock::now() - cancelled_at;
  CHECK(r.kind == feeds::XfrResult::Kind::kFailed);
  CHECK(r.reason == "cancelled");
  // kXfrCancelPollMs (50 ms) in a quiet run; the read timeout is 60 s.
  CHECK(took < 10s);
  CHECK(std::chrono::steady_clock::now() - t0 < 20s);
  ::close(l);
}
