// SPDX-License-Identifier: MIT
#include "resolver/dns/chain_answer.h"

#include <algorithm>
#include <cstring>

#include "resolver/dns/name.h"
#include "resolver/dns/query_view.h"
#include "resolver/dns/record_copy.h"

namespace sinkhole::dns {

namespace {
// Room kept at the end for our OPT and its EDE text (write_opt writes at most this much).
constexpr size_t kOptRoom = 600;
// Links followed inside one message at most: each pass over the answer section costs one
// name walk per record, so a crafted answer of thousands of CNAMEs stays cheap.
constexpr size_t kMaxLinksInMessage = 32;
constexpr uint16_t kTypeAny = 255;

// The expanded, lower-cased name at `off`; 0 when it cannot be read.
size_t read_name(const uint8_t* msg, size_t len, size_t off, uint8_t* out) {
  const NameWalk w = walk_name(msg, len, off, /*allow_pointers=*/true, out, /*lower=*/true);
  return w.error == NameError::kNone ? w.wire_len : 0;
}

// The name `cur` ends up at through one CNAME owned by `cur` or, failing that, a DNAME
// owned by one of its ancestors (RFC 6672 substitution); 0 when the chain stops at `cur`.
size_t next_link(const uint8_t* msg, const MessageView& m, const uint8_t* cur, size_t cur_len,
                 uint8_t* next) {
  uint8_t owner[kMaxNameWire];
  size_t dname_len = 0;
  uint8_t dname_target[kMaxNameWire];
  size_t dname_owner_len = 0;
  size_t pos = m.question_end;
  for (size_t i = 0; i < m.ancount; ++i) {
    const RecordSpan r = skip_record(msg, m.end, pos);
    if (r.end == 0) return 0;
    pos = r.end;
    if (r.type != rrtype::kCname && r.type != rrtype::kDname) continue;
    const size_t owner_len = read_name(msg, m.end, r.name_off, owner);
    if (owner_len == 0) continue;
    if (r.type == rrtype::kCname) {
      if (owner_len == cur_len && std::memcmp(owner, cur, cur_len) == 0)
        return read_name(msg, m.end, r.rdata_off, next);
    } else if (dname_len == 0 && owner_len < cur_len &&
               name_at_or_below(cur, cur_len, owner, owner_len)) {
      dname_len = read_name(msg, m.end, r.rdata_off, dname_target);
      dname_owner_len = owner_len;
    }
  }
  if (dname_len == 0) return 0;
  // The labels of `cur` above the DNAME's owner, then the DNAME's target.
  const size_t keep = cur_len - dname_owner_len;
  if (keep + dname_len > kMaxNameWire) return 0;  // YXDOMAIN: nothing to follow
  std::memcpy(next, cur, keep);
  std::memcpy(next + keep, dname_target, dname_len);
  return keep + dname_len;
}

// True when the authority section says the chain's end needs no question of ours: a SOA
// at or above it (the target's zone says NODATA) or a referral to a zone holding it that
// does not hold the question name (we forward; we do not follow referrals).
bool authority_settles(const uint8_t* msg, const MessageView& m, const uint8_t* end, size_t end_len,
                       const uint8_t* qname, size_t qname_len) {
  size_t pos = m.question_end;
  for (size_t i = 0; i < m.ancount; ++i) {
    const RecordSpan r = skip_record(msg, m.end, pos);
    if (r.end == 0) return true;
    pos = r.end;
  }
  uint8_t owner[kMaxNameWire];
  for (size_t i = 0; i < m.nscount; ++i) {
    const RecordSpan r = skip_record(msg, m.end, pos);
    if (r.end == 0) return true;
    pos = r.end;
    if (r.type != rrtype::kSoa && r.type != rrtype::kNs) continue;
    const size_t owner_len = read_name(msg, m.end, r.name_off, owner);
    if (owner_len == 0 || !name_at_or_below(end, end_len, owner, owner_len)) continue;
    if (r.type == rrtype::kSoa) return true;
    if (!name_at_or_below(qname, qname_len, owner, owner_len)) return true;
  }
  return false;
}
}  // namespace

bool name_at_or_below(const uint8_t* name, size_t name_len, const uint8_t* zone,
                      size_t zone_len) noexcept {
  if (zone_len == 0 || zone_len > name_len) return false;
  for (size_t pos = 0; pos < name_len && name[pos] != 0; pos += 1 + name[pos]) {
    if (name_len - pos == zone_len) return wire_names_equal_ci(name + pos, zone, zone_len);
    if (name_len - pos < zone_len) return false;
  }
  return zone_len == 1 && zone[0] == 0;  // the root holds every name
}

ChainEnd find_chain_end(const uint8_t* msg, const MessageView& m) {
  ChainEnd e;
  if (!m.ok || m.rcode() != 0 || m.ancount == 0) return e;
  if (m.qtype == rrtype::kCname || m.qtype == rrtype::kDname || m.qtype == kTypeAny) return e;
  // Most answers hold records of the asked type or no alias at all: one pass decides.
  bool alias = false;
  size_t pos = m.question_end;
  for (size_t i = 0; i < m.ancount; ++i) {
    const RecordSpan r = skip_record(msg, m.end, pos);
    if (r.end == 0 || r.type == m.qtype) return e;
    alias = alias || r.type == rrtype::kCname || r.type == rrtype::kDname;
    pos = r.end;
  }
  if (!alias) return e;
  uint8_t qname[kMaxNameWire];
  const size_t qname_len = read_name(msg, m.end, kHeaderSize, qname);
  if (qname_len == 0) return e;
  uint8_t cur[kMaxNameWire], next[kMaxNameWire];
  std::memcpy(cur, qname, qname_len);
  size_t cur_len = qname_len;
  const size_t max_links = std::min<size_t>(m.ancount, kMaxLinksInMessage);
  for (;;) {
    const size_t next_len = next_link(msg, m, cur, cur_len, next);
    if (next_len == 0) break;
    if (++e.links > max_links) {
      e.kind = ChainEnd::Kind::kLoop;
      return e;
    }
    std::memcpy(cur, next, next_len);
    cur_len = next_len;
  }
  if (e.links == 0 || authority_settles(msg, m, cur, cur_len, qname, qname_len)) return e;
  e.kind = ChainEnd::Kind::kChase;
  std::memcpy(e.target, cur, cur_len);
  e.target_len = cur_len;
  return e;
}

size_t build_chain_answer(const ClientQuery& cq, uint16_t rcode, const uint8_t* prefix,
                          size_t prefix_len, size_t prefix_count, const uint8_t* resp,
                          const MessageView& m, bool with_authority, Ede ede, uint8_t* out) {
  build_rcode_reply(cq, rcode, out);  // header and question; the sections follow
  size_t pos = kHeaderSize + cq.question_len;
  if (pos + prefix_len + kOptRoom > kMaxMessage) return 0;
  if (prefix_len) std::memcpy(out + pos, prefix, prefix_len);
  pos += prefix_len;
  const CopiedRecords an = copy_records_expanded(resp, m.end, m.question_end, m.ancount, out + pos,
                                                 kMaxMessage - pos - kOptRoom);
  if (!an.ok) return 0;
  pos += an.bytes;
  size_t ns = 0;
  if (with_authority && m.nscount) {
    size_t auth = m.question_end;
    for (size_t i = 0; i < m.ancount; ++i) auth = skip_record(resp, m.end, auth).end;
    const CopiedRecords copied = copy_records_expanded(resp, m.end, auth, m.nscount, out + pos,
                                                       kMaxMessage - pos - kOptRoom);
    if (!copied.ok) return 0;
    pos += copied.bytes;
    ns = copied.count;
  }
  const size_t answers = prefix_count + an.count;
  if (answers > 0xFFFF) return 0;
  write_u16(out + kOffAnCount, static_cast<uint16_t>(answers));
  write_u16(out + kOffNsCount, static_cast<uint16_t>(ns));
  write_u16(out + kOffArCount, 0);
  if (cq.has_opt) {
    pos += write_opt(out + pos, cq, static_cast<uint8_t>(rcode >> 4), ede);
    write_u16(out + kOffArCount, 1);
  }
  return pos;
}

}  // namespace sinkhole::dns
