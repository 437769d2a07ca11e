// SPDX-License-Identifier: MIT
#include "policy/explain.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

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

void set_match(Explanation& e, const ListData& list, const blocklist::Match& m) {
  e.list = list.name;
  e.category = list.category;
  e.file = list.path;
  e.line = m.rule.line;
  e.rule = m.rule.pattern ? "pattern" : listed_name(e.name, m.depth);
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

Explanation explain(const PolicySnapshot& snap, std::string_view name, const sockaddr* client) {
  Explanation e;
  const blocklist::Normalized n = blocklist::normalize_name(name);
  if (!n.ok) {
    e.outcome = Explanation::Outcome::kInvalidName;
    e.name = std::string(name);
    e.reason = n.reason;
    return e;
  }
  e.name = n.name;
  int32_t p = snap.default_policy;
  if (client) {
    e.client = address_text(client);
    p = snap.classify(client);
  } else if (p == kRefuseClient && !snap.policies.empty()) {
    p = 0;  // no address and no default policy: show the first policy (to_text says so)
  }
  if (p == kAllowAll) {
    e.outcome = Explanation::Outcome::kNoPolicies;
    return e;
  }
  if (p == kRefuseClient) {
    e.outcome = Explanation::Outcome::kRefusedClient;
    return e;
  }
  const Policy& policy = snap.policies[static_cast<size_t>(p)];
  e.policy = policy.name;

  uint8_t wire[dns::kMaxNameWire];
  const size_t len = dns::text_to_wire(e.name, wire);
  blocklist::PatternScratch scratch;
  for (const auto& list : snap.lists)
    if (list.matcher->pattern_count() > 0) scratch.prepare(list.matcher->patterns());

  for (uint16_t l : policy.allow) {
    if (const auto m = snap.lists[l].matcher->lookup(wire, len, &scratch)) {
      e.outcome = Explanation::Outcome::kAllowListed;
      set_match(e, snap.lists[l], *m);
      return e;
    }
  }
  blocklist::PatternScratch* s = &scratch;
  const Verdict v = snap.decide(p, wire, len, s);
  for (const BlockRule& rule : policy.block) {
    const ListData& list = snap.lists[rule.list];
    const auto m = list.matcher->lookup(wire, len, s);
    if (!m) continue;
    set_match(e, list, *m);
    if (v.kind == Verdict::Kind::kAllow) {
      e.outcome = Explanation::Outcome::kException;  // an exception or an RPZ passthru
      return e;
    }
    const Action& a = snap.actions[v.action];
    e.action = a.name;
    e.outcome = v.kind == Verdict::Kind::kMonitor ? Explanation::Outcome::kMonitored
                                                  : Explanation::Outcome::kBlocked;
    if (a.ede) {
      char text[512];
      e.ede_text.assign(text, render_ede(a.ede_text, list.name, list.category, list.path, v.line,
                                         text, sizeof text));
    }
    return e;
  }
  return e;  // kAllowed
}

}  // namespace sinkhole::policy
