// SPDX-License-Identifier: MIT
#include "resolver/pipeline/query_pipeline.h"

#include <spdlog/spdlog.h>
#include <sys/random.h>

#include <algorithm>
#include <cstring>

#include "resolver/dns/answer_builder.h"
#include "resolver/dns/name.h"
#include "resolver/dns/redirect_answer.h"
#include "resolver/dns/response_rewriter.h"
#include "resolver/net/proxy_header.h"
#include "resolver/pipeline/meta_stage.h"
#include "resolver/pipeline/notify_stage.h"
#include "resolver/pipeline/proxy_stage.h"
#include "resolver/upstream/zone_key.h"
#include "util/log_escape.h"

namespace sinkhole::pipeline {

using metrics::Counter;

namespace {
constexpr auto kRefused = static_cast<uint16_t>(dns::Rcode::kRefused);
constexpr auto kServFail = static_cast<uint16_t>(dns::Rcode::kServFail);
constexpr dns::Ede kUnreachable{dns::ede::kNoReachableAuthority, "no upstream answered"};
// EDE 0 (Other Error, RFC 8914 §4.1): the upstreams may be fine; this worker chose not to
// ask them.
constexpr uint16_t kEdeOther = 0;
constexpr dns::Ede kLimitWorker{kEdeOther, "too many queries in flight upstream"};
constexpr dns::Ede kLimitZone{kEdeOther, "too many queries in flight for this zone"};
constexpr dns::Ede kLimitUpstream{kEdeOther, "every upstream is busy"};

uint64_t random_u64() {
  uint64_t v = 0;
  while (getrandom(&v, sizeof v, 0) != sizeof v) {
  }
  return v;
}
}  // namespace

QueryPipeline::QueryPipeline(const config::Config& cfg, metrics::WorkerCounters& counters,
                             const policy::SnapshotHolder& policies, cache::PacketCache* cache,
                             ReplySink& sink, const upstream::Clock& clock)
    : cfg_(&cfg),
      counters_(counters),
      sink_(sink),
      clock_(clock),
      admit_(cfg.server.access),
      limiter_(cfg.rate_limit, 1, random_u64(), random_u64()),
      policy_(policies),
      blocks_(cfg.log, counters, clock),
      debug_(cfg.log.debug_query_rate),
      cache_(cache),
      cache_buf_(cache ? new uint8_t[dns::kMaxMessage] : nullptr) {
  inflight_.set_limits({cfg.upstream.max_inflight, cfg.upstream.zone_limit()});
}

void QueryPipeline::set_worker_count(unsigned workers) {
  workers_ = workers;
  limiter_.reconfigure(cfg_->rate_limit, workers_);
}

// Once per reload, on this worker's thread, between two queries: the only allocations are
// the admit tables and, when rate limiting was just turned on, the bucket table.
void QueryPipeline::apply_settings(const config::Config& cfg) {
  cfg_ = &cfg;
  admit_.configure(cfg.server.access);
  limiter_.reconfigure(cfg.rate_limit, workers_);
  inflight_.set_limits({cfg.upstream.max_inflight, cfg.upstream.zone_limit()});
  blocks_.set_log_config(cfg.log);
  debug_.set_rate(cfg.log.debug_query_rate);
}

// --- receive → admit → parse → meta → policy → cache → upstream -------------------------

void QueryPipeline::on_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from) {
  // With server.proxy_protocol_from empty, only a datagram that could begin with the
  // PROXY signature (an ID starting 0x0D: 1 in 256) goes to look for one.
  if (!from.is_tcp() && (admit_.proxies_configured() ||
                         (len > 0 && msg[0] == net::kProxyV2Signature[0]))) [[unlikely]]
    return on_udp_via_proxy(msg, len, from);
  accept_query(msg, len, from);
}

