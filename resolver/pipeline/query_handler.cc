// SPDX-License-Identifier: MIT
#include "resolver/pipeline/query_handler.h"

#include <chrono>
#include <cstring>

#include "resolver/dns/name.h"
#include "resolver/dns/response_rewriter.h"
#include "resolver/dnstap/dnstap_writer.h"
#include "resolver/net/tcp_listener.h"
#include "resolver/net/udp_listener.h"
#include "resolver/pipeline/tap_peer.h"

namespace sinkhole::pipeline {

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
                           const policy::SnapshotHolder& policies, cache::PacketCache* cache)
    : cfg_(cfg),
      counters_(counters),
      policies_(policies),
      cache_(cache),
      cache_buf_(cache ? new uint8_t[dns::kMaxMessage] : nullptr) {}

namespace {
uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

cache::CacheKey key_of(const uint8_t* qname, size_t len, uint16_t qtype, uint16_t qclass,
                       bool do_bit, bool cd_bit) {
  return {qname, len, qtype, qclass, do_bit, cd_bit};
}
}  // namespace

bool QueryHandler::answer_from_cache(const cache::CacheKey& key, const dns::ClientQuery& cq,
                                     const net::ClientEndpoint& to, bool stale) {
  const cache::Lookup hit =
      stale ? cache_->get_stale(key, now_ms(), cache_buf_.get(), dns::kMaxMessage)
            : cache_->get(key, now_ms(), cache_buf_.get(), dns::kMaxMessage);
  if (!hit.hit()) return false;
  const dns::MessageView m = dns::parse_message(cache_buf_.get(), hit.size);
  if (!m.ok) return false;
  counters_.inc(stale ? Counter::kCacheStale : Counter::kCacheHits);
  answer_with(snapshot(), cache_buf_.get(), m, cq, key.qtype, to);
  return true;
}

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
  if (!tap_) return handle_query(msg, len, from);
  // dnstap: the endpoint carries the arrival time into in-flight waiters, so an upstream
  // answer sent later is logged with its query's time.
  net::ClientEndpoint stamped = from;
  stamped.received_ns = dnstap::wall_clock_ns();
  handle_query(msg, len, stamped);
}

void QueryHandler::handle_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from) {
  if (!from.is_tcp()) counters_.inc(Counter::kQueriesUdp);
  const dns::QueryView q = dns::parse_query(msg, len);
  // Logged when it gets an answer (FORMERR included); dropped garbage is not a query.
  if (tap_ && q.outcome != dns::ParseOutcome::kDropShortHeader &&
      q.outcome != dns::ParseOutcome::kDropResponse)
    tap_->client_query(tap_peer(from), msg, len);
  const size_t limit =
      from.is_tcp() ? dns::kMaxMessage : dns::udp_reply_limit(q, cfg_.server.udp_payload);
  if (!q.ok()) {
    reject_malformed(q, msg, limit, from);
    return;
  }
  counters_.inc_qtype(q.qtype);
  const dns::ClientQuery cq = dns::client_query_from(q, msg, cfg_.server.udp_payload, limit);
  if (answer_meta(q, cq, from) != Stage::kContinue) return;
  if (apply_policy(q, msg, cq, from) != Stage::kContinue) return;
  // Policy runs before the cache, so a reload that blocks a cached name blocks it at once.
  if (cache_) {
    if (answer_from_cache(key_of(q.qname(msg), q.qname_len, q.qtype, q.qclass, q.do_bit, q.cd()),
                          cq, from, /*stale=*/false))
      return;
    counters_.inc(Counter::kCacheMisses);
  }
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
  count_rcode(rcode);
  send(from, tx_, dns::build_rcode_reply(cq, rcode, tx_));
  return Stage::kAnswered;
}

QueryHandler::Stage QueryHandler::answer_meta(const dns::QueryView& q, const dns::ClientQuery& cq,
                                              const net::ClientEndpoint& from) {
  const uint16_t refused = static_cast<uint16_t>(dns::Rcode::kRefused);
  if (q.qtype == rrtype::kAxfr || q.qtype == rrtype::kIxfr) {
    counters_.inc(Counter::kRefusedZoneTransfer);
    count_rcode(refused);
    send(from, tx_, dns::build_rcode_reply(cq, refused, tx_, {dns::ede::kProhibited, {}}));
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
      count_rcode(0);
      send(from, tx_, dns::build_chaos_txt(cq, **text, tx_));
    } else {
      counters_.inc(Counter::kRefusedChaos);
      count_rcode(refused);
      send(from, tx_, dns::build_rcode_reply(cq, refused, tx_));
    }
    return Stage::kAnswered;
  }
  if (q.qclass != dns::rrclass::kIn) {
    counters_.inc(Counter::kRefusedClass);
    count_rcode(refused);
    send(from, tx_, dns::build_rcode_reply(cq, refused, tx_));
    return Stage::kAnswered;
  }
  if (q.qtype == rrtype::kAny) {
    counters_.inc(Counter::kAnsweredAnyRfc8482);
    count_rcode(0);
    send(from, tx_, dns::build_any_hinfo(cq, tx_));
    return Stage::kAnswered;
  }
  return Stage::kContinue;
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

