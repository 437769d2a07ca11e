// SPDX-License-Identifier: MIT
// Fuzz target: a client query, as a worker receives it (one UDP datagram or one TCP frame).
// parse_query must never read outside the buffer; every outcome that gets an answer must
// get a well-formed one (the pipeline's reply builders, fed the parsed query, produce
// a message that parse_message accepts and whose question is the client's).
#include <cstring>

#include "resolver/dns/answer_builder.h"
#include "resolver/dns/message_view.h"
#include "resolver/dns/name.h"
#include "resolver/dns/query_view.h"
#include "resolver/dns/question_key.h"
#include "resolver/dns/synth_answer.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace sinkhole::dns;

uint8_t out[kMaxMessage];

// A reply we built must parse, carry the client's ID and echo its question.
void check_reply(const ClientQuery& cq, size_t n) {
  FUZZ_CHECK(n >= kHeaderSize && n <= kMaxMessage);
  FUZZ_CHECK(read_u16(out + kOffId) == cq.id);
  if (!cq.question_len) {
    // No readable question to echo (parse_message wants one): a bare header, maybe an OPT.
    FUZZ_CHECK(read_u16(out + kOffQdCount) == 0 && read_u16(out + kOffAnCount) == 0 &&
               read_u16(out + kOffNsCount) == 0 && read_u16(out + kOffArCount) <= 1);
    return;
  }
  const MessageView m = parse_message(out, n);
  FUZZ_CHECK(m.ok);
  FUZZ_CHECK(m.id == cq.id);
  FUZZ_CHECK(m.flags & flags::kQr);
  FUZZ_CHECK(m.question_end == kHeaderSize + cq.question_len);
  FUZZ_CHECK(std::memcmp(out + kHeaderSize, cq.question, cq.question_len) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const QueryView q = parse_query(data, size);
  if (q.outcome == ParseOutcome::kDropShortHeader || q.outcome == ParseOutcome::kDropResponse)
    return 0;
  if (q.question_ok) {
    FUZZ_CHECK(q.qname_off == kHeaderSize);
    FUZZ_CHECK(q.qname_len >= 1 && q.qname_len <= kMaxNameWire);
    FUZZ_CHECK(q.qname_off + q.question_len() <= size);
  }
  if (q.has_opt) FUZZ_CHECK(q.opt_rdata_off + q.opt_rdata_len <= size);

  ClientQuery cq = client_query_from(q, data, 1232, udp_reply_limit(q, 1232));
  if (!q.ok()) {
    // The malformed-query answers of meta_stage: FORMERR without our OPT, NOTIMP, BADVERS.
    if (q.outcome != ParseOutcome::kNotImp && q.outcome != ParseOutcome::kBadVers)
      cq.has_opt = false;
    check_reply(cq, build_rcode_reply(cq, static_cast<uint16_t>(Rcode::kFormErr), out));
    return 0;
  }

  // The name as the cache and the in-flight table key it, and as logs print it.
  uint8_t lower[kMaxNameWire];
  const NameWalk w = walk_name(data, size, q.qname_off, /*allow_pointers=*/false, lower, true);
  FUZZ_CHECK(w.error == NameError::kNone && w.wire_len == q.qname_len);
  uint8_t lowered[kMaxNameWire];
  lower_name(q.qname(data), q.qname_len, lowered);
  FUZZ_CHECK(std::memcmp(lower, lowered, q.qname_len) == 0);
  FUZZ_CHECK(wire_names_equal_ci(q.qname(data), lower, q.qname_len));
  (void)wire_to_text(q.qname(data), q.qname_len);

  // Every kind of answer the pipeline builds from a parsed query.
  check_reply(
      cq, build_rcode_reply(cq, static_cast<uint16_t>(Rcode::kNxDomain), out, Ede{15, "blocked"}));
  check_reply(cq, build_truncated(cq, 0, out));
  check_reply(cq, build_any_hinfo(cq, out));
  check_reply(cq, build_chaos_txt(cq, "sinkholed", out));
  static const uint8_t a[4] = {192, 0, 2, 1};
  const SynthRecord rec{rrtype::kA, 300, a, sizeof a};
  const size_t depth = q.qname_len > 1 ? 1 : 0;
  const SynthSoa soa{suffix_offset(q.qname(data), q.qname_len, depth), 300, 1};
  check_reply(cq, build_synthesized(cq, 0, &rec, 1, &soa, Ede{15, "blocked"}, out));
  check_reply(cq, build_synthesized(cq, 3, nullptr, 0, &soa, Ede{}, out));
  return 0;
}
