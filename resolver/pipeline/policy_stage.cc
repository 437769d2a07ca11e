// SPDX-License-Identifier: MIT
// The policy stage of QueryHandler: classify the client, decide the name, and answer a
// blocked query (synthesized records, negative answers with an SOA, EDE), including blocks
// found later in an upstream answer's CNAME chain. Worker thread only.
#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "resolver/dns/name.h"
#include "resolver/dns/record_copy.h"
#include "resolver/dns/synth_answer.h"
#include "resolver/net/tcp_listener.h"
#include "resolver/net/udp_listener.h"
#include "resolver/pipeline/query_handler.h"

namespace sinkhole::pipeline {

using metrics::Counter;
namespace rrtype = dns::rrtype;

// Only for actions with `log: true` (e.g. trialling a list in monitor mode): one line per
// query, without the client's address (the privacy-safe default).
void QueryHandler::log_verdict(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                               const dns::QueryView& q, const uint8_t* msg) {
  const policy::ListData& list = snap.lists[v.list];
  const policy::Action& a = snap.actions[v.action];
  spdlog::info("{} {} type {} list {} category {} {}:{} action {}",
               v.kind == policy::Verdict::Kind::kMonitor ? "monitored" : "blocked",
               dns::wire_to_text(q.qname(msg), q.qname_len), q.qtype, list.name, list.category,
               list.path, v.line, a.name);
}

QueryHandler::Stage QueryHandler::apply_policy(const dns::QueryView& q, const uint8_t* msg,
                                               const dns::ClientQuery& cq,
                                               const net::ClientEndpoint& from) {
  const policy::PolicySnapshot& snap = snapshot();
  const int32_t p = snap.classify(from.sa());
  if (p == policy::kRefuseClient) {
    counters_.inc(Counter::kRefusedNoPolicy);
    const uint16_t refused = static_cast<uint16_t>(dns::Rcode::kRefused);
    count_rcode(refused);
    send(from, tx_, dns::build_rcode_reply(cq, refused, tx_, {dns::ede::kProhibited, {}}));
    return Stage::kAnswered;
  }
  if (p == policy::kAllowAll) return Stage::kContinue;
  const policy::Verdict v = snap.decide(p, q.qname(msg), q.qname_len, &scratch_);
  switch (v.kind) {
    case policy::Verdict::Kind::kAllow:
      return Stage::kContinue;
    case policy::Verdict::Kind::kMonitor:
      counters_.inc(Counter::kMonitored);
      if (snap.actions[v.action].log) log_verdict(snap, v, q, msg);
      return Stage::kContinue;
    case policy::Verdict::Kind::kBlock:
      break;
  }
  const policy::Action& action = snap.actions[v.action];
  if (action.log) log_verdict(snap, v, q, msg);
  if (action.kind == policy::ActionKind::kTcpOnly && from.is_tcp()) return Stage::kContinue;
  count_block(snap, v, cq, q.qtype, from);
  answer_blocked(snap, v, cq, q.qtype, from);
  return Stage::kAnswered;
}

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

void QueryHandler::count_block(const policy::PolicySnapshot& snap, const policy::Verdict& v,
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
                                   static_cast<int64_t>(std::time(nullptr)));
    else
      snap.protected_users->record(static_cast<uint16_t>(category),
                                   &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16,
                                   static_cast<int64_t>(std::time(nullptr)));
  }
  if (!blocked_log_) return;
  // Opt-in, and then an async logger with a bounded queue that drops the oldest line when
  // full: a burst of blocked queries never waits on journald.
  const policy::ListData& list = snap.lists[v.list];
  using Mode = config::LogConfig::ClientAddress;
  const Mode mode = cfg_.log.client_address;
  const std::string name = dns::wire_to_text(cq.question, cq.question_len - 4);
  if (mode == Mode::kNone)
    blocked_log_->info("blocked name={} type={} list={} category={} action={}", name, qtype,
                       list.name, list.category, snap.actions[v.action].name);
  else
    blocked_log_->info("blocked name={} type={} list={} category={} action={} client={}", name,
                       qtype, list.name, list.category, snap.actions[v.action].name,
                       client_text(from, mode == Mode::kFull));
}