void QueryPipeline::on_udp_via_proxy(const uint8_t* msg, size_t len,
                                     const net::ClientEndpoint& from) {
  net::ClientEndpoint client = from;
  switch (strip_proxy_header(admit_.trusts_proxy(from.peer_sa()), msg, len, client)) {
    case ProxyOutcome::kPlain:
      break;
    case ProxyOutcome::kProxied:
      counters_.inc(Counter::kQueriesProxied);
      break;
    case ProxyOutcome::kUntrusted:
      return counters_.inc(Counter::kProxyHeaderUntrusted);
    case ProxyOutcome::kMissing:
      return counters_.inc(Counter::kProxyHeaderMissing);
    case ProxyOutcome::kMalformed:
      return counters_.inc(Counter::kProxyHeaderMalformed);
  }
  accept_query(msg, len, client);
}

void QueryPipeline::accept_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from) {
  if (!log_queries_) return handle_query(msg, len, from);
  net::ClientEndpoint stamped = from;
  stamped.received_ns = clock_.wall_ns();
  handle_query(msg, len, stamped);
}

void QueryPipeline::handle_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from) {
  counters_.inc(from.is_tcp() ? Counter::kQueriesTcp : Counter::kQueriesUdp);
  if (!admit_.admits(from.sa())) return refuse_unadmitted(msg, len, from);
  const dns::QueryView q = dns::parse_query(msg, len);
  // Logged when it gets an answer (FORMERR included); dropped garbage is not a query.
  if (log_queries_ && q.outcome != dns::ParseOutcome::kDropShortHeader &&
      q.outcome != dns::ParseOutcome::kDropResponse)
    sink_.received(from, msg, len);
  const size_t limit =
      from.is_tcp() ? dns::kMaxMessage : dns::udp_reply_limit(q, cfg_->server.udp_payload);
  const dns::ClientQuery cq = dns::client_query_from(q, msg, cfg_->server.udp_payload, limit);
  if (q.outcome == dns::ParseOutcome::kNotImp && q.opcode() == kOpcodeNotify && q.question_ok)
      [[unlikely]] {
    handle_notify(msg, len, q, from);
    return;
  }
  if (!q.ok()) {
    finish(reject_malformed(q, cq, counters_, tx_), from);
    return;
  }
  counters_.inc_qtype(q.qtype);
  if (finish(answer_meta(q, cq, cfg_->server, counters_, tx_), from)) return;
  if (finish(apply_policy(q, msg, cq, from), from)) return;
  // Policy runs before the cache, so a reload that blocks a cached name blocks it at once.
  const dns::QuestionKey key{q.qname(msg), q.qname_len, q.qtype, q.qclass, q.do_bit, q.cd()};
  if (cache_on()) {
    uint32_t chase = 0;
    const Step s = from_cache(key, cq, from, /*stale=*/false, chase, client_deadline());
    if (chase) chases_.release(chase);
    if (finish(s, from)) {
      if (upstream::DebugLog::on()) [[unlikely]]
        debug_decision(from, key.qname, key.qname_len, key.qtype, Decision::kCacheHit);
      return;
    }
    counters_.inc(Counter::kCacheMisses);
  }
  forward(key, cq, from, /*context=*/0);
}

void QueryPipeline::debug_decision(const net::ClientEndpoint& from, const uint8_t* qname,
                                   size_t qname_len, uint16_t qtype, Decision d,
                                   const policy::Verdict* v) {
  if (!debug_.allow(clock_.now_ms())) return;
  log_decision(policy_.snapshot(), from, qname, qname_len, qtype, d, v);
}

void QueryPipeline::handle_notify(const uint8_t* msg, size_t len, const dns::QueryView& q,
                                  const net::ClientEndpoint& from) {
  const NotifyOutcome o =
      answer_notify(msg, len, q, from.sa(), policy_.snapshot(), tx_, sizeof tx_);
  counters_.inc(o.accepted ? Counter::kNotifyAccepted : Counter::kNotifyRefused);
  if (o.accepted && notify_sink_) notify_sink_(o.zone, o.from);
  if (!o.accepted && upstream::DebugLog::on()) [[unlikely]]
    spdlog::debug("NOTIFY refused: {}", o.reason);
  if (o.size > 0) reply(from, o.rcode, tx_, o.size);
}

