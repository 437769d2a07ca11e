// SPDX-License-Identifier: MIT
// StagedTally (policy/staged_tally.h): exact query counts from many workers, distinct
// clients within the HyperLogLog's error, IPv4 and IPv6 apart.
#include "policy/staged_tally.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

using sinkhole::policy::StagedTally;

namespace {

sockaddr_in v4(uint32_t host) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(host);
  return a;
}

}  // namespace

TEST_CASE("staged tally: exact queries across workers, distinct clients estimated") {
  StagedTally t("key", 1234);
  CHECK(t.key() == "key");
  CHECK(t.since_unix_ms() == 1234);
  CHECK(t.queries() == 0);
  CHECK(t.clients() == doctest::Approx(0));
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < 4; ++w)
    workers.emplace_back([&t, w] {
      for (uint32_t i = 0; i < 5000; ++i) {
        const sockaddr_in a = v4(0x7f000000u + i);  // the same 5000 clients in every worker
        t.record(w * 40, reinterpret_cast<const sockaddr*>(&a));  // 80, 120: shared slots
      }
    });
  for (auto& th : workers) th.join();
  CHECK(t.queries() == 20000);
  CHECK(std::fabs(t.clients() - 5000) < 5000 * 0.03);

  StagedTally few("k", 0);
  for (uint32_t i = 0; i < 7; ++i) {
    const sockaddr_in a = v4(0x7f000901u + i);
    few.record(0, reinterpret_cast<const sockaddr*>(&a));
    few.record(0, reinterpret_cast<const sockaddr*>(&a));
  }
  sockaddr_in6 six{};
  six.sin6_family = AF_INET6;
  six.sin6_addr.s6_addr[15] = 1;
  few.record(1, reinterpret_cast<const sockaddr*>(&six));
  CHECK(few.queries() == 15);
  CHECK(std::llround(few.clients()) == 8);
}