void QueryHandler::answer_blocked(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                                  const dns::ClientQuery& cq, uint16_t qtype,
                                  const net::ClientEndpoint& to) {
  const policy::Action& a = snap.actions[v.action];
  const policy::ListData& list = snap.lists[v.list];
  char text[512];
  const size_t text_len = policy::render_ede(a.ede_text, list.name, list.category, list.path,
                                             v.line, text, sizeof text);
  const dns::Ede ede = a.ede ? dns::Ede{a.ede_code, {text, text_len}} : dns::Ede{};
  const size_t qname_len = cq.question_len - 4;
  const dns::SynthSoa soa{dns::suffix_offset(cq.question, qname_len, v.depth), a.soa_ttl,
                          static_cast<uint32_t>(snap.generation)};
  constexpr size_t kMaxRecords = 16;
  dns::SynthRecord recs[kMaxRecords];
  size_t n = 0;
  uint16_t rcode = 0;
  bool negative = false;  // NXDOMAIN/NODATA: add the SOA for negative caching
  switch (a.kind) {
    case policy::ActionKind::kSinkhole:
      if (qtype == rrtype::kA)
        for (const auto& addr : a.a)
          if (n < kMaxRecords) recs[n++] = {rrtype::kA, a.ttl, addr.data(), 4};
      if (qtype == rrtype::kAaaa)
        for (const auto& addr : a.aaaa)
          if (n < kMaxRecords) recs[n++] = {rrtype::kAaaa, a.ttl, addr.data(), 16};
      negative = n == 0;
      break;
    case policy::ActionKind::kNxDomain:
      rcode = static_cast<uint16_t>(dns::Rcode::kNxDomain);
      negative = true;
      break;
    case policy::ActionKind::kNoData:
      negative = true;
      break;
    case policy::ActionKind::kRefused:
      rcode = static_cast<uint16_t>(dns::Rcode::kRefused);
      break;
    case policy::ActionKind::kDrop:
      return;
    case policy::ActionKind::kTcpOnly:
      // Over UDP a TC=1 stub sends the client to TCP, where the query is served.
      counters_.inc(Counter::kTruncatedUdp);
      count_rcode(0);
      send(to, tx_, dns::build_truncated(cq, 0, tx_));
      return;
    case policy::ActionKind::kCname: {
      if (qtype == rrtype::kCname) {  // asked for the CNAME itself: nothing to chase
        recs[n++] = {rrtype::kCname, a.ttl, a.target.data(),
                     static_cast<uint16_t>(a.target.size())};
        break;
      }
      const uint16_t qclass = dns::read_u16(cq.question + qname_len + 2);
      upstream::Waiter& w = forward(a.target.data(), a.target.size(), qtype, qclass, cq.do_bit,
                                    cq.flags & dns::flags::kCd, cq, to);
      w.cname = true;
      w.cname_ttl = a.ttl;
      w.cname_ede = a.ede ? a.ede_code : dns::kNoEde;
      w.cname_ede_len = static_cast<uint8_t>(std::min(text_len, sizeof w.cname_ede_text));
      std::memcpy(w.cname_ede_text, text, w.cname_ede_len);
      return;
    }
    case policy::ActionKind::kLocalData: {
      const auto it = list.local.find(v.entry);
      if (it != list.local.end())
        for (const auto& rec : it->second)
          if ((rec.type == qtype || rec.type == rrtype::kCname) && n < kMaxRecords)
            recs[n++] = {rec.type, rec.ttl, rec.rdata.data(),
                         static_cast<uint16_t>(rec.rdata.size())};
      negative = n == 0;
      break;
    }
    case policy::ActionKind::kPassthru:
      return;  // decided as kMonitor, never here
  }
  size_t size = dns::build_synthesized(cq, rcode, recs, n, negative ? &soa : nullptr, ede, tx_);
  if (size > cq.reply_limit) {
    counters_.inc(Counter::kTruncatedUdp);
    size = dns::build_truncated(cq, rcode, tx_);
  }
  count_rcode(rcode);
  send(to, tx_, size);
}

std::optional<policy::Verdict> QueryHandler::blocked_chain(const policy::PolicySnapshot& snap,
                                                           const net::ClientEndpoint& client,
                                                           const uint8_t* resp,
                                                           const dns::MessageView& m) {
  const int32_t p = snap.classify(client.sa());
  if (p < 0) return std::nullopt;
  size_t pos = m.question_end;
  for (size_t i = 0; i < m.ancount; ++i) {
    const dns::RecordSpan r = dns::skip_record(resp, m.end, pos);
    if (r.end == 0) break;
    if (r.type == rrtype::kCname || r.type == rrtype::kDname) {
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

size_t QueryHandler::build_cname_answer(const upstream::PendingQuery& pq, const upstream::Waiter& w,
                                        const uint8_t* resp, const dns::MessageView& m) {
  const dns::ClientQuery& cq = w.query;
  dns::SynthRecord cname{rrtype::kCname, w.cname_ttl, pq.qname(),
                         static_cast<uint16_t>(pq.qname_len)};
  size_t pos = dns::build_synthesized(cq, m.rcode() & 0xF, &cname, 1, nullptr, {}, tx_);
  // Drop our OPT for now; the upstream's answer records go between.
  pos = dns::kHeaderSize + cq.question_len;
  pos += 12 + pq.qname_len;
  const dns::CopiedRecords copied = dns::copy_records_expanded(
      resp, m.end, m.question_end, m.ancount, tx_ + pos, dns::kMaxMessage - pos - 600);
  pos += copied.bytes;
  dns::write_u16(tx_ + dns::kOffAnCount, static_cast<uint16_t>(1 + copied.count));
  dns::write_u16(tx_ + dns::kOffArCount, 0);
  if (cq.has_opt) {
    pos += dns::write_opt(tx_ + pos, cq, 0, {w.cname_ede, {w.cname_ede_text, w.cname_ede_len}});
    dns::write_u16(tx_ + dns::kOffArCount, 1);
  }
  if (pos > cq.reply_limit) {
    counters_.inc(Counter::kTruncatedUdp);
    pos = dns::build_truncated(cq, m.rcode() & 0xF, tx_);
  }
  return pos;
}

}  // namespace sinkhole::pipeline
