// SPDX-License-Identifier: MIT
#include "resolver/server/query_handler.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <spdlog/spdlog.h>

#include "resolver/dns/name.h"
#include "resolver/dns/record_copy.h"
#include "resolver/dns/response_rewriter.h"
#include "resolver/dns/synth_answer.h"
#include "resolver/net/tcp_listener.h"
#include "resolver/net/udp_listener.h"

namespace sinkhole::server {

using metrics::Counter;
namespace rrtype = dns::rrtype;

namespace {

// ParseOutcome → its counter; the two enums list the malformed classes in the same order.
Counter parse_counter(dns::ParseOutcome o) {
  return static_cast<Counter>(static_cast<size_t>(Counter::kDropShortHeader) +
                              static_cast<size_t>(o) -
                              static_cast<size_t>(dns::ParseOutcome::kDropShortHeader));
}
static_assert(static_cast<size_t>(Counter::kBadVers) -
                  static_cast<size_t>(Counter::kDropShortHeader) ==
              static_cast<size_t>(dns::ParseOutcome::kBadVers) -
                  static_cast<size_t>(dns::ParseOutcome::kDropShortHeader));

// Lower-cased wire form of a few CHAOS names, compared case-insensitively.
bool qname_is(const uint8_t* qname, size_t len, const char* text) {
  uint8_t wire[dns::kMaxNameWire];
  const size_t n = dns::text_to_wire(text, wire);
  return n == len && dns::wire_names_equal_ci(qname, wire, n);
}

}  // namespace

QueryHandler::QueryHandler(const config::Config& cfg, metrics::WorkerCounters& counters,
                           const policy::SnapshotHolder& policies)
    : cfg_(cfg), counters_(counters), policies_(policies) {}

const policy::PolicySnapshot& QueryHandler::snapshot() {
  const policy::PolicySnapshot& snap = policies_.get();
  if (snap.generation != scratch_generation_) {
    // Once per reload: grow this worker's Hyperscan scratch to fit the new databases.
    for (const auto& list : snap.lists)
      if (list.matcher->pattern_count() > 0) scratch_.prepare(list.matcher->patterns());
    scratch_generation_ = snap.generation;
  }
  return snap;
}

void QueryHandler::on_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from) {
  if (!from.is_tcp()) counters_.inc(Counter::kQueriesUdp);
  const dns::QueryView q = dns::parse_query(msg, len);
  const size_t limit =
      from.is_tcp() ? dns::kMaxMessage : dns::udp_reply_limit(q, cfg_.server.udp_payload);
  if (!q.ok()) {
    reject_malformed(q, msg, limit, from);
    return;
  }
  const dns::ClientQuery cq = dns::client_query_from(q, msg, cfg_.server.udp_payload, limit);
  if (answer_meta(q, cq, from) != Stage::kContinue) return;
  if (apply_policy(q, msg, cq, from) != Stage::kContinue) return;
  // The cache stage (a later issue) goes here: policy runs first, so a reload that blocks
  // a cached name blocks it at once.
  forward(q.qname(msg), q.qname_len, q.qtype, q.qclass, q.do_bit, q.cd(), cq, from);
}

QueryHandler::Stage QueryHandler::reject_malformed(const dns::QueryView& q, const uint8_t* msg,
                                                   size_t limit, const net::ClientEndpoint& from) {
  counters_.inc(parse_counter(q.outcome));
  uint16_t rcode = 0;
  switch (q.outcome) {
    case dns::ParseOutcome::kDropShortHeader:
    case dns::ParseOutcome::kDropResponse:
      return Stage::kDropped;
    case dns::ParseOutcome::kNotImp:
      rcode = static_cast<uint16_t>(dns::Rcode::kNotImp);
      break;
    case dns::ParseOutcome::kBadVers:
      rcode = static_cast<uint16_t>(dns::Rcode::kBadVers);
      break;
    default:
      rcode = static_cast<uint16_t>(dns::Rcode::kFormErr);
      break;
  }
  dns::ClientQuery cq = dns::client_query_from(q, msg, cfg_.server.udp_payload, limit);
  // A FORMERR for a broken OPT carries no OPT of ours; BADVERS must (RFC 6891 §6.1.3).
  if (rcode == static_cast<uint16_t>(dns::Rcode::kFormErr)) cq.has_opt = false;
  send(from, tx_, dns::build_rcode_reply(cq, rcode, tx_));
  count_rcode(rcode);
  return Stage::kAnswered;
}

