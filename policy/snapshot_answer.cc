// SPDX-License-Identifier: MIT
// PolicySnapshot::decide_answer: the rpz-ip half of the RPZ precedence (snapshot.h), run by
// the respond stage on every answer of a policy with rpz-ip lists. Allocates nothing.
#include <algorithm>

#include "policy/snapshot.h"
#include "resolver/dns/query_view.h"
#include "resolver/dns/wire.h"

namespace sinkhole::policy {

std::optional<Verdict> PolicySnapshot::decide_answer(int32_t p, const Verdict& by_name,
                                                     const uint8_t* qname, size_t len,
                                                     blocklist::PatternScratch* scratch,
                                                     const uint8_t* resp,
                                                     const dns::MessageView& m) const noexcept {
  if (p < 0 || static_cast<size_t>(p) >= policies.size() || m.ancount == 0) return std::nullopt;
  const Policy& policy = policies[static_cast<size_t>(p)];
  const size_t stop = std::min<size_t>(by_name.rule, policy.block.size());
  for (size_t k = policy.first_answer_ip; k < stop; ++k) {
    const BlockRule& rule = policy.block[k];
    const ListData& list = lists[rule.list];
    if (!list.ip_triggers || !list.ip_triggers->has_answer()) continue;
    if (by_name.lifted && !list.mandatory) continue;
    const IpRule* best = nullptr;
    size_t pos = m.question_end;
    for (size_t i = 0; i < m.ancount; ++i) {
      const dns::RecordSpan r = dns::skip_record(resp, m.end, pos);
      if (r.end == 0) break;
      pos = r.end;
      if (r.rclass != dns::rrclass::kIn) continue;
      const IpRule* hit = nullptr;
      if (r.type == dns::rrtype::kA && r.rdlen == 4)
        hit = list.ip_triggers->match_answer_v4(resp + r.rdata_off);
      else if (r.type == dns::rrtype::kAaaa && r.rdlen == 16)
        hit = list.ip_triggers->match_answer_v6(resp + r.rdata_off);
      if (hit && (!best || hit->prefix.prefix > best->prefix.prefix)) best = hit;
    }
    if (!best) continue;
    if (!list.exceptions.empty() && exempt(list, qname, len, scratch)) continue;
    Verdict v;
    v.policy = static_cast<uint16_t>(p);
    v.rule = static_cast<uint16_t>(k);
    const int32_t action = best->rule.kind == blocklist::RuleKind::kException
                               ? kNoAction
                               : rule_action(rule, best->rule);
    if (action == kNoAction) return v;  // rpz-ip passthru: the answer stands
    v.list = rule.list;
    v.line = best->rule.line;
    v.entry = best->rule.entry;
    v.action = static_cast<uint16_t>(action);
    v.kind = actions[v.action].kind == ActionKind::kPassthru ? Verdict::Kind::kMonitor
                                                             : Verdict::Kind::kBlock;
    return v;
  }
  return std::nullopt;
}

}  // namespace sinkhole::policy
