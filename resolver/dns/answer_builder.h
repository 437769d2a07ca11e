// SPDX-License-Identifier: MIT
// Builds the answers sinkholed writes itself (errors, truncation stubs, CHAOS TXT, the RFC
// 8482 ANY reply) and the OPT record every reply carries when the client sent one.
// Output goes into a caller-owned buffer of at least kMaxMessage bytes; nothing allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "resolver/dns/query_view.h"
#include "resolver/dns/wire.h"

namespace sinkhole::dns {

inline constexpr uint16_t kDefaultUdpPayload = 1232;  // DNS flag day 2020
inline constexpr uint16_t kNoEde = 0xFFFF;

namespace ede {  // RFC 8914 §4
inline constexpr uint16_t kBlocked = 15;
inline constexpr uint16_t kCensored = 16;
inline constexpr uint16_t kFiltered = 17;
inline constexpr uint16_t kProhibited = 18;
inline constexpr uint16_t kNotSupported = 21;
inline constexpr uint16_t kNoReachableAuthority = 22;
inline constexpr uint16_t kNetworkError = 23;
}  // namespace ede

// Everything a reply needs to know about the query it answers. It can point into the
// receive buffer (answered at once) or into a waiter's copy (answered after upstream).
struct ClientQuery {
  uint16_t id = 0;
  uint16_t flags = 0;                 // the client's header flags
  const uint8_t* question = nullptr;  // name + qtype + qclass exactly as sent
  size_t question_len = 0;            // 0: reply without a question
  bool has_opt = false;
  bool do_bit = false;
  uint16_t our_payload = kDefaultUdpPayload;  // advertised in our OPT
  size_t reply_limit = kMaxUdpNoEdns;         // bytes this transport may carry back
};

// The size limit of a reply for a query, per RFC 6891 §6.2.5 and RFC 1035 §4.2.1.
size_t udp_reply_limit(const QueryView& q, uint16_t our_max_payload);

// Fills a ClientQuery from a parsed query over `msg`.
ClientQuery client_query_from(const QueryView& q, const uint8_t* msg, uint16_t our_payload,
                              size_t reply_limit);

struct Ede {
  uint16_t code = kNoEde;
  std::string_view text;
};

// Header flags of any reply: the client's opcode, RD and CD echoed, QR and RA set.
uint16_t reply_flags(uint16_t client_flags, uint16_t rcode);

// Appends our OPT (version 0, our payload, the client's DO) at `out`; returns bytes written.
size_t write_opt(uint8_t* out, const ClientQuery& cq, uint8_t ext_rcode, Ede e = {});

// A reply with no records: the given rcode (extended ones via OPT), the question if known.
size_t build_rcode_reply(const ClientQuery& cq, uint16_t rcode, uint8_t* out, Ede e = {});

// The same, but with every flag of the client's header echoed as it was sent (AA, RD, RA, Z,
// AD, CD; TC is cleared) and only QR and the rcode set: what Unbound answers to an opcode
// it does not implement and to a meta qtype (checked against Unbound 1.17). Unbound echoes
// the client's own OPT record too; this carries ours, as every other reply does.
size_t build_echo_flags_reply(const ClientQuery& cq, uint16_t rcode, uint8_t* out);

// A valid TC=1 reply: header, question, OPT; the client retries over TCP.
size_t build_truncated(const ClientQuery& cq, uint16_t rcode, uint8_t* out);

// The rate limiter's slip: the header and question of `reply` (a reply of ours, whose
// question is never compressed) with TC=1 and no records. `out` may be `reply`.
size_t build_slip(const uint8_t* reply, size_t len, uint8_t* out);

// CH TXT answer (version.bind, id.server) with one string.
size_t build_chaos_txt(const ClientQuery& cq, std::string_view text, uint8_t* out);

// RFC 8482 §4.2: ANY is answered with one synthesized HINFO "RFC8482" "".
size_t build_any_hinfo(const ClientQuery& cq, uint8_t* out);

}  // namespace sinkhole::dns
