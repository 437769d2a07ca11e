// SPDX-License-Identifier: MIT
#include "resolver/dns/synth_answer.h"

#include <cstring>

namespace sinkhole::dns {

size_t suffix_offset(const uint8_t* wire, size_t len, size_t depth) {
  size_t pos = 0;
  for (size_t i = 0; i < depth && pos < len && wire[pos] != 0; ++i) pos += 1 + wire[pos];
  return pos;
}

size_t build_synthesized(const ClientQuery& cq, uint16_t rcode, const SynthRecord* answers,
                         size_t n_answers, const SynthSoa* soa, Ede ede, uint8_t* out) {
  build_rcode_reply(cq, rcode, out);  // header and question; sections follow
  size_t pos = kHeaderSize + cq.question_len;
  const uint16_t qclass = read_u16(cq.question + cq.question_len - 2);
  size_t an = 0;
  for (size_t i = 0; i < n_answers; ++i) {
    if (pos + 12 + answers[i].rdlen > kMaxMessage - 600) break;
    write_u16(out + pos, 0xC000 | kHeaderSize);
    write_u16(out + pos + 2, answers[i].type);
    write_u16(out + pos + 4, qclass);
    write_u32(out + pos + 6, answers[i].ttl);
    write_u16(out + pos + 10, answers[i].rdlen);
    if (answers[i].rdlen) std::memcpy(out + pos + 12, answers[i].rdata, answers[i].rdlen);
    pos += 12 + answers[i].rdlen;
    ++an;
  }
  size_t ns = 0;
  if (soa) {
    const uint16_t owner = static_cast<uint16_t>(0xC000 | (kHeaderSize + soa->owner_offset));
    write_u16(out + pos, owner);
    write_u16(out + pos + 2, rrtype::kSoa);
    write_u16(out + pos + 4, qclass);
    write_u32(out + pos + 6, soa->ttl);
    uint8_t* rd = out + pos + 12;
    size_t r = 0;
    write_u16(rd + r, owner);  // MNAME: the apex itself
    r += 2;
    static constexpr uint8_t kHostmaster[] = {10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r'};
    std::memcpy(rd + r, kHostmaster, sizeof kHostmaster);  // RNAME: hostmaster.<apex>
    r += sizeof kHostmaster;
    write_u16(rd + r, owner);
    r += 2;
    write_u32(rd + r, soa->serial);
    write_u32(rd + r + 4, 3600);       // refresh
    write_u32(rd + r + 8, 600);        // retry
    write_u32(rd + r + 12, 86400);     // expire
    write_u32(rd + r + 16, soa->ttl);  // minimum: the negative TTL (RFC 2308 §4)
    r += 20;
    write_u16(out + pos + 10, static_cast<uint16_t>(r));
    pos += 12 + r;
    ns = 1;
  }
  write_u16(out + kOffAnCount, static_cast<uint16_t>(an));
  write_u16(out + kOffNsCount, static_cast<uint16_t>(ns));
  write_u16(out + kOffArCount, 0);
  if (cq.has_opt) {
    pos += write_opt(out + pos, cq, static_cast<uint8_t>(rcode >> 4), ede);
    write_u16(out + kOffArCount, 1);
  }
  return pos;
}

}  // namespace sinkhole::dns
