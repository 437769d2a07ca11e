// SPDX-License-Identifier: MIT
#include "policy/snapshot.h"

namespace sinkhole::policy {

int32_t PolicySnapshot::classify(const sockaddr* client) const noexcept {
  const uint32_t g = groups.lookup(client);
  return g == ClientGroups::kNoGroup ? default_policy : static_cast<int32_t>(g);
}

Verdict PolicySnapshot::decide(int32_t p, const uint8_t* qname, size_t len,
                               blocklist::PatternScratch* scratch) const noexcept {
  Verdict v;
  if (p < 0 || static_cast<size_t>(p) >= policies.size()) return v;
  const Policy& policy = policies[static_cast<size_t>(p)];
  v.policy = static_cast<uint16_t>(p);
  for (uint16_t l : policy.allow)
    if (lists[l].matcher->lookup(qname, len, scratch)) return v;
  for (const BlockRule& rule : policy.block) {
    const ListData& list = lists[rule.list];
    const auto m = list.matcher->lookup(qname, len, scratch);
    if (!m) continue;
    if (m->rule.kind == blocklist::RuleKind::kException) return v;
    v.list = rule.list;
    v.depth = m->depth;
    v.line = m->rule.line;
    v.entry = m->rule.entry;
    v.pattern = m->rule.pattern;
    int32_t action = rule.action;
    if (action == kNoAction) {
      switch (m->rule.action) {
        case blocklist::ListAction::kNxDomain:
          action = nxdomain;
          break;
        case blocklist::ListAction::kNoData:
          action = nodata;
          break;
        case blocklist::ListAction::kDrop:
          action = drop;
          break;
        case blocklist::ListAction::kTcpOnly:
          action = tcp_only;
          break;
        case blocklist::ListAction::kLocalData:
          action = local_data;
          break;
        case blocklist::ListAction::kPassthru:
          return v;
        case blocklist::ListAction::kNone:
          break;
      }
    }
    if (action == kNoAction) action = list.default_action;
    if (action == kNoAction) action = nxdomain;
    v.action = static_cast<uint16_t>(action);
    v.kind = actions[v.action].kind == ActionKind::kPassthru ? Verdict::Kind::kMonitor
                                                             : Verdict::Kind::kBlock;
    return v;
  }
  return v;
}

}  // namespace sinkhole::policy