void QueryPipeline::refuse_unadmitted(const uint8_t* msg, size_t len,
                                      const net::ClientEndpoint& from) {
  if (admit_.drops()) return counters_.inc(Counter::kDropAcl);
  // The parse is bounded (query_view.h), so echoing the question costs a stranger little.
  const dns::QueryView q = dns::parse_query(msg, len);
  if (q.outcome == dns::ParseOutcome::kDropShortHeader ||
      q.outcome == dns::ParseOutcome::kDropResponse)
    return counters_.inc(Counter::kDropAcl);
  if (log_queries_) sink_.received(from, msg, len);
  const size_t limit =
      from.is_tcp() ? dns::kMaxMessage : dns::udp_reply_limit(q, cfg_->server.udp_payload);
  const dns::ClientQuery cq = dns::client_query_from(q, msg, cfg_->server.udp_payload, limit);
  counters_.inc(Counter::kRefusedAcl);
  reply(from, kRefused, tx_,
        dns::build_rcode_reply(cq, kRefused, tx_, {dns::ede::kProhibited, {}}));
}

Step QueryPipeline::apply_policy(const dns::QueryView& q, const uint8_t* msg,
                                 const dns::ClientQuery& cq, const net::ClientEndpoint& from) {
  const policy::PolicySnapshot& snap = policy_.snapshot();
  const PolicyDecision d = policy_.decide(snap, from.sa(), q.qname(msg), q.qname_len);
  if (d.kind != PolicyDecision::Kind::kAllow && upstream::DebugLog::on()) [[unlikely]]
    debug_decision(from, q.qname(msg), q.qname_len, q.qtype,
                   d.kind == PolicyDecision::Kind::kBlock     ? Decision::kBlocked
                   : d.kind == PolicyDecision::Kind::kMonitor ? Decision::kMonitored
                                                              : Decision::kRefusedNoPolicy,
                   d.kind == PolicyDecision::Kind::kRefuseClient ? nullptr : &d.verdict);
  switch (d.kind) {
    case PolicyDecision::Kind::kAllow:
      return Step::next();
    case PolicyDecision::Kind::kRefuseClient:
      counters_.inc(Counter::kRefusedNoPolicy);
      return Step::reply(kRefused,
                         dns::build_rcode_reply(cq, kRefused, tx_, {dns::ede::kProhibited, {}}));
    case PolicyDecision::Kind::kMonitor:
      blocks_.monitor(snap, d.verdict, q.qname(msg), q.qname_len, q.qtype, from);
      return Step::next();
    case PolicyDecision::Kind::kBlock:
      break;
  }
  const policy::Action& action = snap.actions[d.verdict.action];
  if (action.kind == policy::ActionKind::kTcpOnly && from.is_tcp()) return Step::next();
  if (d.verdict.entry & policy::kIpTriggerEntry) counters_.inc(Counter::kBlockedRpzClientIp);
  return answer_blocked(snap, d.verdict, cq, q.qtype, from);
}

Step QueryPipeline::answer_blocked(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                                   const dns::ClientQuery& cq, uint16_t qtype,
                                   const net::ClientEndpoint& to, unsigned hops) {
  const BlockedAnswer b = build_blocked_answer(snap, v, cq, qtype, tx_);
  blocks_.count(snap, v, cq, qtype, to,
                !b.redirect && b.step.kind == Step::Kind::kReply ? b.step.rcode : -1);
  if (b.truncated) counters_.inc(Counter::kTruncatedUdp);
  if (!b.redirect) return b.step;
  return start_redirect(b, cq, qtype, to, hops);
}

