// SPDX-License-Identifier: MIT
#include "resolver/dns/redirect_answer.h"

#include "resolver/dns/record_copy.h"
#include "resolver/dns/synth_answer.h"

namespace sinkhole::dns {

namespace {
// Room kept at the end for our OPT and its EDE text (write_opt writes at most this much).
constexpr size_t kOptRoom = 600;
// Our CNAME before its rdata: owner pointer, type, class, TTL, rdlength.
constexpr size_t kCnameFixed = 2 + 2 + 2 + 4 + 2;
}  // namespace

size_t build_redirect_answer(const ClientQuery& cq, const Redirect& r, const uint8_t* resp,
                             const MessageView& m, Ede ede, uint8_t* out) {
  const uint16_t rcode = m.rcode() & 0xF;
  const SynthRecord cname{rrtype::kCname, r.ttl, r.target, static_cast<uint16_t>(r.target_len)};
  // Header, question and our CNAME (owner compressed to the question); no OPT yet: the
  // upstream's records go between.
  build_synthesized(cq, rcode, &cname, 1, nullptr, {}, out);
  size_t pos = kHeaderSize + cq.question_len + kCnameFixed + r.target_len;
  const CopiedRecords copied = copy_records_expanded(resp, m.end, m.question_end, m.ancount,
                                                     out + pos, kMaxMessage - pos - kOptRoom);
  pos += copied.bytes;
  write_u16(out + kOffAnCount, static_cast<uint16_t>(1 + copied.count));
  write_u16(out + kOffNsCount, 0);
  write_u16(out + kOffArCount, 0);
  if (cq.has_opt) {
    pos += write_opt(out + pos, cq, 0, ede);
    write_u16(out + kOffArCount, 1);
  }
  return pos;
}

}  // namespace sinkhole::dns
