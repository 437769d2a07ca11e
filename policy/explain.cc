// SPDX-License-Identifier: MIT
#include "policy/explain.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <optional>

#include "blocklist/normalize.h"
#include "resolver/dns/name.h"

namespace sinkhole::policy {

namespace {

std::string address_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

// The listed name of a domain match: the query name without its first `depth` labels.
std::string listed_name(std::string_view name, uint8_t depth) {
  size_t pos = 0;
  for (uint8_t i = 0; i < depth; ++i) {
    const size_t dot = name.find('.', pos);
    if (dot == std::string_view::npos) return std::string(name);
    pos = dot + 1;
  }
  return std::string(name.substr(pos));
}

// What matched, as the operator wrote it: the listed name, "pattern", or an RPZ IP trigger
// ("rpz-client-ip 192.0.2.0/24").
std::string rule_text(const Explanation& e, const ListData& list, const blocklist::Match& m) {
  if (m.rule.entry & kIpTriggerEntry && list.ip_triggers) {
    const IpRule& r = list.ip_triggers->rule(m.rule.entry);
    return std::string(r.client ? "rpz-client-ip " : "rpz-ip ") + to_string(r.prefix);
  }
  return m.rule.pattern ? "pattern" : listed_name(e.name, m.depth);
}

void set_match(Explanation& e, const ListData& list, const blocklist::Match& m) {
  e.list = list.name;
  e.category = list.category;
  e.file = list.path;
  e.line = m.rule.line;
  e.rule = rule_text(e, list, m);
  e.basis = list.basis;
}

}  // namespace

bool parse_client_address(std::string_view text, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  const std::string s(text);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (inet_pton(AF_INET, s.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET6, s.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    return true;
  }
  return false;
}

namespace {

// The name as wire and a scratch ready for every list's patterns.
struct Probe {
  uint8_t wire[dns::kMaxNameWire];
  size_t len = 0;
  blocklist::PatternScratch scratch;
  Probe(const PolicySnapshot& snap, const std::string& name) {
    len = dns::text_to_wire(name, wire);
    for (const auto& list : snap.lists)
      if (list.matcher->pattern_count() > 0) scratch.prepare(list.matcher->patterns());
  }
};

OverriddenRule overridden_rule(const PolicySnapshot& snap, const Explanation& e,
                               const ListData& list, const blocklist::Match& m, int32_t action) {
  OverriddenRule o;
  o.list = list.name;
  o.category = list.category;
  o.file = list.path;
  o.line = m.rule.line;
  o.rule = rule_text(e, list, m);
  o.action = snap.actions[static_cast<size_t>(action)].name;
  o.mandatory = list.mandatory;
  return o;
}

// The same walk as PolicySnapshot::decide (snapshot.h's "decision" and "mandatory"), with
// every rule that matched on the way kept for the operator.
// `client`: checked against the lists' rpz-client-ip rules (null: no client given).
void explain_policy(const PolicySnapshot& snap, int32_t p, Probe& probe, Explanation& e,
                    const sockaddr* client) {
  const Policy& policy = snap.policies[static_cast<size_t>(p)];
  e.policy = policy.name;
  std::optional<IgnoredAllow> lifter;  // the allow entry or exception that lifted the name
  for (uint16_t l : policy.allow) {
    if (const auto m = snap.lists[l].matcher->lookup(probe.wire, probe.len, &probe.scratch)) {
      set_match(e, snap.lists[l], *m);
      lifter = IgnoredAllow{true, e.list, e.file, e.line, e.rule};
      e.outcome = Explanation::Outcome::kAllowListed;
      break;
    }
  }
  for (const BlockRule& rule : policy.block) {
    const ListData& list = snap.lists[rule.list];
    const auto m = snap.match(list, client, probe.wire, probe.len, &probe.scratch);
    if (!m) continue;
    const int32_t action = m->rule.kind == blocklist::RuleKind::kException
                               ? kNoAction
                               : snap.rule_action(rule, m->rule);
    uint16_t via = 0;
    blocklist::Match via_match;
    if (!list.exceptions.empty() &&
        snap.exempt(list, probe.wire, probe.len, &probe.scratch, &via, &via_match)) {
      if (action != kNoAction) {
        OverriddenRule o = overridden_rule(snap, e, list, *m, action);
        const ListData& exc = snap.lists[via];
        o.lifted_by = exc.name;
        o.lifted_file = exc.path;
        o.lifted_line = via_match.rule.line;
        e.overridden.push_back(std::move(o));
      }
      continue;
    }
    if (action == kNoAction) {  // an exception or an RPZ passthru
      if (lifter) continue;
      set_match(e, list, *m);
      lifter = IgnoredAllow{false, e.list, e.file, e.line, e.rule};
      e.outcome = Explanation::Outcome::kException;
      continue;
    }
    if (lifter && !list.mandatory) {
      e.overridden.push_back(overridden_rule(snap, e, list, *m, action));
      continue;
    }
    set_match(e, list, *m);
    const Action& a = snap.actions[static_cast<size_t>(action)];
    e.action = a.name;
    e.mandatory = list.mandatory;
    e.outcome = a.kind == ActionKind::kPassthru ? Explanation::Outcome::kMonitored
                                                : Explanation::Outcome::kBlocked;
    if (lifter) e.ignored = lifter;
    if (a.ede) {
      char text[512];
      e.ede_text.assign(text,
                        render_ede(a.ede_text, ede_fields(list, m->rule.line), text, sizeof text));
    }
    return;
  }
}

bool normalise(Explanation& e, std::string_view name) {
  const blocklist::Normalized n = blocklist::normalize_name(name);
  if (!n.ok) {
    e.outcome = Explanation::Outcome::kInvalidName;
    e.name = std::string(name);
    e.reason = n.reason;
    return false;
  }
  e.name = n.name;
  return true;
}

}  // namespace

Explanation explain(const PolicySnapshot& snap, std::string_view name, const sockaddr* client) {
  Explanation e;
  if (!normalise(e, name)) return e;
  int32_t p = snap.default_policy;
  if (client) {
    e.client = address_text(client);
    p = snap.classify(client);
  }
  if (p == kAllowAll) {
    e.outcome = Explanation::Outcome::kNoPolicies;
    return e;
  }
  if (p == kRefuseClient) {
    e.outcome = Explanation::Outcome::kRefusedClient;
    return e;
  }
  Probe probe(snap, e.name);
  explain_policy(snap, p, probe, e, client);
  return e;
}

std::vector<Explanation> explain_policies(const PolicySnapshot& snap, std::string_view name) {
  Explanation base;
  if (!normalise(base, name) || snap.default_policy == kAllowAll) {
    if (base.outcome != Explanation::Outcome::kInvalidName)
      base.outcome = Explanation::Outcome::kNoPolicies;
    return {base};
  }
  Probe probe(snap, base.name);
  std::vector<Explanation> out;
  for (size_t p = 0; p < snap.policies.size(); ++p) {
    Explanation e = base;
    explain_policy(snap, static_cast<int32_t>(p), probe, e, nullptr);
    out.push_back(std::move(e));
  }
  if (out.size() == 1 && snap.default_policy == 0) {
    out.front().assumed = true;
    return out;
  }
  if (snap.default_policy == kRefuseClient && !snap.every_client_in_a_policy) {
    Explanation e = base;
    e.outcome = Explanation::Outcome::kRefusedClient;
    out.push_back(std::move(e));
  }
  return out;
}

int exit_status(const Explanation& e) {
  switch (e.outcome) {
    case Explanation::Outcome::kBlocked:
      return 3;
    case Explanation::Outcome::kRefusedClient:
      return 4;
    default:
      return 0;
  }
}

int exit_status(const std::vector<Explanation>& each) {
  int out = 0;
  for (const auto& e : each) {
    const int s = exit_status(e);
    if (s == 3) return 3;
    if (s == 4) out = 4;
  }
  return out;
}

}  // namespace sinkhole::policy
