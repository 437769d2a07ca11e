// SPDX-License-Identifier: MIT
// QueryView: a read-only view of one client query, parsed in place over the receive
// buffer. It keeps offsets, never copies, never allocates, and lives only as long as the
// buffer (one receive callback). Every malformed class has its own ParseOutcome so that
// the worker can count it.
//
// A query may carry an OPT and a TSIG in its additional section and nothing else: answer
// or authority records (Unbound answers FORMERR too; NOTIFY and UPDATE, which carry them,
// are NOTIMP here), more than two additional records, or another additional type are
// FORMERR, decided from the header counts before any record is walked. The one exception
// is an IXFR's SOA in the authority section (RFC 1995), so that an IXFR gets the REFUSED
// of every zone transfer (Unbound answers it FORMERR). So a parse reads at most four names, each of
// at most kMaxQueryPointerHops pointers: a hostile 64 KB query costs what a normal one does.
// Unbound accepts one additional record only; two are allowed here so that a TSIG-signed query with
// EDNS is answered (unsigned: TSIG is not implemented, as in Unbound, which answers such a query
// without a TSIG).
#pragma once

#include <cstddef>
#include <cstdint>

#include "resolver/dns/name.h"
#include "resolver/dns/wire.h"

namespace sinkhole::dns {

// What the parser concluded. Drop* outcomes get no answer; FormErr* get FORMERR.
enum class ParseOutcome : uint8_t {
  kOk,
  kDropShortHeader,  // fewer than 12 bytes: nothing to answer to
  kDropResponse,     // QR=1: never answer a response (reflection loops)
  kNotImp,           // opcode other than QUERY
  kFormErrQdCount,   // qdcount != 1
  kFormErrNamePastEnd,
  kFormErrBadLabelType,
  kFormErrPointerLoop,
  kFormErrForwardPointer,
  kFormErrPointerPastEnd,
  kFormErrNameTooLong,
  kFormErrShortQuestion,  // qtype/qclass missing
  kFormErrRecordPastEnd,  // counts promise records that are not there
  kFormErrOptNotRoot,
  kFormErrTwoOpt,
  kFormErrOptPastEnd,      // OPT rdlength or an option runs past the end
  kFormErrPointerHops,     // a name follows more than kMaxQueryPointerHops pointers
  kFormErrAnCount,         // answer records in a query
  kFormErrNsCount,         // authority records in a query
  kFormErrArCount,         // more than two additional records (OPT and TSIG at most)
  kFormErrAdditionalType,  // an additional record other than OPT or TSIG (or TSIG not last)
  kBadVers,                // EDNS version > 0 (RFC 6891 §6.1.3)
  kCount
};

const char* to_string(ParseOutcome o);

struct QueryView {
  ParseOutcome outcome = ParseOutcome::kDropShortHeader;

  // Header (valid unless kDropShortHeader).
  uint16_t id = 0;
  uint16_t flags = 0;

  // Question (valid when question_ok).
  bool question_ok = false;
  size_t qname_off = kHeaderSize;
  size_t qname_len = 0;  // uncompressed wire length, root label included
  uint16_t qtype = 0;
  uint16_t qclass = 0;

  // EDNS (valid when has_opt).
  bool has_opt = false;
  uint16_t udp_payload = 0;  // as sent; callers clamp
  uint8_t edns_version = 0;
  bool do_bit = false;
  size_t opt_rdata_off = 0;
  size_t opt_rdata_len = 0;

  const uint8_t* qname(const uint8_t* msg) const { return msg + qname_off; }
  // The question section exactly as the client sent it: name + qtype + qclass.
  size_t question_len() const { return qname_len + 4; }
  uint16_t opcode() const { return (flags & flags::kOpcodeMask) >> 11; }
  bool rd() const { return flags & flags::kRd; }
  bool cd() const { return flags & flags::kCd; }
  bool ok() const { return outcome == ParseOutcome::kOk; }
};

// Parses `msg[0..len)` as a client query. Never reads outside the buffer.
QueryView parse_query(const uint8_t* msg, size_t len) noexcept;

// Skips one resource record starting at `off`; returns its end offset, or 0 if it does not
// fit. `type`, `rdata_off`, `rdlen` are filled when non-null. Used for queries and responses.
struct RecordSpan {
  size_t name_off = 0;
  size_t end = 0;  // 0 = malformed
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  size_t ttl_off = 0;
  size_t rdata_off = 0;
  uint16_t rdlen = 0;
  uint8_t name_error = 0;  // a NameError value when the owner name is bad
};
RecordSpan skip_record(const uint8_t* msg, size_t len, size_t off,
                       unsigned max_hops = kMaxPointerHops) noexcept;

}  // namespace sinkhole::dns
