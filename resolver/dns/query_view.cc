// SPDX-License-Identifier: MIT
#include "resolver/dns/query_view.h"

#include "resolver/dns/name.h"

namespace sinkhole::dns {

const char* to_string(ParseOutcome o) {
  switch (o) {
    case ParseOutcome::kOk:
      return "ok";
    case ParseOutcome::kDropShortHeader:
      return "short_header";
    case ParseOutcome::kDropResponse:
      return "qr_set";
    case ParseOutcome::kNotImp:
      return "opcode_not_query";
    case ParseOutcome::kFormErrQdCount:
      return "qdcount";
    case ParseOutcome::kFormErrNamePastEnd:
      return "name_past_end";
    case ParseOutcome::kFormErrBadLabelType:
      return "bad_label_type";
    case ParseOutcome::kFormErrPointerLoop:
      return "pointer_loop";
    case ParseOutcome::kFormErrForwardPointer:
      return "forward_pointer";
    case ParseOutcome::kFormErrPointerPastEnd:
      return "pointer_past_end";
    case ParseOutcome::kFormErrNameTooLong:
      return "name_too_long";
    case ParseOutcome::kFormErrShortQuestion:
      return "short_question";
    case ParseOutcome::kFormErrRecordPastEnd:
      return "record_past_end";
    case ParseOutcome::kFormErrOptNotRoot:
      return "opt_not_root";
    case ParseOutcome::kFormErrTwoOpt:
      return "two_opt";
    case ParseOutcome::kFormErrOptPastEnd:
      return "opt_past_end";
    case ParseOutcome::kFormErrPointerHops:
      return "pointer_hops";
    case ParseOutcome::kFormErrAnCount:
      return "ancount";
    case ParseOutcome::kFormErrNsCount:
      return "nscount";
    case ParseOutcome::kFormErrArCount:
      return "arcount";
    case ParseOutcome::kFormErrAdditionalType:
      return "additional_type";
    case ParseOutcome::kBadVers:
      return "bad_edns_version";
    case ParseOutcome::kCount:
      break;
  }
  return "?";
}

namespace {

ParseOutcome name_outcome(NameError e) {
  switch (e) {
    case NameError::kNone:
      return ParseOutcome::kOk;
    case NameError::kPastEnd:
      return ParseOutcome::kFormErrNamePastEnd;
    case NameError::kBadLabelType:
      return ParseOutcome::kFormErrBadLabelType;
    case NameError::kPointerLoop:
      return ParseOutcome::kFormErrPointerLoop;
    case NameError::kForwardPointer:
      return ParseOutcome::kFormErrForwardPointer;
    case NameError::kPointerPastEnd:
      return ParseOutcome::kFormErrPointerPastEnd;
    case NameError::kTooLong:
      return ParseOutcome::kFormErrNameTooLong;
    case NameError::kTooManyPointers:
      return ParseOutcome::kFormErrPointerHops;
  }
  return ParseOutcome::kFormErrNamePastEnd;
}

// Walks the EDNS options so that a lying option length is caught here, once.
bool options_fit(const uint8_t* msg, size_t off, size_t len) {
  size_t pos = off;
  const size_t end = off + len;
  while (pos < end) {
    if (pos + 4 > end) return false;
    const size_t opt_len = read_u16(msg + pos + 2);
    pos += 4 + opt_len;
    if (pos > end) return false;
  }
  return true;
}

}  // namespace

RecordSpan skip_record(const uint8_t* msg, size_t len, size_t off, unsigned max_hops) noexcept {
  RecordSpan r;
  r.name_off = off;
  const NameWalk w = walk_name(msg, len, off, /*allow_pointers=*/true, nullptr, false, max_hops);
  if (w.error != NameError::kNone) {
    r.name_error = static_cast<uint8_t>(w.error);
    return r;
  }
  size_t pos = w.end;
  if (pos + 10 > len) return r;
  r.type = read_u16(msg + pos);
  r.rclass = read_u16(msg + pos + 2);
  r.ttl_off = pos + 4;
  r.ttl = read_u32(msg + pos + 4);
  r.rdlen = read_u16(msg + pos + 8);
  r.rdata_off = pos + 10;
  if (r.rdata_off + r.rdlen > len) return r;
  r.end = r.rdata_off + r.rdlen;
  return r;
}

QueryView parse_query(const uint8_t* msg, size_t len) noexcept {
  QueryView q;
  if (len < kHeaderSize) return q;  // kDropShortHeader
  q.id = read_u16(msg + kOffId);
  q.flags = read_u16(msg + kOffFlags);
  if (q.flags & flags::kQr) return q.outcome = ParseOutcome::kDropResponse, q;

  const uint16_t qd = read_u16(msg + kOffQdCount);
  const uint16_t an = read_u16(msg + kOffAnCount);
  const uint16_t ns = read_u16(msg + kOffNsCount);
  const uint16_t ar = read_u16(msg + kOffArCount);

  // The question is read even for other opcodes, so NOTIMP can echo it.
  ParseOutcome question_outcome = ParseOutcome::kOk;
  size_t pos = kHeaderSize;
  if (qd != 1) {
    question_outcome = ParseOutcome::kFormErrQdCount;
  } else {
    const NameWalk w = walk_name(msg, len, kHeaderSize, /*allow_pointers=*/true, nullptr, false,
                                 kMaxQueryPointerHops);
    if (w.error != NameError::kNone) {
      question_outcome = name_outcome(w.error);
    } else if (w.end + 4 > len) {
      question_outcome = ParseOutcome::kFormErrShortQuestion;
    } else if (w.compressed) {
      // Nothing precedes the question that a pointer could legally reference.
      question_outcome = ParseOutcome::kFormErrForwardPointer;
    } else {
      q.qname_len = w.wire_len;
      q.qtype = read_u16(msg + w.end);
      q.qclass = read_u16(msg + w.end + 2);
      q.question_ok = true;
      pos = w.end + 4;
    }
  }
  if (q.opcode() != 0) return q.outcome = ParseOutcome::kNotImp, q;
  if (question_outcome != ParseOutcome::kOk) return q.outcome = question_outcome, q;

  // Decided from the counts alone, before any record is walked.
  if (an != 0) return q.outcome = ParseOutcome::kFormErrAnCount, q;
  // An IXFR query carries the client's SOA in its authority section (RFC 1995 §3), so that
  // it gets its REFUSED (a zone transfer) rather than a FORMERR.
  if (ns > (q.qtype == rrtype::kIxfr ? 1 : 0)) return q.outcome = ParseOutcome::kFormErrNsCount, q;
  if (ar > 2) return q.outcome = ParseOutcome::kFormErrArCount, q;

  for (size_t i = 0; i < size_t{ns} + ar; ++i) {
    // Counts promising records after the last byte are lying counts, not bad names.
    if (pos >= len) return q.outcome = ParseOutcome::kFormErrRecordPastEnd, q;
    const RecordSpan r = skip_record(msg, len, pos, kMaxQueryPointerHops);
    if (r.name_error) return q.outcome = name_outcome(static_cast<NameError>(r.name_error)), q;
    if (r.end == 0) {
      const bool is_opt = i >= ns && r.rdata_off != 0 && r.type == rrtype::kOpt;
      return q.outcome =
                 is_opt ? ParseOutcome::kFormErrOptPastEnd : ParseOutcome::kFormErrRecordPastEnd,
             q;
    }
    const bool additional = i >= ns;  // else the IXFR's SOA, skipped
    if (additional && r.type == rrtype::kOpt) {
      if (q.has_opt) return q.outcome = ParseOutcome::kFormErrTwoOpt, q;
      if (msg[r.name_off] != 0) return q.outcome = ParseOutcome::kFormErrOptNotRoot, q;
      if (!options_fit(msg, r.rdata_off, r.rdlen))
        return q.outcome = ParseOutcome::kFormErrOptPastEnd, q;
      q.has_opt = true;
      q.udp_payload = r.rclass;
      q.edns_version = static_cast<uint8_t>(r.ttl >> 16);
      q.do_bit = r.ttl & kEdnsDoBit;
      q.opt_rdata_off = r.rdata_off;
      q.opt_rdata_len = r.rdlen;
    } else if (additional && (r.type != rrtype::kTsig || i + 1 != size_t{ns} + ar)) {
      // RFC 8945 §5.1: a TSIG is the last record. It is not verified (see above).
      return q.outcome = ParseOutcome::kFormErrAdditionalType, q;
    }
    pos = r.end;
  }
  // Bytes after the last record are ignored, as Unbound and Knot do.
  if (q.has_opt && q.edns_version > 0) return q.outcome = ParseOutcome::kBadVers, q;
  q.outcome = ParseOutcome::kOk;
  return q;
}

}  // namespace sinkhole::dns
