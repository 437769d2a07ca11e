// SPDX-License-Identifier: MIT
#include "policy/snapshot.h"

namespace sinkhole::policy {

int32_t PolicySnapshot::classify(const sockaddr* client) const noexcept {
  const uint32_t g = groups.lookup(client);
  return g == ClientGroups::kNoGroup ? default_policy : static_cast<int32_t>(g);
}

int32_t PolicySnapshot::rule_action(const BlockRule& rule,
                                    const blocklist::Rule& matched) const noexcept {
  int32_t action = rule.action;
  if (action == kNoAction) {
    switch (matched.action) {
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
        return kNoAction;
      case blocklist::ListAction::kNone:
        break;
    }
  }
  if (action == kNoAction) action = lists[rule.list].default_action;
  if (action == kNoAction) action = nxdomain;
  return action;
}

bool PolicySnapshot::exempt(const ListData& list, const uint8_t* qname, size_t len,
                            blocklist::PatternScratch* scratch, uint16_t* via,
                            blocklist::Match* via_match) const noexcept {
  for (uint16_t e : list.exceptions) {
    const auto m = lists[e].matcher->lookup(qname, len, scratch);
    if (m && m->rule.kind == blocklist::RuleKind::kBlock) {
      if (via) *via = e;
      if (via_match) *via_match = *m;
      return true;
    }
  }
  return false;
}

std::optional<blocklist::Match> PolicySnapshot::match(
    const ListData& list, const sockaddr* client, const uint8_t* qname, size_t len,
    blocklist::PatternScratch* scratch) const noexcept {
  if (client && list.ip_triggers)
    if (const IpRule* r = list.ip_triggers->match_client(client))
      return blocklist::Match{r->rule, 0};
  return list.matcher->lookup(qname, len, scratch);
}

// A policy without a mandatory list walks exactly as before mandatory lists existed: the
// first allow or exception ends it. `lifted` only ever turns true in a policy with one.
Verdict PolicySnapshot::decide(int32_t p, const uint8_t* qname, size_t len,
                               blocklist::PatternScratch* scratch,
                               const sockaddr* client) const noexcept {
  Verdict v;
  if (p < 0 || static_cast<size_t>(p) >= policies.size()) return v;
  const Policy& policy = policies[static_cast<size_t>(p)];
  v.policy = static_cast<uint16_t>(p);
  if (!policy.has_client_ip) client = nullptr;
  for (uint16_t l : policy.allow) {
    if (lists[l].matcher->lookup(qname, len, scratch)) {
      v.lifted = true;
      if (!policy.has_mandatory) return v;
      break;
    }
  }
  for (size_t k = 0; k < policy.block.size(); ++k) {
    const BlockRule& rule = policy.block[k];
    const ListData& list = lists[rule.list];
    if (v.lifted && !list.mandatory) continue;
    const auto m = match(list, client, qname, len, scratch);
    if (!m) continue;
    if (!list.exceptions.empty() && exempt(list, qname, len, scratch)) continue;
    const int32_t action =
        m->rule.kind == blocklist::RuleKind::kException ? kNoAction : rule_action(rule, m->rule);
    if (action == kNoAction) {  // an exception or an RPZ passthru
      v.rule = static_cast<uint16_t>(k);
      if (!policy.has_mandatory) return v;
      v.lifted = true;
      continue;
    }
    v.rule = static_cast<uint16_t>(k);
    v.list = rule.list;
    v.depth = m->depth;
    v.line = m->rule.line;
    v.entry = m->rule.entry;
    v.pattern = m->rule.pattern;
    v.action = static_cast<uint16_t>(action);
    v.kind = actions[v.action].kind == ActionKind::kPassthru ? Verdict::Kind::kMonitor
                                                             : Verdict::Kind::kBlock;
    return v;
  }
  if (!v.lifted) v.rule = static_cast<uint16_t>(policy.block.size());
  return v;
}

}  // namespace sinkhole::policy