Step QueryPipeline::from_cache(const dns::QuestionKey& key, const dns::ClientQuery& cq,
                               const net::ClientEndpoint& to, bool stale, uint32_t& chase,
                               uint64_t deadline_ms) {
  const uint64_t now = clock_.now_ms();
  const cache::Lookup hit = stale ? cache_->get_stale(key, now, cache_buf_.get(), dns::kMaxMessage)
                                  : cache_->get(key, now, cache_buf_.get(), dns::kMaxMessage);
  if (!hit.hit()) return Step::next();
  const dns::MessageView m = dns::parse_message(cache_buf_.get(), hit.size);
  if (!m.ok) return Step::next();
  counters_.inc(stale ? Counter::kCacheStale : Counter::kCacheHits);
  return respond(cache_buf_.get(), m, cq, key.qtype, to, chase, deadline_ms);
}

// The waiter (and its hold on the client's connection) is in place before the pool starts:
// start() may fail every upstream at once and call on_upstream_failure before it returns.
void QueryPipeline::forward(const dns::QuestionKey& key, const dns::ClientQuery& cq,
                            const net::ClientEndpoint& from, uint32_t context,
                            uint64_t deadline_ms) {
  const upstream::InflightTable::Found f = inflight_.find_or_admit(key);
  if (context == 0 && upstream::DebugLog::on()) [[unlikely]]
    debug_decision(from, key.qname, key.qname_len, key.qtype,
                   !f.q                                           ? Decision::kLimited
                   : f.admission == upstream::Admission::kCreated ? Decision::kUpstream
                                                                  : Decision::kCoalesced);
  if (!f.q) {
    note_limit(f.admission, key);
    answer_without_upstream(
        key, cq, from, context,
        f.admission == upstream::Admission::kZoneFull ? kLimitZone : kLimitWorker);
    if (context) chases_.release(context);
    return;
  }
  inflight_.add_waiter(*f.q, cq, from, context);
  sink_.hold(from);
  if (f.admission == upstream::Admission::kCreated)
    pool_->start(*f.q, deadline_ms);
  else
    counters_.inc(Counter::kUpstreamCoalesced);
}

void QueryPipeline::note_limit(upstream::Admission a, const dns::QuestionKey& key) {
  const bool zone = a == upstream::Admission::kZoneFull;
  counters_.inc(zone ? Counter::kUpstreamLimitZone : Counter::kUpstreamLimitWorker);
  uint64_t skipped = 0;
  if (!limit_log_.due(zone ? upstream::LimitReason::kZone : upstream::LimitReason::kWorker,
                      clock_.now_ms(), skipped))
    return;
  if (!zone) {
    spdlog::warn(
        "upstream limit: {} distinct questions in flight on this worker (upstream.max_inflight); "
        "answering stale or SERVFAIL ({} more since the last line)",
        cfg_->upstream.max_inflight, skipped);
    return;
  }
  uint8_t lower[dns::kMaxNameWire];
  dns::lower_name(key.qname, key.qname_len, lower);
  const size_t at = upstream::zone_offset(lower, key.qname_len);
  spdlog::warn(
      "upstream limit: zone {} has {} questions in flight on this worker (upstream.zone_share "
      "{}% of upstream.max_inflight); answering stale or SERVFAIL ({} more since the last line)",
      util::escape_for_log(dns::wire_to_text(lower + at, key.qname_len - at), 100),
      cfg_->upstream.zone_limit(), cfg_->upstream.zone_share_percent, skipped);
}

