// SPDX-License-Identifier: MIT
#include "resolver/pipeline/block_counter.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>

#include "resolver/dns/name.h"

namespace sinkhole::pipeline {

using metrics::Counter;

namespace {

// The client as the log may show it: /24 or /48 unless `full`. Written into `buf`.
std::string_view client_text(const net::ClientEndpoint& from, bool full, char (&buf)[64]) {
  const sockaddr* sa = from.sa();
  size_t n = 0;
  if (sa->sa_family == AF_INET) {
    in_addr a = reinterpret_cast<const sockaddr_in*>(sa)->sin_addr;
    if (!full) a.s_addr &= htonl(0xFFFFFF00u);
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    n = std::strlen(buf);
    if (!full) {
      std::memcpy(buf + n, "/24", 4);
      n += 3;
    }
  } else {
    in6_addr a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (!full) std::memset(a.s6_addr + 6, 0, 10);
    inet_ntop(AF_INET6, &a, buf, sizeof buf);
    n = std::strlen(buf);
    if (!full) {
      std::memcpy(buf + n, "/48", 4);
      n += 3;
    }
  }
  return {buf, n};
}

}  // namespace

void BlockCounter::log_line(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                            std::string_view event, const uint8_t* qname, size_t qname_len,
                            uint16_t qtype, int rcode, const net::ClientEndpoint& from,
                            spdlog::logger* to, config::LogConfig::BlockedFormat format) {
  const policy::ListData& list = snap.lists[v.list];
  using Mode = config::LogConfig::ClientAddress;
  char client[64];
  name_.clear();
  dns::append_wire_log_text(name_, qname, qname_len);
  BlockedLogFields f;
  f.event = event;
  f.name = name_;
  f.qtype = qtype;
  f.policy = v.policy < snap.policies.size() ? std::string_view(snap.policies[v.policy].name)
                                             : std::string_view("-");
  f.list = list.name;
  f.category = list.category;
  f.action = snap.actions[v.action].name;
  f.rcode = rcode;
  f.line = v.line;
  f.authority = list.basis.authority;
  f.reference = list.basis.reference;
  if (log_cfg_->client_address != Mode::kNone)
    f.client = client_text(from, log_cfg_->client_address == Mode::kFull, client);
  if (format == config::LogConfig::BlockedFormat::kJson)
    f.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  format_blocked_line(f, format, line_, scratch_);
  to->info(std::string_view(line_.data(), line_.size()));
}

void BlockCounter::count(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                         const dns::ClientQuery& cq, uint16_t qtype,
                         const net::ClientEndpoint& from, int rcode) {
  counters_.inc(Counter::kBlocked);
  if (auto* cell = snap.cell_for(v)) cell->inc(worker_index_);
  const int32_t category = snap.lists[v.list].protected_category;
  if (snap.protected_users && category >= 0 && !from.proxy_local) {
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
  const uint8_t* qname = cq.question;
  const size_t qname_len = cq.question_len - 4;
  if (blocked_log_)
    log_line(snap, v, "blocked", qname, qname_len, qtype, rcode, from, blocked_log_,
             log_cfg_->blocked_queries_format);
  else if (snap.actions[v.action].log)
    log_line(snap, v, "blocked", qname, qname_len, qtype, rcode, from, spdlog::default_logger_raw(),
             config::LogConfig::BlockedFormat::kText);
}

void BlockCounter::monitor(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                           const uint8_t* qname, size_t qname_len, uint16_t qtype,
                           const net::ClientEndpoint& from) {
  counters_.inc(Counter::kMonitored);
  if (auto* cell = snap.cell_for(v)) cell->inc(worker_index_);
  if (!snap.actions[v.action].log) return;
  if (blocked_log_)
    log_line(snap, v, "monitored", qname, qname_len, qtype, -1, from, blocked_log_,
             log_cfg_->blocked_queries_format);
  else
    log_line(snap, v, "monitored", qname, qname_len, qtype, -1, from, spdlog::default_logger_raw(),
             config::LogConfig::BlockedFormat::kText);
}

}  // namespace sinkhole::pipeline
