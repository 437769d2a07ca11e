// SPDX-License-Identifier: MIT
// RateLimiter on its own, with time given explicitly: the burst, then drops with every
// slip-th limited response slipped; refill at the configured rate; one bucket per /24 and
// per /56; exempt prefixes; the rate shared between workers; memory fixed however many
// prefixes send.
#include "resolver/pipeline/rate_limiter.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <string>

namespace {

using sinkhole::config::RateLimitConfig;
using sinkhole::pipeline::RateLimiter;
using Outcome = RateLimiter::Outcome;

struct Addr {
  sockaddr_storage ss{};
  explicit Addr(const std::string& text) {
    if (text.find(':') != std::string::npos) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      REQUIRE(inet_pton(AF_INET6, text.c_str(), &a->sin6_addr) == 1);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      REQUIRE(inet_pton(AF_INET, text.c_str(), &a->sin_addr) == 1);
    }
  }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

RateLimitConfig config(uint32_t rps, uint32_t burst, uint32_t slip) {
  RateLimitConfig c;
  c.responses_per_second = rps;
  c.burst = burst;
  c.slip = slip;
  c.table_size = 1024;
  return c;
}

// Outcomes of `n` responses to `client` at time `ms`, as a string: '.' pass, 'x' drop,
// 's' slip.
std::string run(RateLimiter& rl, const std::string& client, int n, uint64_t ms) {
  std::string out;
  const Addr a(client);
  for (int i = 0; i < n; ++i) {
    switch (rl.check(a.sa(), ms)) {
      case Outcome::kPass:
        out += '.';
        break;
      case Outcome::kDrop:
        out += 'x';
        break;
      case Outcome::kSlip:
        out += 's';
        break;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("RateLimiter: off unless responses_per_second is set") {
  RateLimiter off(RateLimitConfig{}, 1, 1, 2);
  CHECK_FALSE(off.enabled());
  CHECK(run(off, "192.0.2.1", 1000, 0) == std::string(1000, '.'));
}

TEST_CASE("RateLimiter: the burst passes, then drops with every slip-th limited one slipped") {
  RateLimiter rl(config(10, 5, 2), 1, 1, 2);
  REQUIRE(rl.enabled());
  CHECK(run(rl, "192.0.2.1", 11, 1000) == ".....xsxsxs");
  SUBCASE("slip 0 never slips; slip 1 always does") {
    RateLimiter never(config(10, 5, 0), 1, 1, 2);
    CHECK(run(never, "192.0.2.1", 8, 1000) == ".....xxx");
    RateLimiter always(config(10, 5, 1), 1, 1, 2);
    CHECK(run(always, "192.0.2.1", 8, 1000) == ".....sss");
  }
}

TEST_CASE("RateLimiter: tokens come back at the configured rate, up to the burst") {
  RateLimiter rl(config(10, 5, 0), 1, 1, 2);
  CHECK(run(rl, "192.0.2.1", 6, 1000) == ".....x");
  CHECK(run(rl, "192.0.2.1", 2, 1099) == "xx");         // 99 ms: 0.99 of a token
  CHECK(run(rl, "192.0.2.1", 2, 1100) == ".x");         // 100 ms: one token
  CHECK(run(rl, "192.0.2.1", 7, 60'000) == ".....xx");  // a minute later: the burst, no more
  // Over 10 s at 200 queries a second: 10 a second pass, plus the burst.
  int passed = 0;
  for (uint64_t ms = 100'000; ms < 110'000; ms += 5) passed += run(rl, "192.0.2.1", 1, ms) == ".";
  CHECK(passed >= 100);
  CHECK(passed <= 106);
}

TEST_CASE("RateLimiter: one bucket per /24 and per /56; exempt prefixes never limited") {
  RateLimitConfig c = config(10, 3, 0);
  c.exempt.push_back(*sinkhole::policy::parse_cidr("198.51.100.0/24", nullptr));
  RateLimiter rl(c, 1, 7, 9);
  CHECK(run(rl, "192.0.2.1", 2, 0) == "..");
  CHECK(run(rl, "192.0.2.200", 2, 0) == ".x");      // same /24
  CHECK(run(rl, "192.0.3.1", 4, 0) == "...x");      // another /24
  CHECK(run(rl, "::ffff:192.0.2.9", 1, 0) == "x");  // IPv4-mapped: the same /24
  CHECK(run(rl, "2001:db8:0:100::1", 3, 0) == "...");
  CHECK(run(rl, "2001:db8:0:1ff:ffff::2", 1, 0) == "x");  // same /56
  CHECK(run(rl, "2001:db8:0:200::1", 3, 0) == "...");     // the next /56
  CHECK(run(rl, "198.51.100.7", 100, 0) == std::string(100, '.'));
}

TEST_CASE("RateLimiter: N workers each get rate/N and burst/N") {
  RateLimiter rl(config(100, 40, 0), 4, 1, 2);
  CHECK(run(rl, "192.0.2.1", 11, 0) == "..........x");  // 40 / 4
  CHECK(run(rl, "192.0.2.1", 2, 40) == ".x");           // 25 a second: one per 40 ms
}

TEST_CASE("RateLimiter: memory is fixed whatever the number of prefixes") {
  RateLimiter rl(config(10, 2, 0), 1, 3, 4);
  const size_t bytes = rl.memory_bytes();
  CHECK(bytes == 1024 * 24);
  // 100,000 /24s, each within its burst: all pass, and the table does not grow.
  int passed = 0;
  for (uint32_t i = 0; i < 100'000; ++i) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x0A000000u + (i << 8));
    passed += rl.check(reinterpret_cast<const sockaddr*>(&a), 0) == Outcome::kPass;
  }
  CHECK(passed == 100'000);
  CHECK(rl.memory_bytes() == bytes);
  // A flooding /24 keeps to its rate while 20,000 other prefixes churn through the table
  // around it (one a millisecond for 20 s): its bucket, used every millisecond, is never the
  // one recycled, so it never gets a fresh burst.
  int flood_passed = 0;
  for (uint32_t i = 0; i < 20'000; ++i) {
    flood_passed += run(rl, "192.0.2.1", 1, 1000 + i) == ".";
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x0B000000u + (i << 8));
    rl.check(reinterpret_cast<const sockaddr*>(&a), 1000 + i);
  }
  CHECK(flood_passed >= 200);      // 10 a second for 20 s
  CHECK(flood_passed <= 2 + 200);  // plus its burst, once
}
