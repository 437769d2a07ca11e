// SPDX-License-Identifier: MIT
// Answers sinkholed makes up itself for blocked names: records owned by the question name
// (sinkhole A/AAAA, a CNAME, RPZ local data) and a synthesized SOA in the authority
// section so that downstream caches cache a negative answer for the right time
// (RFC 2308 §3). Writes into a caller buffer of kMaxMessage bytes; no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/dns/answer_builder.h"

namespace sinkhole::dns {

struct SynthRecord {
  uint16_t type = 0;
  uint32_t ttl = 0;
  const uint8_t* rdata = nullptr;
  uint16_t rdlen = 0;
};

struct SynthSoa {
  size_t owner_offset = 0;  // where the zone apex starts inside the question name
  uint32_t ttl = 300;       // SOA TTL and MINIMUM: the negative-caching time
  uint32_t serial = 1;
};

// `answers` are owned by the question name; `soa` (optional) goes to the authority section.
size_t build_synthesized(const ClientQuery& cq, uint16_t rcode, const SynthRecord* answers,
                         size_t n_answers, const SynthSoa* soa, Ede ede, uint8_t* out);

// Offset inside a wire name of the suffix `depth` labels below its start.
size_t suffix_offset(const uint8_t* wire, size_t len, size_t depth);

}  // namespace sinkhole::dns