QueryHandler::Stage QueryHandler::answer_meta(const dns::QueryView& q, const dns::ClientQuery& cq,
                                              const net::ClientEndpoint& from) {
  const uint16_t refused = static_cast<uint16_t>(dns::Rcode::kRefused);
  if (q.qtype == rrtype::kAxfr || q.qtype == rrtype::kIxfr) {
    counters_.inc(Counter::kRefusedZoneTransfer);
    send(from, tx_, dns::build_rcode_reply(cq, refused, tx_, {dns::ede::kProhibited, {}}));
    count_rcode(refused);
    return Stage::kAnswered;
  }
  if (q.qclass == dns::rrclass::kCh) {
    const uint8_t* name = cq.question;
    const std::optional<std::string>* text = nullptr;
    if (q.qtype == rrtype::kTxt) {
      if (qname_is(name, q.qname_len, "version.bind") ||
          qname_is(name, q.qname_len, "version.server"))
        text = &cfg_.server.version;
      else if (qname_is(name, q.qname_len, "id.server") ||
               qname_is(name, q.qname_len, "hostname.bind"))
        text = &cfg_.server.identity;
    }
    if (text && text->has_value()) {
      counters_.inc(Counter::kAnsweredChaos);
      send(from, tx_, dns::build_chaos_txt(cq, **text, tx_));
      count_rcode(0);
    } else {
      counters_.inc(Counter::kRefusedChaos);
      send(from, tx_, dns::build_rcode_reply(cq, refused, tx_));
      count_rcode(refused);
    }
    return Stage::kAnswered;
  }
  if (q.qclass != dns::rrclass::kIn) {
    counters_.inc(Counter::kRefusedClass);
    send(from, tx_, dns::build_rcode_reply(cq, refused, tx_));
    count_rcode(refused);
    return Stage::kAnswered;
  }
  if (q.qtype == rrtype::kAny) {
    counters_.inc(Counter::kAnsweredAnyRfc8482);
    send(from, tx_, dns::build_any_hinfo(cq, tx_));
    count_rcode(0);
    return Stage::kAnswered;
  }
  return Stage::kContinue;
}

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
    send(from, tx_, dns::build_rcode_reply(cq, refused, tx_, {dns::ede::kProhibited, {}}));
    count_rcode(refused);
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
  counters_.inc(Counter::kBlocked);
  answer_blocked(snap, v, cq, q.qtype, from);
  return Stage::kAnswered;
}

upstream::Waiter& QueryHandler::forward(const uint8_t* qname, size_t qname_len, uint16_t qtype,
                                        uint16_t qclass, bool do_bit, bool cd_bit,
                                        const dns::ClientQuery& cq,
                                        const net::ClientEndpoint& from) {
  bool created = false;
  upstream::PendingQuery* pq =
      inflight_.find_or_create(qname, qname_len, qtype, qclass, do_bit, cd_bit, created);
  upstream::Waiter& w = inflight_.add_waiter(*pq, cq, from);
  if (from.is_tcp()) from.tcp->retain();
  if (created)
    pool_->start(*pq);
  else
    counters_.inc(Counter::kUpstreamCoalesced);
  return w;
}

namespace {

// Renders an action's EDE text template for one verdict into `buf` (no allocation).
size_t render_ede(const policy::Action& a, const policy::ListData& list, const policy::Verdict& v,
                  char* buf, size_t cap) {
  size_t n = 0;
  auto put = [&](std::string_view s) {
    const size_t k = std::min(s.size(), cap - n);
    std::memcpy(buf + n, s.data(), k);
    n += k;
  };
  for (const auto& piece : a.ede_text.pieces) {
    switch (piece.part) {
      case policy::EdeTemplate::Part::kText:
        put(piece.text);
        break;
      case policy::EdeTemplate::Part::kList:
        put(list.name);
        break;
      case policy::EdeTemplate::Part::kCategory:
        put(list.category);
        break;
      case policy::EdeTemplate::Part::kFile:
        put(list.path);
        break;
      case policy::EdeTemplate::Part::kLine: {
        char num[16];
        auto r = std::to_chars(num, num + sizeof num, v.line);
        put({num, static_cast<size_t>(r.ptr - num)});
        break;
      }
    }
  }
  return n;
}

}  // namespace

