// SPDX-License-Identifier: MIT
// PROXY protocol v2 headers as bytes, for the tests of the parser, of the function that
// applies a header, and of the pipeline's proxy stage: one builder instead of one per test.
// Test thread only.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "resolver/net/proxy_header.h"

namespace sinkhole::test {

// Signature, ver/cmd, fam/proto, the payload's length (big-endian), then `payload`.
inline std::vector<uint8_t> proxy_v2(uint8_t ver_cmd, uint8_t fam,
                                     const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> h(net::kProxyV2Signature, net::kProxyV2Signature + 12);
  // push_back, not insert(initializer_list): GCC 12 -Warray-bounds false positive once inlined.
  h.push_back(ver_cmd);
  h.push_back(fam);
  h.push_back(static_cast<uint8_t>(payload.size() >> 8));
  h.push_back(static_cast<uint8_t>(payload.size()));
  for (const uint8_t b : payload) h.push_back(b);
  return h;
}

namespace proxy_v2_detail {
inline std::vector<uint8_t> addresses(int family, size_t addr_len, const char* src, uint16_t sport,
                                      const char* dst, uint16_t dport) {
  std::vector<uint8_t> b(2 * addr_len + 4, 0);
  REQUIRE(inet_pton(family, src, b.data()) == 1);
  REQUIRE(inet_pton(family, dst, b.data() + addr_len) == 1);
  b[2 * addr_len] = static_cast<uint8_t>(sport >> 8);
  b[2 * addr_len + 1] = static_cast<uint8_t>(sport);
  b[2 * addr_len + 2] = static_cast<uint8_t>(dport >> 8);
  b[2 * addr_len + 3] = static_cast<uint8_t>(dport);
  return b;
}
}  // namespace proxy_v2_detail

// The address block of an INET header (12 bytes): src:sport → dst:dport.
inline std::vector<uint8_t> inet_addresses(const char* src, uint16_t sport, const char* dst,
                                           uint16_t dport) {
  return proxy_v2_detail::addresses(AF_INET, 4, src, sport, dst, dport);
}

// The address block of an INET6 header (36 bytes).
inline std::vector<uint8_t> inet6_addresses(const char* src, uint16_t sport, const char* dst,
                                            uint16_t dport) {
  return proxy_v2_detail::addresses(AF_INET6, 16, src, sport, dst, dport);
}

}  // namespace sinkhole::test