void QueryPipeline::answer_without_upstream(const dns::QuestionKey& key, const dns::ClientQuery& cq,
                                            const net::ClientEndpoint& to, uint32_t context,
                                            const dns::Ede& ede) {
  // RFC 8767: no upstream answer, so a recently expired answer beats SERVFAIL.
  if (cache_on() && context == 0) {
    uint32_t chase = 0;
    const Step s = from_cache(key, cq, to, /*stale=*/true, chase, client_deadline());
    if (chase) chases_.release(chase);
    if (finish(s, to)) return;
  }
  // A name's block that waited for the answer (RPZ precedence) applies without one.
  if (const policy::PolicySnapshot& snap = policy_.snapshot(); context == 0 && snap.any_answer_ip) {
    const PolicyDecision d =
        policy_.decide(snap, to.sa(), key.qname, key.qname_len, /*answer_known=*/true);
    if (d.kind == PolicyDecision::Kind::kBlock) {
      if (d.verdict.entry & policy::kIpTriggerEntry) counters_.inc(Counter::kBlockedRpzClientIp);
      finish(answer_blocked(snap, d.verdict, cq, key.qtype, to), to);
      return;
    }
  }
  reply(to, kServFail, tx_, dns::build_rcode_reply(cq, kServFail, tx_, ede));
}

// --- upstream answers → respond → reply ---------------------------------------------------

void QueryPipeline::on_upstream_answer(upstream::PendingQuery& pq, const uint8_t* resp,
                                       const dns::MessageView& m) {
  // An unfinished chain is cached once finished, under the question that started it.
  if (cache_on() && dns::find_chain_end(resp, m).kind == dns::ChainEnd::Kind::kComplete)
    cache_->insert(pq.question(), resp, m, clock_.now_ms());
  for (upstream::Waiter* w = pq.waiters; w; w = w->next) {
    // The waiter's chase (if any) goes with the answer: respond passes it on to the next
    // link's waiter, or hands it back here to release.
    uint32_t chase = w->context;
    w->context = 0;
    finish(respond(resp, m, w->query, pq.qtype, w->endpoint, chase, pq.deadline_ms), w->endpoint);
    if (chase) chases_.release(chase);
    done_waiting(*w);
  }
  inflight_.finish(&pq);
}

void QueryPipeline::on_upstream_failure(upstream::PendingQuery& pq) {
  const dns::Ede& ede =
      pq.failure == upstream::PendingQuery::Failure::kUpstreamLimit ? kLimitUpstream : kUnreachable;
  for (upstream::Waiter* w = pq.waiters; w; w = w->next) {
    answer_without_upstream(pq.question(), w->query, w->endpoint, w->context, ede);
    done_waiting(*w);
  }
  inflight_.finish(&pq);
}

Step QueryPipeline::respond(const uint8_t* resp, const dns::MessageView& m,
                            const dns::ClientQuery& cq, uint16_t qtype,
                            const net::ClientEndpoint& to, uint32_t& chase, uint64_t deadline_ms) {
  Chase* c = chase ? &chases_.at(chase) : nullptr;
  // Re-decided against the snapshot in service now: a reload between the query and its
  // answer applies to the answer. The `cname` action's own target is the operator's.
  const policy::PolicySnapshot& snap = policy_.snapshot();
  if (!c || c->kind != Chase::Kind::kRedirect) {
    if (auto v = policy_.blocked_in_chain(snap, to.sa(), resp, m)) {
      v->depth = 0;  // the listed name is a CNAME target: the SOA is owned by the question
      counters_.inc(Counter::kBlockedCnameChain);
      return answer_blocked(snap, *v, cq, qtype, to, c ? c->queries : 0);
    }
    if (snap.any_answer_ip && cq.question_len > 4) {
      const Step s = answer_policy(snap, resp, m, cq, qtype, to, c);
      if (s.kind != Step::Kind::kContinue) return s;
    }
  }
  const dns::ChainEnd end = dns::find_chain_end(resp, m);
  if (end.kind != dns::ChainEnd::Kind::kComplete)
    return follow_chain(end, resp, m, cq, qtype, to, chase, deadline_ms);
  if (c) return finish_chain(*c, resp, m, cq, qtype);
  const dns::Rewritten r = dns::rewrite_response(cq, resp, m, tx_);
  if (r.result == dns::RewriteResult::kUnusable)
    return Step::reply(kServFail, dns::build_rcode_reply(cq, kServFail, tx_));
  if (r.result == dns::RewriteResult::kTruncated) counters_.inc(Counter::kTruncatedUdp);
  return Step::reply(m.rcode(), r.size);
}

