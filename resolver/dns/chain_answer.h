// SPDX-License-Identifier: MIT
// CNAME/DNAME chains that an upstream answer leaves unfinished, and the answer assembled
// once they are finished. An authoritative upstream (a stub zone, an internal zone) answers
// `www.a.test CNAME www.b.test` without www.b.test's records when b.test is not its zone;
// a resolver follows the chain (Unbound, BIND and PowerDNS do). find_chain_end() says
// whether an answer needs that, and for which name; build_chain_answer() writes the
// client's answer: the chain's records collected so far, then the last answer's records.
// Pure functions over wire bytes; nothing allocates. Any thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/dns/answer_builder.h"
#include "resolver/dns/message_view.h"

namespace sinkhole::dns {

struct ChainEnd {
  enum class Kind : uint8_t {
    kComplete,  // nothing to follow: the answer holds the data, or is negative / a referral
    kChase,     // the chain ends at `target`, which has no record of the question's type here
    kLoop,      // the chain inside this message loops or is longer than it can be
  };
  Kind kind = Kind::kComplete;
  size_t links = 0;                // CNAME/DNAME links followed inside this message
  uint8_t target[kMaxNameWire]{};  // kChase: the name to ask for next, lower-cased
  size_t target_len = 0;
};

// Follows the chain from the question name of `msg` (a checked response) through its answer
// section. Only a NOERROR answer for a type other than CNAME/DNAME/ANY is chased; an answer
// whose authority section holds a SOA (NODATA) or NS (a referral) at or above the chain's end
// is complete as it is.
ChainEnd find_chain_end(const uint8_t* msg, const MessageView& m);

// True when the uncompressed wire name `name` is `zone` or below it (case-insensitive).
bool name_at_or_below(const uint8_t* name, size_t name_len, const uint8_t* zone,
                      size_t zone_len) noexcept;

// The client's answer to a finished chain: header (rcode `rcode`), the client's question,
// `prefix` (`prefix_count` records already written out in full: the chain so far), the
// answer records of `resp` and, with `with_authority`, its authority records (a negative
// answer's SOA, RFC 2308/6604) — all names written out in full — then our OPT with `ede`
// when the client sent EDNS. `out` holds kMaxMessage bytes. Returns 0 when the records do
// not fit a message.
size_t build_chain_answer(const ClientQuery& cq, uint16_t rcode, const uint8_t* prefix,
                          size_t prefix_len, size_t prefix_count, const uint8_t* resp,
                          const MessageView& m, bool with_authority, Ede ede, uint8_t* out);

}  // namespace sinkhole::dns