void QueryHandler::finish_waiter(const upstream::Waiter& w) {
  if (w.endpoint.is_tcp()) w.endpoint.tcp->release();
}

void QueryHandler::on_upstream_answer(upstream::PendingQuery& pq, const uint8_t* resp,
                                      const dns::MessageView& m) {
  if (cache_)
    cache_->insert(key_of(pq.qname(), pq.qname_len, pq.qtype, pq.qclass, pq.do_bit, pq.cd_bit),
                   resp, m, now_ms());
  const policy::PolicySnapshot& snap = snapshot();
  for (upstream::Waiter* w = pq.waiters; w; w = w->next) {
    if (w->cname) {
      count_rcode(m.rcode());
      send(w->endpoint, tx_, build_cname_answer(pq, *w, resp, m));
    } else {
      answer_with(snap, resp, m, w->query, pq.qtype, w->endpoint);
    }
    finish_waiter(*w);
  }
  inflight_.finish(&pq);
}

void QueryHandler::answer_with(const policy::PolicySnapshot& snap, const uint8_t* resp,
                               const dns::MessageView& m, const dns::ClientQuery& cq,
                               uint16_t qtype, const net::ClientEndpoint& to) {
  // A CNAME/DNAME into a listed name gets that rule's answer for the client's question.
  const bool policies = snap.default_policy != policy::kAllowAll || !snap.policies.empty();
  if (policies && m.ancount > 0) {
    if (auto v = blocked_chain(snap, to, resp, m)) {
      v->depth = 0;  // the listed name is the CNAME target: the SOA is owned by the question
      counters_.inc(Counter::kBlockedCnameChain);
      count_block(snap, *v, cq, qtype, to);
      answer_blocked(snap, *v, cq, qtype, to);
      return;
    }
  }
  const dns::Rewritten r = dns::rewrite_response(cq, resp, m, tx_);
  if (r.result == dns::RewriteResult::kUnusable) {
    const uint16_t servfail = static_cast<uint16_t>(dns::Rcode::kServFail);
    count_rcode(servfail);
    send(to, tx_, dns::build_rcode_reply(cq, servfail, tx_));
    return;
  }
  if (r.result == dns::RewriteResult::kTruncated) counters_.inc(Counter::kTruncatedUdp);
  count_rcode(m.rcode());
  send(to, tx_, r.size);
}

void QueryHandler::on_upstream_failure(upstream::PendingQuery& pq) {
  const uint16_t servfail = static_cast<uint16_t>(dns::Rcode::kServFail);
  const cache::CacheKey key =
      key_of(pq.qname(), pq.qname_len, pq.qtype, pq.qclass, pq.do_bit, pq.cd_bit);
  for (upstream::Waiter* w = pq.waiters; w; w = w->next) {
    // RFC 8767: every upstream failed, so a recently expired answer beats SERVFAIL.
    if (cache_ && !w->cname && answer_from_cache(key, w->query, w->endpoint, /*stale=*/true)) {
      finish_waiter(*w);
      continue;
    }
    count_rcode(servfail);
    send(w->endpoint, tx_,
         dns::build_rcode_reply(w->query, servfail, tx_,
                                {dns::ede::kNoReachableAuthority, "no upstream answered"}));
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
  if (tap_) tap_->client_response(tap_peer(to), data, len);
}

void QueryHandler::count_rcode(uint16_t rcode) {
  // kRcodeNoError..kRcodeRefused follow the rcode values 0..5 in the counter enum.
  static_assert(
      static_cast<int>(Counter::kRcodeRefused) - static_cast<int>(Counter::kRcodeNoError) == 5);
  counters_.inc(rcode <= 5 ? static_cast<Counter>(static_cast<int>(Counter::kRcodeNoError) + rcode)
                           : Counter::kRcodeOther);
}

}  // namespace sinkhole::pipeline