// RPZ rpz-ip rules on this answer, and a name's verdict that waited for it (RPZ precedence,
// policy/snapshot.h). Cached answers pass here too, on the snapshot in service now.
Step QueryPipeline::answer_policy(const policy::PolicySnapshot& snap, const uint8_t* resp,
                                  const dns::MessageView& m, const dns::ClientQuery& cq,
                                  uint16_t qtype, const net::ClientEndpoint& to, const Chase* c) {
  const uint8_t* qname = cq.question;
  const size_t qname_len = cq.question_len - 4;
  const PolicyDecision d = policy_.decide_answer(snap, to.sa(), qname, qname_len, resp, m);
  // Which trigger decided: an rpz-ip rule, a client rule that waited, or the name.
  const policy::IpRule* ip =
      d.kind != PolicyDecision::Kind::kAllow && (d.verdict.entry & policy::kIpTriggerEntry)
          ? &snap.lists[d.verdict.list].ip_triggers->rule(d.verdict.entry)
          : nullptr;
  const bool by_answer = ip && !ip->client;
  if (d.kind == PolicyDecision::Kind::kMonitor && (by_answer || !c))  // once per client query
    blocks_.monitor(snap, d.verdict, qname, qname_len, qtype, to);
  if (d.kind != PolicyDecision::Kind::kBlock) return Step::next();
  if (snap.actions[d.verdict.action].kind == policy::ActionKind::kTcpOnly && to.is_tcp())
    return Step::next();
  if (ip) counters_.inc(by_answer ? Counter::kBlockedRpzIp : Counter::kBlockedRpzClientIp);
  return answer_blocked(snap, d.verdict, cq, qtype, to, c ? c->queries : 0);
}

void QueryPipeline::done_waiting(const upstream::Waiter& w) {
  if (w.context) chases_.release(w.context);
  sink_.release(w.endpoint);
}

void QueryPipeline::fail_all() {
  // Each question is cancelled by the pool that started it (a reload may have retired it).
  inflight_.for_each([](upstream::PendingQuery* pq) { pq->pool->cancel(*pq); });
}

// --- reply ---------------------------------------------------------------------------------

bool QueryPipeline::finish(const Step& s, const net::ClientEndpoint& to) {
  switch (s.kind) {
    case Step::Kind::kContinue:
      return false;
    case Step::Kind::kReply:
      reply(to, s.rcode, tx_, s.size);
      return true;
    case Step::Kind::kDrop:
    case Step::Kind::kDeferred:
      return true;
  }
  return true;
}

void QueryPipeline::reply(const net::ClientEndpoint& to, uint16_t rcode, const uint8_t* data,
                          size_t len) {
  // TCP replies are never limited: a TCP client has shown it owns its address.
  if (!to.is_tcp() && limiter_.enabled()) {
    switch (limiter_.check(to.sa(), clock_.now_ms())) {
      case RateLimiter::Outcome::kPass:
        break;
      case RateLimiter::Outcome::kDrop:
        return counters_.inc(Counter::kRateLimitedDropped);
      case RateLimiter::Outcome::kSlip:
        counters_.inc(Counter::kRateLimitedSlipped);
        len = dns::build_slip(data, len, slip_);
        data = slip_;
        break;
    }
  }
  count_rcode(rcode);
  sink_.send(to, data, len);
}

void QueryPipeline::count_rcode(uint16_t rcode) {
  // kRcodeNoError..kRcodeRefused follow the rcode values 0..5 in the counter enum.
  static_assert(
      static_cast<int>(Counter::kRcodeRefused) - static_cast<int>(Counter::kRcodeNoError) == 5);
  counters_.inc(rcode <= 5 ? static_cast<Counter>(static_cast<int>(Counter::kRcodeNoError) + rcode)
                           : Counter::kRcodeOther);
}

}  // namespace sinkhole::pipeline