void QueryHandler::answer_blocked(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                                  const dns::ClientQuery& cq, uint16_t qtype,
                                  const net::ClientEndpoint& to) {
  const policy::Action& a = snap.actions[v.action];
  const policy::ListData& list = snap.lists[v.list];
  char text[512];
  const size_t text_len = render_ede(a, list, v, text, sizeof text);
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
      send(to, tx_, dns::build_truncated(cq, 0, tx_));
      count_rcode(0);
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
  send(to, tx_, size);
  count_rcode(rcode);
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

void QueryHandler::finish_waiter(const upstream::Waiter& w) {
  if (w.endpoint.is_tcp()) w.endpoint.tcp->release();
}

void QueryHandler::on_upstream_answer(upstream::PendingQuery& pq, const uint8_t* resp,
                                      const dns::MessageView& m) {
  const policy::PolicySnapshot& snap = snapshot();
  const bool policies = snap.default_policy != policy::kAllowAll || !snap.policies.empty();
  for (upstream::Waiter* w = pq.waiters; w; w = w->next) {
    // A CNAME/DNAME into a listed name gets that rule's answer for the client's question.
    if (policies && m.ancount > 0 && !w->cname) {
      if (auto v = blocked_chain(snap, w->endpoint, resp, m)) {
        v->depth = 0;  // the listed name is the CNAME target: the SOA is owned by the question
        counters_.inc(Counter::kBlocked);
        counters_.inc(Counter::kBlockedCnameChain);
        const uint16_t qtype = dns::read_u16(w->query.question + w->query.question_len - 4);
        answer_blocked(snap, *v, w->query, qtype, w->endpoint);
        finish_waiter(*w);
        continue;
      }
    }
    if (w->cname) {
      send(w->endpoint, tx_, build_cname_answer(pq, *w, resp, m));
      count_rcode(m.rcode());
      finish_waiter(*w);
      continue;
    }
    const dns::Rewritten r = dns::rewrite_response(w->query, resp, m, tx_);
    if (r.result == dns::RewriteResult::kUnusable) {
      const uint16_t servfail = static_cast<uint16_t>(dns::Rcode::kServFail);
      send(w->endpoint, tx_, dns::build_rcode_reply(w->query, servfail, tx_));
      count_rcode(servfail);
    } else {
      if (r.result == dns::RewriteResult::kTruncated) counters_.inc(Counter::kTruncatedUdp);
      send(w->endpoint, tx_, r.size);
      count_rcode(m.rcode());
    }
    finish_waiter(*w);
  }
  inflight_.finish(&pq);
}

void QueryHandler::on_upstream_failure(upstream::PendingQuery& pq) {
  const uint16_t servfail = static_cast<uint16_t>(dns::Rcode::kServFail);
  for (upstream::Waiter* w = pq.waiters; w; w = w->next) {
    send(w->endpoint, tx_,
         dns::build_rcode_reply(w->query, servfail, tx_,
                                {dns::ede::kNoReachableAuthority, "no upstream answered"}));
    count_rcode(servfail);
    if (w->endpoint.is_tcp()) w->endpoint.tcp->release();
  }
  inflight_.finish(&pq);
}

void QueryHandler::fail_all() {
  inflight_.for_each([this](upstream::PendingQuery* pq) { pool_->cancel(*pq); });
}

void QueryHandler::send(const net::ClientEndpoint& to, const uint8_t* data, size_t len) {
  if (to.is_tcp())
    to.tcp->send(data, len);
  else
    to.udp->send(to.sa(), data, len);
}

void QueryHandler::count_rcode(uint16_t rcode) {
  // kRcodeNoError..kRcodeRefused follow the rcode values 0..5 in the counter enum.
  static_assert(
      static_cast<int>(Counter::kRcodeRefused) - static_cast<int>(Counter::kRcodeNoError) == 5);
  counters_.inc(rcode <= 5 ? static_cast<Counter>(static_cast<int>(Counter::kRcodeNoError) + rcode)
                           : Counter::kRcodeOther);
}

}  // namespace sinkhole::server
