// SPDX-License-Identifier: MIT
#include "resolver/dns/message_view.h"

#include "resolver/dns/name.h"
#include "resolver/dns/query_view.h"

namespace sinkhole::dns {

MessageView parse_message(const uint8_t* msg, size_t len) noexcept {
  MessageView m;
  if (len < kHeaderSize) return m;
  m.id = read_u16(msg + kOffId);
  m.flags = read_u16(msg + kOffFlags);
  m.qdcount = read_u16(msg + kOffQdCount);
  m.ancount = read_u16(msg + kOffAnCount);
  m.nscount = read_u16(msg + kOffNsCount);
  m.arcount = read_u16(msg + kOffArCount);
  if (m.qdcount != 1) return m;

  const NameWalk w = walk_name(msg, len, kHeaderSize, /*allow_pointers=*/false);
  if (w.error != NameError::kNone || w.end + 4 > len) return m;
  m.qname_len = w.wire_len;
  m.qtype = read_u16(msg + w.end);
  m.qclass = read_u16(msg + w.end + 2);
  m.question_end = w.end + 4;

  size_t pos = m.question_end;
  const size_t records = size_t{m.ancount} + m.nscount + m.arcount;
  for (size_t i = 0; i < records; ++i) {
    const RecordSpan r = skip_record(msg, len, pos);
    if (r.end == 0) return m;
    if (i >= size_t{m.ancount} + m.nscount && r.type == rrtype::kOpt) {
      if (m.has_opt || msg[r.name_off] != 0) return m;
      m.has_opt = true;
      m.opt_off = pos;
      m.opt_end = r.end;
      m.ext_rcode = static_cast<uint8_t>(r.ttl >> 24);
    }
    pos = r.end;
  }
  m.end = pos;
  // A reply is rebuilt from the bytes before the OPT (which is replaced) and before what
  // follows the last record (ignored): an owner name whose compression pointer reads them
  // would not survive the rewrite, so such a message is malformed here (found by
  // tests/fuzz/fuzz_upstream_response).
  const size_t body_end = m.has_opt ? m.opt_off : m.end;
  if (body_end < len) {
    for (pos = m.question_end; pos < body_end;) {
      const RecordSpan r = skip_record(msg, body_end, pos);
      if (r.end == 0) return m;
      pos = r.end;
    }
  }
  m.ok = true;
  return m;
}

}  // namespace sinkhole::dns
