// SPDX-License-Identifier: MIT
// Fuzz target: an upstream's reply, as a worker's upstream pool receives it, then every
// use the pipeline makes of an accepted one. The input is the reply; the query it answers
// is taken from the reply's own question (so the checks get past ID and question) with the
// DO/CD bits from the first header byte.
//   check_reply        (resolver/upstream: ID, QR, opcode, question, parse_message)
//   PacketCache        insert, then get and get_stale (TTL ageing)
//   rewrite_response   for a UDP client without EDNS (512), with EDNS, and over TCP
//   the CNAME/DNAME walk of the respond stage (PolicyStage::blocked_in_chain)
//   build_redirect_answer and copy_records_expanded (the `cname` block action)
// Every message we build must parse and echo the client's question.
#include <cstring>

#include "resolver/cache/packet_cache.h"
#include "resolver/dns/answer_builder.h"
#include "resolver/dns/message_view.h"
#include "resolver/dns/name.h"
#include "resolver/dns/query_view.h"
#include "resolver/dns/question_key.h"
#include "resolver/dns/record_copy.h"
#include "resolver/dns/redirect_answer.h"
#include "resolver/dns/response_rewriter.h"
#include "resolver/upstream/upstream_pool.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace sinkhole;
using namespace sinkhole::dns;

uint8_t out[kMaxMessage];

void check_built(const ClientQuery& cq, size_t n) {
  FUZZ_CHECK(n >= kHeaderSize && n <= kMaxMessage);
  const MessageView m = parse_message(out, n);
  FUZZ_CHECK(m.ok);
  FUZZ_CHECK(m.id == cq.id);
  if (cq.question_len) {
    FUZZ_CHECK(m.question_end == kHeaderSize + cq.question_len);
    FUZZ_CHECK(std::memcmp(out + kHeaderSize, cq.question, cq.question_len) == 0);
  }
}

// The client's query for the same question in its own 0x20 case.
ClientQuery client_for(const uint8_t* question, size_t question_len, bool has_opt, size_t limit) {
  ClientQuery cq;
  cq.id = 0x4242;
  cq.flags = flags::kRd;
  cq.question = question;
  cq.question_len = question_len;
  cq.has_opt = has_opt;
  cq.our_payload = 1232;
  cq.reply_limit = limit;
  return cq;
}

// A fixed blocked query whose `cname` redirect resolved to the reply's question.
const uint8_t kBlockedQuestion[] = {7,   'b', 'l', 'o', 'c', 'k', 'e', 'd', 7, 'e', 'x',
                                    'a', 'm', 'p', 'l', 'e', 0,   0,   1,   0, 1};

cache::PacketCache& the_cache() {
  static cache::PacketCache c([] {
    cache::CacheOptions o;
    o.max_bytes = 1 << 20;
    o.stale_ms = 60'000;
    return o;
  }());
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeaderSize || size > kMaxMessage) return 0;
  upstream::PendingQuery q;
  q.id = read_u16(data + kOffId);
  q.do_bit = data[kOffFlags] & 1;
  q.cd_bit = data[kOffFlags] & 2;
  // The question we asked: the reply's own, lower-cased as the in-flight table keeps it.
  const NameWalk qn = walk_name(data, size, kHeaderSize, /*allow_pointers=*/false, q.key, true);
  if (qn.error == NameError::kNone && qn.end + 4 <= size) {
    q.qname_len = qn.wire_len;
    q.qtype = read_u16(data + qn.end);
    q.qclass = read_u16(data + qn.end + 2);
  } else {
    const uint8_t example[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    std::memcpy(q.key, example, sizeof example);
    q.qname_len = sizeof example;
    q.qtype = rrtype::kA;
    q.qclass = 1;
  }
  q.key_len = q.qname_len;

  MessageView m;
  const upstream::ReplyCheck check = upstream::check_reply(q, data, size, m);
  if (check != upstream::ReplyCheck::kAccept) return 0;
  FUZZ_CHECK(m.ok && m.end <= size && m.question_end <= m.end);
  FUZZ_CHECK(!m.has_opt || (m.opt_off < m.opt_end && m.opt_end <= m.end));

  // The cache: insert, then read it back fresh and stale.
  auto& cache = the_cache();
  const QuestionKey key = q.question();
  const uint64_t now = 1'000'000;
  cache.insert(key, data, m, now);
  (void)cache.get(key, now + 1'000, out, sizeof out);
  (void)cache.get_stale(key, now + 90'000'000, out, sizeof out);
  cache.flush();

  // The respond stage: one client per transport, with the question in another case.
  uint8_t question[kMaxNameWire + 4];
  std::memcpy(question, data + kHeaderSize, q.qname_len + 4);
  for (size_t i = 0; i < q.qname_len; ++i)
    if (question[i] >= 'a' && question[i] <= 'z') question[i] ^= 0x20;
  const ClientQuery clients[] = {
      client_for(question, q.qname_len + 4, false, kMaxUdpNoEdns),
      client_for(question, q.qname_len + 4, true, 1232),
      client_for(question, q.qname_len + 4, true, kMaxMessage),
  };
  for (const ClientQuery& cq : clients) {
    const Rewritten r = rewrite_response(cq, data, m, out);
    if (r.result == RewriteResult::kUnusable) continue;
    FUZZ_CHECK(r.size <= cq.reply_limit);
    check_built(cq, r.size);
  }

  // The CNAME/DNAME walk that re-checks answer targets against policy.
  size_t pos = m.question_end;
  for (size_t i = 0; i < m.ancount; ++i) {
    const RecordSpan rec = skip_record(data, m.end, pos);
    if (rec.end == 0) break;
    if (rec.type == rrtype::kCname || rec.type == rrtype::kDname) {
      uint8_t target[kMaxNameWire];
      const NameWalk t = walk_name(data, m.end, rec.rdata_off, true, target);
      if (t.error == NameError::kNone) FUZZ_CHECK(t.wire_len <= kMaxNameWire);
    }
    pos = rec.end;
  }

  // The `cname` block action: our CNAME, then this reply's records for the target.
  const ClientQuery blocked = client_for(kBlockedQuestion, sizeof kBlockedQuestion, true, 1232);
  const Redirect redirect{q.key, q.qname_len, 300};
  // 0: the target's records cannot be copied (chain_answer.h); the pipeline answers
  // SERVFAIL then. Anything else must be a whole, parseable message.
  const size_t redirected =
      build_redirect_answer(blocked, redirect, data, m, Ede{15, "blocked"}, out);
  if (redirected != 0) check_built(blocked, redirected);
  (void)copy_records_expanded(data, m.end, m.question_end, m.ancount, out, sizeof out);
  return 0;
}
