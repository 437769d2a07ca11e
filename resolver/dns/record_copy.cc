// SPDX-License-Identifier: MIT
#include "resolver/dns/record_copy.h"

#include <cstring>

#include "resolver/dns/name.h"
#include "resolver/dns/query_view.h"

namespace sinkhole::dns {

namespace {
// Expands the name at `off` into `out`; returns its expanded length or 0.
size_t expand(const uint8_t* msg, size_t len, size_t off, uint8_t* out, size_t cap, size_t* end) {
  if (cap < kMaxNameWire) return 0;
  const NameWalk w = walk_name(msg, len, off, /*allow_pointers=*/true, out);
  if (w.error != NameError::kNone) return 0;
  if (end) *end = w.end;
  return w.wire_len;
}
}  // namespace

CopiedRecords copy_records_expanded(const uint8_t* msg, size_t len, size_t off, size_t count,
                                    uint8_t* out, size_t cap) {
  CopiedRecords c;
  size_t pos = off;
  for (size_t i = 0; i < count; ++i) {
    const RecordSpan r = skip_record(msg, len, pos);
    if (r.end == 0 || c.bytes + kMaxNameWire * 3 + 10 + r.rdlen > cap) {
      c.ok = false;
      return c;
    }
    uint8_t* o = out + c.bytes;
    size_t n = expand(msg, len, pos, o, cap - c.bytes, nullptr);
    if (n == 0) return c.ok = false, c;
    write_u16(o + n, r.type);
    write_u16(o + n + 2, r.rclass);
    write_u32(o + n + 4, r.ttl);
    uint8_t* rdlen_at = o + n + 8;
    uint8_t* rd = o + n + 10;
    size_t rdlen = 0;
    size_t name_end = 0;
    switch (r.type) {
      case rrtype::kCname:
      case rrtype::kDname:
      case rrtype::kNs:
      case 12:  // PTR
        rdlen = expand(msg, len, r.rdata_off, rd, kMaxNameWire, nullptr);
        if (rdlen == 0) return c.ok = false, c;
        break;
      case rrtype::kMx:
        if (r.rdlen < 3) return c.ok = false, c;
        std::memcpy(rd, msg + r.rdata_off, 2);
        rdlen = 2 + expand(msg, len, r.rdata_off + 2, rd + 2, kMaxNameWire, nullptr);
        if (rdlen == 2) return c.ok = false, c;
        break;
      case rrtype::kSoa: {
        const size_t m = expand(msg, len, r.rdata_off, rd, kMaxNameWire, &name_end);
        size_t e2 = 0;
        const size_t rn = m ? expand(msg, len, name_end, rd + m, kMaxNameWire, &e2) : 0;
        if (m == 0 || rn == 0 || e2 + 20 > r.rdata_off + r.rdlen) return c.ok = false, c;
        std::memcpy(rd + m + rn, msg + e2, 20);
        rdlen = m + rn + 20;
        break;
      }
      default:  // no compressible names (RFC 3597 §4): copy as is
        std::memcpy(rd, msg + r.rdata_off, r.rdlen);
        rdlen = r.rdlen;
        break;
    }
    write_u16(rdlen_at, static_cast<uint16_t>(rdlen));
    c.bytes += n + 10 + rdlen;
    ++c.count;
    pos = r.end;
  }
  return c;
}

}  // namespace sinkhole::dns
