// SPDX-License-Identifier: MIT
// MessageView: an upstream response walked once, in place: header, question, the span of
// every section and the OPT record. Used to validate a reply before any client sees it
// and to rewrite it for each waiting client. No allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/dns/wire.h"

namespace sinkhole::dns {

struct MessageView {
  bool ok = false;  // the whole message is well-formed
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;

  size_t qname_len = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  size_t question_end = 0;  // offset of the answer section

  bool has_opt = false;
  size_t opt_off = 0;  // start of the OPT record
  size_t opt_end = 0;
  uint8_t ext_rcode = 0;  // upper 8 bits of a 12-bit rcode
  size_t end = 0;         // end of the last record

  uint16_t rcode() const { return uint16_t{ext_rcode} << 4 | (flags & flags::kRcodeMask); }
  bool truncated() const { return flags & flags::kTc; }
  // OPT sits last, so dropping it moves no byte that a compression pointer could target.
  bool opt_is_last() const { return !has_opt || opt_end == end; }
};

MessageView parse_message(const uint8_t* msg, size_t len) noexcept;

}  // namespace sinkhole::dns
