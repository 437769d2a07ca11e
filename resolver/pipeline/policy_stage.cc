// SPDX-License-Identifier: MIT
#include "resolver/pipeline/policy_stage.h"

#include "resolver/dns/name.h"
#include "resolver/dns/query_view.h"

namespace sinkhole::pipeline {

const policy::PolicySnapshot& PolicyStage::snapshot() {
  const policy::PolicySnapshot& snap = view_.get();
  if (snap.generation != scratch_generation_) {
    // Once per reload: grow this worker's Hyperscan scratch to fit the new databases.
    for (const auto& list : snap.lists) {
      if (list.matcher->pattern_count() > 0) scratch_.prepare(list.matcher->patterns());
      if (list.staged && list.staged->pattern_count() > 0)
        scratch_.prepare(list.staged->patterns());
    }
    scratch_generation_ = snap.generation;
  }
  return snap;
}

namespace {

PolicyDecision to_decision(const policy::Verdict& v) {
  switch (v.kind) {
    case policy::Verdict::Kind::kAllow:
      return {};
    case policy::Verdict::Kind::kMonitor:
      return {PolicyDecision::Kind::kMonitor, v};
    case policy::Verdict::Kind::kBlock:
      break;
  }
  return {PolicyDecision::Kind::kBlock, v};
}

}  // namespace

PolicyDecision PolicyStage::decide(const policy::PolicySnapshot& snap, const sockaddr* client,
                                   const uint8_t* qname, size_t qname_len, bool answer_known) {
  const int32_t p = snap.classify(client);
  if (p == policy::kRefuseClient) return {PolicyDecision::Kind::kRefuseClient, {}};
  if (p == policy::kAllowAll) return {};
  const policy::Verdict v = snap.decide(p, qname, qname_len, &scratch_, client);
  // What a staged version would block (sinkholectl list diff): once per query, not again
  // when a waiting verdict is decided on the answer.
  if (snap.any_staged && !answer_known) tally_staged(snap, p, client, qname, qname_len, v);
  if (!answer_known && v.kind != policy::Verdict::Kind::kAllow &&
      v.rule > snap.policies[static_cast<size_t>(p)].first_answer_ip)
    return {};  // an earlier list's rpz-ip rule may still win: decided on the answer
  return to_decision(v);
}

PolicyDecision PolicyStage::decide_answer(const policy::PolicySnapshot& snap,
                                          const sockaddr* client, const uint8_t* qname,
                                          size_t qname_len, const uint8_t* resp,
                                          const dns::MessageView& m) {
  if (!snap.any_answer_ip) return {};
  const int32_t p = snap.classify(client);
  if (p < 0) return {};
  const uint16_t first = snap.policies[static_cast<size_t>(p)].first_answer_ip;
  if (first == policy::Policy::kNoAnswerIp) return {};
  const policy::Verdict by_name = snap.decide(p, qname, qname_len, &scratch_, client);
  if (const auto v = snap.decide_answer(p, by_name, qname, qname_len, &scratch_, resp, m))
    return to_decision(*v);
  // Only a verdict that waited for the answer: the others were applied (or counted, for a
  // monitor) at query time.
  if (by_name.kind != policy::Verdict::Kind::kAllow && by_name.rule > first)
    return to_decision(by_name);
  return {};
}

void PolicyStage::tally_staged(const policy::PolicySnapshot& snap, int32_t p,
                               const sockaddr* client, const uint8_t* qname, size_t qname_len,
                               const policy::Verdict& v) {
  for (const policy::BlockRule& rule : snap.policies[static_cast<size_t>(p)].block) {
    const policy::ListData& list = snap.lists[rule.list];
    if (!list.staged || !list.staged_tally) continue;
    if (v.kind == policy::Verdict::Kind::kBlock && v.list == rule.list) continue;
    const auto staged = list.staged->lookup(qname, qname_len, &scratch_);
    if (!staged || staged->rule.kind != blocklist::RuleKind::kBlock) continue;
    const auto now = list.matcher->lookup(qname, qname_len, &scratch_);
    if (now && now->rule.kind == blocklist::RuleKind::kBlock) continue;
    list.staged_tally->record(worker_, client);
  }
}

std::optional<policy::Verdict> PolicyStage::blocked_in_chain(const policy::PolicySnapshot& snap,
                                                             const sockaddr* client,
                                                             const uint8_t* resp,
                                                             const dns::MessageView& m) {
  // A plain forwarder (no policies) never pays for the walk.
  if (m.ancount == 0 || (snap.policies.empty() && snap.default_policy == policy::kAllowAll))
    return std::nullopt;
  const int32_t p = snap.classify(client);
  if (p < 0) return std::nullopt;
  size_t pos = m.question_end;
  for (size_t i = 0; i < m.ancount; ++i) {
    const dns::RecordSpan r = dns::skip_record(resp, m.end, pos);
    if (r.end == 0) break;
    if (r.type == dns::rrtype::kCname || r.type == dns::rrtype::kDname) {
      uint8_t target[dns::kMaxNameWire];
      const dns::NameWalk w =
          dns::walk_name(resp, m.end, r.rdata_off, /*allow_pointers=*/true, target);
      if (w.error == dns::NameError::kNone) {
        const policy::Verdict v = snap.decide(p, target, w.wire_len, &scratch_);
        if (v.kind == policy::Verdict::Kind::kBlock) return v;
      }
    }
    pos = r.end;
  }
  return std::nullopt;
}

}  // namespace sinkhole::pipeline
