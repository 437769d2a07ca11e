// SPDX-License-Identifier: MIT
// QuestionKey: what makes two questions the same question, for every table keyed by one —
// the packet cache (resolver/cache) and the in-flight table (resolver/upstream). The name
// may be in any case; the tables lower-case it (lower_name) when they store or hash it.
// A view: it points at a name owned by someone else. Any thread; nothing allocates.
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/dns/wire.h"

namespace sinkhole::dns {

struct QuestionKey {
  const uint8_t* qname = nullptr;  // uncompressed wire name, any case
  size_t qname_len = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  bool do_bit = false;  // DO=1 answers carry RRSIGs: never shared with DO=0 clients
  bool cd_bit = false;  // CD=1 answers may be unvalidated: never shared with CD=0 clients

  // One byte of the two bits, as the tables store it.
  uint8_t flag_bits() const { return static_cast<uint8_t>((do_bit ? 1 : 0) | (cd_bit ? 2 : 0)); }
};

// Writes the lower-cased copy of a `len`-byte wire name to `out` (ASCII only, RFC 4343).
inline void lower_name(const uint8_t* name, size_t len, uint8_t* out) noexcept {
  for (size_t i = 0; i < len; ++i) out[i] = ascii_lower(name[i]);
}

}  // namespace sinkhole::dns
