// SPDX-License-Identifier: MIT
#include "resolver/dns/answer_builder.h"

#include <algorithm>
#include <cstring>

#include "resolver/dns/name.h"

namespace sinkhole::dns {

size_t udp_reply_limit(const QueryView& q, uint16_t our_max_payload) {
  if (!q.has_opt) return kMaxUdpNoEdns;
  // RFC 6891 §6.2.5: values below 512 are treated as 512.
  const size_t client = std::max<size_t>(q.udp_payload, kMaxUdpNoEdns);
  const size_t ours = std::max<size_t>(our_max_payload, kMaxUdpNoEdns);
  return std::min(client, ours);
}

ClientQuery client_query_from(const QueryView& q, const uint8_t* msg, uint16_t our_payload,
                              size_t reply_limit) {
  ClientQuery cq;
  cq.id = q.id;
  cq.flags = q.flags;
  if (q.question_ok) {
    cq.question = msg + q.qname_off;
    cq.question_len = q.question_len();
  }
  cq.has_opt = q.has_opt;
  cq.do_bit = q.do_bit;
  cq.our_payload = our_payload;
  cq.reply_limit = reply_limit;
  return cq;
}

uint16_t reply_flags(uint16_t client_flags, uint16_t rcode) {
  return flags::kQr | (client_flags & (flags::kOpcodeMask | flags::kRd | flags::kCd)) | flags::kRa |
         (rcode & flags::kRcodeMask);
}

size_t write_opt(uint8_t* out, const ClientQuery& cq, uint8_t ext_rcode, Ede e) {
  out[0] = 0;  // root owner
  write_u16(out + 1, rrtype::kOpt);
  write_u16(out + 3, cq.our_payload);
  // TTL field: extended rcode, version 0, DO echoed (RFC 3225 §3), other flags zero.
  write_u32(out + 5, uint32_t{ext_rcode} << 24 | (cq.do_bit ? kEdnsDoBit : 0));
  size_t rdlen = 0;
  if (e.code != kNoEde) {
    const size_t text_len = std::min<size_t>(e.text.size(), 512);
    uint8_t* opt = out + kOptFixedSize;
    write_u16(opt, 15);  // EDE option code, RFC 8914 §2
    write_u16(opt + 2, static_cast<uint16_t>(2 + text_len));
    write_u16(opt + 4, e.code);
    if (text_len) std::memcpy(opt + 6, e.text.data(), text_len);  // data() may be null
    rdlen = 6 + text_len;
  }
  write_u16(out + 9, static_cast<uint16_t>(rdlen));
  return kOptFixedSize + rdlen;
}

namespace {

// Header + question; counts are set by the caller once the sections are known.
size_t write_head(const ClientQuery& cq, uint16_t rcode, uint8_t* out) {
  write_u16(out + kOffId, cq.id);
  write_u16(out + kOffFlags, reply_flags(cq.flags, rcode));
  write_u16(out + kOffQdCount, cq.question_len ? 1 : 0);
  write_u16(out + kOffAnCount, 0);
  write_u16(out + kOffNsCount, 0);
  write_u16(out + kOffArCount, 0);
  if (cq.question_len) std::memcpy(out + kHeaderSize, cq.question, cq.question_len);
  return kHeaderSize + cq.question_len;
}

size_t finish(const ClientQuery& cq, uint16_t rcode, uint8_t* out, size_t pos, Ede e) {
  if (cq.has_opt) {
    pos += write_opt(out + pos, cq, static_cast<uint8_t>(rcode >> 4), e);
    write_u16(out + kOffArCount, read_u16(out + kOffArCount) + 1);
  }
  return pos;
}

uint16_t question_class(const ClientQuery& cq) {
  return read_u16(cq.question + cq.question_len - 2);
}

}  // namespace

size_t build_rcode_reply(const ClientQuery& cq, uint16_t rcode, uint8_t* out, Ede e) {
  return finish(cq, rcode, out, write_head(cq, rcode, out), e);
}

size_t build_echo_flags_reply(const ClientQuery& cq, uint16_t rcode, uint8_t* out) {
  const size_t n = build_rcode_reply(cq, rcode, out);
  write_u16(out + kOffFlags, static_cast<uint16_t>(flags::kQr | (cq.flags & ~flags::kTc & 0x7FF0) |
                                                   (rcode & flags::kRcodeMask)));
  return n;
}

size_t build_truncated(const ClientQuery& cq, uint16_t rcode, uint8_t* out) {
  const size_t n = build_rcode_reply(cq, rcode, out);
  write_u16(out + kOffFlags, read_u16(out + kOffFlags) | flags::kTc);
  return n;
}

size_t build_slip(const uint8_t* reply, size_t len, uint8_t* out) {
  if (len < kHeaderSize) return 0;
  size_t end = kHeaderSize;
  if (read_u16(reply + kOffQdCount) == 1) {
    const NameWalk w = walk_name(reply, len, kHeaderSize, /*allow_pointers=*/false);
    if (w.error == NameError::kNone && w.end + 4 <= len) end = w.end + 4;
  }
  std::memmove(out, reply, end);
  write_u16(out + kOffFlags, read_u16(out + kOffFlags) | flags::kTc);
  write_u16(out + kOffQdCount, end > kHeaderSize ? 1 : 0);
  write_u16(out + kOffAnCount, 0);
  write_u16(out + kOffNsCount, 0);
  write_u16(out + kOffArCount, 0);
  return end;
}

namespace {
// One answer record whose owner is a pointer to the question name.
size_t write_answer(uint8_t* out, uint16_t type, uint16_t rclass, uint32_t ttl,
                    const uint8_t* rdata, size_t rdlen) {
  write_u16(out, 0xC000 | kHeaderSize);
  write_u16(out + 2, type);
  write_u16(out + 4, rclass);
  write_u32(out + 6, ttl);
  write_u16(out + 10, static_cast<uint16_t>(rdlen));
  std::memcpy(out + 12, rdata, rdlen);
  return 12 + rdlen;
}
}  // namespace

size_t build_chaos_txt(const ClientQuery& cq, std::string_view text, uint8_t* out) {
  size_t pos = write_head(cq, 0, out);
  uint8_t rdata[256];
  const size_t n = std::min<size_t>(text.size(), 255);
  rdata[0] = static_cast<uint8_t>(n);
  std::memcpy(rdata + 1, text.data(), n);
  pos += write_answer(out + pos, rrtype::kTxt, rrclass::kCh, 0, rdata, n + 1);
  write_u16(out + kOffAnCount, 1);
  return finish(cq, 0, out, pos, {});
}

size_t build_any_hinfo(const ClientQuery& cq, uint8_t* out) {
  size_t pos = write_head(cq, 0, out);
  static constexpr uint8_t kRdata[] = {7, 'R', 'F', 'C', '8', '4', '8', '2', 0};
  // RFC 8482 §4.2 suggests a TTL of 3600 for the synthesized HINFO.
  pos += write_answer(out + pos, rrtype::kHinfo, question_class(cq), 3600, kRdata, sizeof kRdata);
  write_u16(out + kOffAnCount, 1);
  return finish(cq, 0, out, pos, {});
}

}  // namespace sinkhole::dns
