// SPDX-License-Identifier: MIT
#include "resolver/pipeline/block_counter.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <string>

#include "resolver/dns/name.h"

namespace sinkhole::pipeline {

using metrics::Counter;

namespace {

// The client as the blocked-query log may show it: /24 or /48 unless `full`.
std::string client_text(const net::ClientEndpoint& from, bool full) {
  char buf[INET6_ADDRSTRLEN] = {};
  const sockaddr* sa = from.sa();
  if (sa->sa_family == AF_INET) {
    in_addr a = reinterpret_cast<const sockaddr_in*>(sa)->sin_addr;
    if (!full) a.s_addr &= htonl(0xFFFFFF00u);
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return full ? std::string(buf) : std::string(buf) + "/24";
  }
  in6_addr a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
  if (!full) std::memset(a.s6_addr + 6, 0, 10);
  inet_ntop(AF_INET6, &a, buf, sizeof buf);
  return full ? std::string(buf) : std::string(buf) + "/48";
}

}  // namespace

void BlockCounter::log_verdict(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                               const uint8_t* qname, size_t qname_len, uint16_t qtype) {
  const policy::ListData& list = snap.lists[v.list];
  const policy::Action& a = snap.actions[v.action];
  spdlog::info("{} {} type {} list {} category {} {}:{} action {}",
               v.kind == policy::Verdict::Kind::kMonitor ? "monitored" : "blocked",
               dns::wire_to_log_text(qname, qname_len), qtype, list.name, list.category, list.path,
               v.line, a.name);
}

void BlockCounter::count(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                         const dns::ClientQuery& cq, uint16_t qtype,
                         const net::ClientEndpoint& from) {
  counters_.inc(Counter::kBlocked);
  if (auto* cell = snap.block_cell(v.list, v.action)) cell->inc(worker_index_);
  const int32_t category = snap.lists[v.list].protected_category;
  if (snap.protected_users && category >= 0) {
    // The address bytes only (no port): one subscriber is one client whatever port it uses.
    const sockaddr* sa = from.sa();
    if (sa->sa_family == AF_INET)
      snap.protected_users->record(static_cast<uint16_t>(category),
                                   &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4,
                                   clock_.unix_seconds());
    else
      snap.protected_users->record(static_cast<uint16_t>(category),
                                   &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16,
                                   clock_.unix_seconds());
  }
  if (!blocked_log_) return;
  const policy::ListData& list = snap.lists[v.list];
  using Mode = config::LogConfig::ClientAddress;
  const Mode mode = log_cfg_->client_address;
  const std::string name = dns::wire_to_log_text(cq.question, cq.question_len - 4);
  if (mode == Mode::kNone)
    blocked_log_->info("blocked name={} type={} list={} category={} action={}", name, qtype,
                       list.name, list.category, snap.actions[v.action].name);
  else
    blocked_log_->info("blocked name={} type={} list={} category={} action={} client={}", name,
                       qtype, list.name, list.category, snap.actions[v.action].name,
                       client_text(from, mode == Mode::kFull));
}

}  // namespace sinkhole::pipeline
