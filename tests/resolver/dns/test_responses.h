// SPDX-License-Identifier: MIT
// A realistic upstream response for the message_view / response_rewriter / check_reply tests:
// compression pointers in every section, an additional record before the OPT, an NSID option
// and an optional extended rcode. Offsets are fixed so tests can point at any byte.
#pragma once

#include <cstdint>

#include "test_packet.h"

namespace sinkhole::test {

// Layout of upstream_response() ("www.example.com." A IN):
//   0..11   header
//   12..32  question (name 12..28: "www" 12, "example" 16, "com" 24)
//   33..50  answer 1: C0 0C CNAME TTL 3600, rdata "cdn" + C0 10 at 45..50
//   51..66  answer 2: C0 2D A TTL 0x00012345, 192.0.2.7
//   67..94  additional 1: C0 2D AAAA TTL 77, 2001:db8::7
//   95..    additional 2: OPT, 1232, NSID "ns1.upstream" (rdata 16 bytes) → 122
inline constexpr size_t kRespQuestionEnd = 33;
inline constexpr size_t kRespOptOff = 95;
inline constexpr size_t kRespSize = 122;

struct ResponseShape {
  uint16_t id = 0xBEEF;
  uint16_t flags = 0x85A0;  // QR AA RD RA AD, NOERROR
  bool with_opt = true;
  uint8_t ext_rcode = 0;
  bool opt_first = false;  // OPT before the AAAA record (not last)
};

inline PacketWriter upstream_response(const ResponseShape& s = {},
                                      std::string_view qname = "www.example.com.") {
  PacketWriter p;
  p.header(s.id, s.flags, 1, 2, 0, s.with_opt ? 2 : 1).question(qname, 1);
  p.pointer(12).rr_tail(5, 1, 3600, {3, 'c', 'd', 'n', 0xC0, 16});
  p.pointer(45).rr_tail(1, 1, 0x00012345, {192, 0, 2, 7});
  auto aaaa = [&] {
    p.pointer(45).rr_tail(28, 1, 77,
                          {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07});
  };
  auto opt = [&] { p.opt(1232, s.ext_rcode, 0, true, edns_option(3, "ns1.upstream")); };
  if (s.opt_first && s.with_opt) opt();
  aaaa();
  if (!s.opt_first && s.with_opt) opt();
  return p;
}

}  // namespace sinkhole::test
