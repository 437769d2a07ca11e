// SPDX-License-Identifier: MIT
#include "resolver/pipeline/meta_stage.h"

#include "resolver/dns/name.h"

namespace sinkhole::pipeline {

using metrics::Counter;
namespace rrtype = dns::rrtype;

namespace {

constexpr auto kRefused = static_cast<uint16_t>(dns::Rcode::kRefused);
constexpr auto kFormErr = static_cast<uint16_t>(dns::Rcode::kFormErr);

// ParseOutcome → its counter; the two enums list the malformed classes in the same order.
Counter parse_counter(dns::ParseOutcome o) {
  return static_cast<Counter>(static_cast<size_t>(Counter::kDropShortHeader) +
                              static_cast<size_t>(o) -
                              static_cast<size_t>(dns::ParseOutcome::kDropShortHeader));
}
static_assert(static_cast<size_t>(Counter::kBadVers) -
                  static_cast<size_t>(Counter::kDropShortHeader) ==
              static_cast<size_t>(dns::ParseOutcome::kBadVers) -
                  static_cast<size_t>(dns::ParseOutcome::kDropShortHeader));

// Compares a wire name with a few fixed CHAOS names, case-insensitively.
bool qname_is(const uint8_t* qname, size_t len, const char* text) {
  uint8_t wire[dns::kMaxNameWire];
  const size_t n = dns::text_to_wire(text, wire);
  return n == len && dns::wire_names_equal_ci(qname, wire, n);
}

// CH TXT: the configured version or identity, or nothing (then REFUSED).
const std::optional<std::string>* chaos_text(const dns::QueryView& q, const uint8_t* name,
                                             const config::ServerConfig& server) {
  if (q.qtype != rrtype::kTxt) return nullptr;
  if (qname_is(name, q.qname_len, "version.bind") || qname_is(name, q.qname_len, "version.server"))
    return &server.version;
  if (qname_is(name, q.qname_len, "id.server") || qname_is(name, q.qname_len, "hostname.bind"))
    return &server.identity;
  return nullptr;
}

}  // namespace

Step reject_malformed(const dns::QueryView& q, dns::ClientQuery cq,
                      metrics::WorkerCounters& counters, uint8_t* out) {
  counters.inc(parse_counter(q.outcome));
  uint16_t rcode = 0;
  switch (q.outcome) {
    case dns::ParseOutcome::kDropShortHeader:
    case dns::ParseOutcome::kDropResponse:
      return Step::drop();
    case dns::ParseOutcome::kNotImp:
      // NOTIFY (a later issue) and UPDATE included. Flags as Unbound sets them.
      rcode = static_cast<uint16_t>(dns::Rcode::kNotImp);
      return Step::reply(rcode, dns::build_echo_flags_reply(cq, rcode, out));
    case dns::ParseOutcome::kBadVers:
      rcode = static_cast<uint16_t>(dns::Rcode::kBadVers);
      break;
    default:
      rcode = static_cast<uint16_t>(dns::Rcode::kFormErr);
      // A FORMERR for a broken OPT carries no OPT of ours; BADVERS must (RFC 6891 §6.1.3).
      cq.has_opt = false;
      break;
  }
  return Step::reply(rcode, dns::build_rcode_reply(cq, rcode, out));
}

Step answer_meta(const dns::QueryView& q, const dns::ClientQuery& cq,
                 const config::ServerConfig& server, metrics::WorkerCounters& counters,
                 uint8_t* out) {
  if (q.qtype == rrtype::kAxfr || q.qtype == rrtype::kIxfr) {
    counters.inc(Counter::kRefusedZoneTransfer);
    return Step::reply(kRefused,
                       dns::build_rcode_reply(cq, kRefused, out, {dns::ede::kProhibited, {}}));
  }
  if (rrtype::is_meta_qtype(q.qtype)) {
    // Never forwarded: there is no such data to look up. Unbound answers FORMERR too (and
    // forwards qtype 0, which RFC 6895 reserves; it is FORMERR here, never sent upstream).
    counters.inc(Counter::kFormErrMetaQtype);
    return Step::reply(kFormErr, dns::build_echo_flags_reply(cq, kFormErr, out));
  }
  if (q.qclass == dns::rrclass::kCh) {
    const auto* text = chaos_text(q, cq.question, server);
    if (text && text->has_value()) {
      counters.inc(Counter::kAnsweredChaos);
      return Step::reply(0, dns::build_chaos_txt(cq, **text, out));
    }
    counters.inc(Counter::kRefusedChaos);
    return Step::reply(kRefused, dns::build_rcode_reply(cq, kRefused, out));
  }
  if (q.qclass != dns::rrclass::kIn) {
    counters.inc(Counter::kRefusedClass);
    return Step::reply(kRefused, dns::build_rcode_reply(cq, kRefused, out));
  }
  if (q.qtype == rrtype::kAny) {
    counters.inc(Counter::kAnsweredAnyRfc8482);
    return Step::reply(0, dns::build_any_hinfo(cq, out));
  }
  return Step::next();
}

}  // namespace sinkhole::pipeline
