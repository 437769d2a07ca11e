// SPDX-License-Identifier: MIT
// The respond stage's chases (query_pipeline.h): answers assembled from several questions.
// A chain the upstream left unfinished, the `cname` action's redirect and an RPZ `CNAME
// other.name.` rule all work the same way: the records so far are kept in a Chase slot, the
// next name is asked for through the cache, the in-flight table and the upstreams like any
// client question (so clients asking the same target share one upstream query), and the
// client's answer is the chain's records followed by the last link's answer. Every link is
// checked by policy (except the operator's own redirect target), and a chain is bounded:
// kMaxChaseQueries questions, no name twice, within the client's deadline.
#include <cstring>

#include "resolver/dns/redirect_answer.h"
#include "resolver/pipeline/query_pipeline.h"

namespace sinkhole::pipeline {

using metrics::Counter;

namespace {
constexpr auto kServFail = static_cast<uint16_t>(dns::Rcode::kServFail);
constexpr uint16_t kEdeOther = 0;  // RFC 8914 §4.1

dns::QuestionKey link_key(const dns::ClientQuery& cq, const uint8_t* name, size_t len,
                          uint16_t qtype) {
  const uint16_t qclass = dns::read_u16(cq.question + cq.question_len - 2);
  return {name, len, qtype, qclass, cq.do_bit, (cq.flags & dns::flags::kCd) != 0};
}
}  // namespace

Step QueryPipeline::start_redirect(const BlockedAnswer& b, const dns::ClientQuery& cq,
                                   uint16_t qtype, const net::ClientEndpoint& to, unsigned hops) {
  uint32_t chase = chases_.acquire(b.local_data ? Chase::Kind::kLocalData : Chase::Kind::kRedirect,
                                   client_deadline());
  Chase& c = chases_.at(chase);
  c.queries = hops;
  c.ede_code = b.ede_code;
  c.ede_len = b.ede_len;
  std::memcpy(c.ede_text, b.ede_text, b.ede_len);
  uint8_t cname[dns::kMaxRedirectCname];
  c.append_record(cname, dns::write_redirect_cname(cq, b.target, cname));
  const Step s = ask_link(chase, b.target.target, b.target.target_len, cq, qtype, to);
  if (chase) chases_.release(chase);
  return s;
}

Step QueryPipeline::follow_chain(const dns::ChainEnd& end, const uint8_t* resp,
                                 const dns::MessageView& m, const dns::ClientQuery& cq,
                                 uint16_t qtype, const net::ClientEndpoint& to, uint32_t& chase,
                                 uint64_t deadline_ms) {
  if (end.kind == dns::ChainEnd::Kind::kLoop) return chain_failed(cq, kEdeOther, "CNAME loop");
  if (!chase) chase = chases_.acquire(Chase::Kind::kFollow, deadline_ms);
  if (!chases_.at(chase).append_answers(resp, m))
    return chain_failed(cq, kEdeOther, "CNAME chain too long");
  return ask_link(chase, end.target, end.target_len, cq, qtype, to);
}

Step QueryPipeline::ask_link(uint32_t& chase, const uint8_t* target, size_t target_len,
                             const dns::ClientQuery& cq, uint16_t qtype,
                             const net::ClientEndpoint& to) {
  Chase& c = chases_.at(chase);
  if (c.passes(target, target_len)) return chain_failed(cq, kEdeOther, "CNAME loop");
  if (++c.queries > kMaxChaseQueries) return chain_failed(cq, kEdeOther, "CNAME chain too long");
  if (clock_.now_ms() >= c.deadline_ms)
    return chain_failed(cq, dns::ede::kNoReachableAuthority, "CNAME target not resolved in time");
  if (c.kind != Chase::Kind::kRedirect) {
    // The name asked for is a CNAME target like any other (an RPZ rule's, or one we made
    // from a DNAME): a listed one gets its block.
    const policy::PolicySnapshot& snap = policy_.snapshot();
    const PolicyDecision d = policy_.decide(snap, to.sa(), target, target_len);
    if (d.kind == PolicyDecision::Kind::kBlock) {
      policy::Verdict v = d.verdict;
      v.depth = 0;
      counters_.inc(Counter::kBlockedCnameChain);
      return answer_blocked(snap, v, cq, qtype, to, c.queries);
    }
  }
  counters_.inc(Counter::kCnameChased);
  const dns::QuestionKey key = link_key(cq, target, target_len, qtype);
  // The `cname` action's target always goes upstream: a stale warning host is never served.
  if (cache_on() && c.kind != Chase::Kind::kRedirect) {
    const Step s = from_cache(key, cq, to, /*stale=*/false, chase, c.deadline_ms);
    if (s.kind != Step::Kind::kContinue) return s;
  }
  const uint64_t deadline = c.deadline_ms;
  const uint32_t handle = chase;
  chase = 0;  // the waiter owns it now (and may be answered before forward returns)
  forward(key, cq, to, handle, deadline);
  return Step::deferred();
}

Step QueryPipeline::finish_chain(Chase& c, const uint8_t* resp, const dns::MessageView& m,
                                 const dns::ClientQuery& cq, uint16_t qtype) {
  const uint16_t rcode = m.rcode() & 0xF;
  // RFC 6604: the rcode is the last link's, the chain stays in the answer section, and a
  // negative answer keeps its SOA (the `cname` action's answer never carried one).
  size_t size =
      dns::build_chain_answer(cq, rcode, c.records.get(), c.records_len, c.record_count, resp, m,
                              /*with_authority=*/c.kind != Chase::Kind::kRedirect, c.ede(), tx_);
  if (size == 0) return chain_failed(cq, kEdeOther, "CNAME chain too big");
  if (c.kind == Chase::Kind::kFollow && cache_on()) {
    // Cached whole under the client's question; its TTL is the chain's smallest.
    const dns::MessageView built = dns::parse_message(tx_, size);
    const dns::QuestionKey key = link_key(cq, cq.question, cq.question_len - 4, qtype);
    cache_->insert(key, tx_, built, clock_.now_ms());
  }
  if (size > cq.reply_limit) {
    counters_.inc(Counter::kTruncatedUdp);
    size = dns::build_truncated(cq, rcode, tx_);
  }
  return Step::reply(rcode, size);
}

Step QueryPipeline::chain_failed(const dns::ClientQuery& cq, uint16_t ede_code, const char* why) {
  counters_.inc(Counter::kCnameChaseFailed);
  return Step::reply(kServFail, dns::build_rcode_reply(cq, kServFail, tx_, {ede_code, why}));
}

}  // namespace sinkhole::pipeline
