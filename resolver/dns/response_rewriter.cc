// SPDX-License-Identifier: MIT
#include "resolver/dns/response_rewriter.h"

#include <cstring>

namespace sinkhole::dns {

Rewritten rewrite_response(const ClientQuery& cq, const uint8_t* resp, const MessageView& m,
                           uint8_t* out) noexcept {
  Rewritten r;
  if (!m.ok || !m.opt_is_last() || cq.question_len != m.qname_len + 4) return r;

  const uint16_t rcode = m.rcode();
  // AA is not copied: a resolver answers from others' authority, never its own.
  uint16_t f = reply_flags(cq.flags, rcode);
  // RFC 6840 §5.8: AD only for clients that asked for DNSSEC data or set AD themselves.
  if ((cq.do_bit || (cq.flags & flags::kAd)) && (m.flags & flags::kAd)) f |= flags::kAd;

  const size_t body_end = m.has_opt ? m.opt_off : m.end;
  const size_t body_len = body_end - m.question_end;
  const size_t opt_len = cq.has_opt ? kOptFixedSize : 0;
  const size_t total = kHeaderSize + cq.question_len + body_len + opt_len;
  if (total > cq.reply_limit) {
    r.size = build_truncated(cq, rcode, out);
    r.result = RewriteResult::kTruncated;
    return r;
  }
  write_u16(out + kOffId, cq.id);
  write_u16(out + kOffFlags, f);
  write_u16(out + kOffQdCount, 1);
  write_u16(out + kOffAnCount, m.ancount);
  write_u16(out + kOffNsCount, m.nscount);
  const uint16_t ar = m.arcount - (m.has_opt ? 1 : 0) + (cq.has_opt ? 1 : 0);
  write_u16(out + kOffArCount, ar);
  // The question has the same length as the upstream's, so every compression pointer
  // in the copied sections still points at the same bytes.
  std::memcpy(out + kHeaderSize, cq.question, cq.question_len);
  std::memcpy(out + kHeaderSize + cq.question_len, resp + m.question_end, body_len);
  size_t pos = kHeaderSize + cq.question_len + body_len;
  if (cq.has_opt) pos += write_opt(out + pos, cq, m.ext_rcode);
  r.size = pos;
  r.result = RewriteResult::kOk;
  return r;
}

}  // namespace sinkhole::dns
