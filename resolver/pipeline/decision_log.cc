// SPDX-License-Identifier: MIT
#include "resolver/pipeline/decision_log.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <string>

#include "resolver/dns/name.h"

namespace sinkhole::pipeline {

namespace {

std::string client_text(const net::ClientEndpoint& from) {
  char buf[INET6_ADDRSTRLEN] = {};
  const sockaddr* sa = from.sa();
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    port = ntohs(in->sin_port);
  } else {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    port = ntohs(in6->sin6_port);
  }
  return std::string(buf) + "#" + std::to_string(port) + (from.is_tcp() ? " tcp" : " udp");
}

std::string policy_text(const policy::PolicySnapshot& snap, const sockaddr* client) {
  const int32_t p = snap.classify(client);
  if (p == policy::kAllowAll) return "none (no policies: allow all)";
  if (p == policy::kRefuseClient) return "none";
  if (p >= 0 && static_cast<size_t>(p) < snap.policies.size()) return snap.policies[p].name;
  return "?";
}

std::string verdict_text(const policy::PolicySnapshot& snap, const policy::Verdict* v) {
  if (!v || v->list >= snap.lists.size() || v->action >= snap.actions.size()) return "";
  const policy::ListData& l = snap.lists[v->list];
  return fmt::format("list {} (category {}, action {}, {}:{})", l.name, l.category,
                     snap.actions[v->action].name, l.path, v->line);
}

const char* outcome_text(Decision d) {
  switch (d) {
    case Decision::kBlocked:
      return "blocked by";
    case Decision::kMonitored:
      return "monitored (passthru) by";
    case Decision::kRefusedNoPolicy:
      return "refused: the client is in no policy";
    case Decision::kCacheHit:
      return "allowed: cache hit";
    case Decision::kUpstream:
      return "allowed: cache miss, asking upstream";
    case Decision::kCoalesced:
      return "allowed: cache miss, joined the same question in flight";
    case Decision::kLimited:
      return "allowed: cache miss, over an in-flight limit (stale or SERVFAIL)";
  }
  return "?";
}

}  // namespace

void log_decision(const policy::PolicySnapshot& snap, const net::ClientEndpoint& from,
                  const uint8_t* qname, size_t qname_len, uint16_t qtype, Decision d,
                  const policy::Verdict* verdict) {
  const std::string listed = verdict_text(snap, verdict);
  spdlog::debug("query from {} {} type {} policy {}: {}{}{}", client_text(from),
                dns::wire_to_log_text(qname, qname_len), qtype, policy_text(snap, from.sa()),
                outcome_text(d), listed.empty() ? "" : " ", listed);
}

}  // namespace sinkhole::pipeline
