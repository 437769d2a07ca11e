// SPDX-License-Identifier: MIT
// QueryPipeline: the request pipeline of one worker. One call per stage, each with a typed
// outcome (step.h); the file of each stage is named in ARCHITECTURE.md:
//
//   receive   net/ listeners hand a complete message to on_query()
//   proxy     UDP from server.proxy_protocol_from: the PROXY v2 header names the client
//             (proxy_stage; TCP: the listener reads it once per connection)
//   admit     allow_query / deny_query → AdmitStage (admit_stage); not admitted: REFUSED
//             or dropped
//   parse     dns::parse_query; malformed → reject_malformed (meta_stage)
//   meta      AXFR/IXFR, CHAOS, other classes, ANY → answer_meta (meta_stage)
//   classify  client → policy group; decide → PolicyStage (policy_stage)
//   blocked   build_blocked_answer (blocked_answer), counted by BlockCounter (block_counter);
//             the `cname` action and RPZ `CNAME other.name.` resolve their target first
//   cache     PacketCache hit → respond
//   upstream  InflightTable (coalescing) + UpstreamPool → on_upstream_answer / _failure
//   respond   a CNAME/DNAME chain into a blocked name gets that block's answer; a chain the
//             upstream left unfinished is followed (chase_stage.cc, state in chase.h);
//             otherwise the message is rewritten for the client (ID, 0x20 case, our OPT,
//             truncation)
//   reply     reply(): UDP replies pass the RateLimiter (rate_limiter: dropped, or slipped
//             as TC=1), the rcode is counted, then the ReplySink sends — the one place
//
// Seams (for tests/resolver/pipeline): the ReplySink (where answers go), the Clock (every
// time the pipeline reads) and the upstream Transport behind the UpstreamPool.
// Worker thread only.
#pragma once

#include <spdlog/logger.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "policy/snapshot_holder.h"
#include "resolver/cache/packet_cache.h"
#include "resolver/config/config.h"
#include "resolver/dns/chain_answer.h"
#include "resolver/dns/query_view.h"
#include "resolver/dns/question_key.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/net/client_endpoint.h"
#include "resolver/pipeline/admit_stage.h"
#include "resolver/pipeline/block_counter.h"
#include "resolver/pipeline/blocked_answer.h"
#include "resolver/pipeline/chase.h"
#include "resolver/pipeline/decision_log.h"
#include "resolver/pipeline/policy_stage.h"
#include "resolver/pipeline/rate_limiter.h"
#include "resolver/pipeline/reply_sink.h"
#include "resolver/pipeline/step.h"
#include "resolver/upstream/clock.h"
#include "resolver/upstream/debug_log.h"
#include "resolver/upstream/inflight_table.h"
#include "resolver/upstream/limit_log.h"
#include "resolver/upstream/upstream_pool.h"

namespace sinkhole::pipeline {

class QueryPipeline final : public net::QuerySink, public upstream::UpstreamDelegate {
 public:
  // `cache` is shared by all workers (cache.max_bytes 0: constructed but disabled, so a
  // reload may turn it on); null in tests without a cache. `sink` and `clock` must outlive
  // the pipeline.
  QueryPipeline(const config::Config& cfg, metrics::WorkerCounters& counters,
                const policy::SnapshotHolder& policies, cache::PacketCache* cache, ReplySink& sink,
                const upstream::Clock& clock);
  // The pool is created after the pipeline (it needs the pipeline as its delegate); a
  // reload may switch it: new questions go to the new pool, those in flight finish on the
  // pool that started them (PendingQuery::pool).
  void set_upstreams(upstream::UpstreamPool* pool) { pool_ = pool; }
  void set_worker_index(unsigned index) {
    blocks_.set_worker_index(index);
    policy_.set_worker_index(index);
  }
  // The rate limit is shared between this many workers (rate_limiter.h); 1 until told.
  void set_worker_count(unsigned workers);
  // A reload's settings (resolver/pipeline/live_settings.h), between two queries: admit
  // tables, rate limit, in-flight limits, the blocked-query log's fields, and whatever is
  // read from the config per query (deadline, identity/version). `cfg` must stay alive
  // until the next call (the worker keeps the LiveSettings that owns it). The upstream
  // pool is switched by set_upstreams, the blocked-query log by set_blocked_log; the
  // restart-required keys of `cfg` must equal those the pipeline started with.
  void apply_settings(const config::Config& cfg);
  // For the TCP listeners: a denied client's connection is closed at accept.
  const net::ClientFilter& client_filter() const { return admit_; }
  void set_blocked_log(spdlog::logger* log) { blocks_.set_blocked_log(log); }
  // The sink logs queries too (dnstap): each query is reported to ReplySink::received and
  // its wall-clock arrival time is carried in its endpoint, so that an answer sent later
  // still knows it. Off, neither costs anything per query.
  void set_log_queries(bool on) { log_queries_ = on; }
  // Where an accepted NOTIFY goes (zone, sender): the feed manager (thread-safe). Before
  // run(). Unset: NOTIFY is accepted and answered, and nothing refreshes.
  using NotifySink = std::function<void(const std::string& zone, const std::string& from)>;
  void set_notify_sink(NotifySink sink) { notify_sink_ = std::move(sink); }

  void on_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from) override;
  void on_upstream_answer(upstream::PendingQuery& q, const uint8_t* resp,
                          const dns::MessageView& m) override;
  void on_upstream_failure(upstream::PendingQuery& q) override;

  // The gate of this worker's per-query debug lines; the pool shares it.
  upstream::DebugLog& debug_log() { return debug_; }

  // Questions waiting on an upstream (graceful shutdown waits for 0).
  size_t in_flight() const { return inflight_.size(); }
  // Answers being assembled from several questions (chases) right now.
  size_t chases_in_use() const { return chases_.in_use(); }
  // Answers every waiting client with SERVFAIL (forced shutdown).
  void fail_all();

 private:
  // A UDP datagram when PROXY v2 is on, or one that may carry a header: proxy_stage.h
  // decides whose query it is, or drops it (counted).
  void on_udp_via_proxy(const uint8_t* msg, size_t len, const net::ClientEndpoint& from);
  // A query whose client is known: stamped for dnstap when it logs, then handled.
  void accept_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from);
  void handle_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from);
  // A client the admit stage turned away: REFUSED (ID and question echoed when readable) or
  // dropped, as server.refuse_action says.
  void refuse_unadmitted(const uint8_t* msg, size_t len, const net::ClientEndpoint& from);
  Step apply_policy(const dns::QueryView& q, const uint8_t* msg, const dns::ClientQuery& cq,
                    const net::ClientEndpoint& from);
  // The blocked answer of `v` for the question in `cq` (deferred for a redirect), counted
  // and logged (BlockCounter). `hops`: questions already asked for this client's answer (a
  // chain that led here).
  Step answer_blocked(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                      const dns::ClientQuery& cq, uint16_t qtype, const net::ClientEndpoint& to,
                      unsigned hops = 0);
  // A fresh (or, when `stale`, an expired but servable) cached answer for `cq`, responded.
  // `chase` and `deadline_ms` as for respond().
  Step from_cache(const dns::QuestionKey& key, const dns::ClientQuery& cq,
                  const net::ClientEndpoint& to, bool stale, uint32_t& chase, uint64_t deadline_ms);
  // respond's RPZ step: rpz-ip rules on the answer, a name's verdict that waited for it.
  Step answer_policy(const policy::PolicySnapshot& snap, const uint8_t* resp,
                     const dns::MessageView& m, const dns::ClientQuery& cq, uint16_t qtype,
                     const net::ClientEndpoint& to, const Chase* c);
  // The respond stage: an upstream or cached message for one client. `chase`: the client's
  // Chase handle when the message answers a link of a chain, else 0; respond may create
  // one. On return a non-zero `chase` is the caller's to release; 0 means a waiter owns
  // it. `deadline_ms`: the client's deadline, should a chain have to be followed.
  Step respond(const uint8_t* resp, const dns::MessageView& m, const dns::ClientQuery& cq,
               uint16_t qtype, const net::ClientEndpoint& to, uint32_t& chase,
               uint64_t deadline_ms);
  // Queues the client on the in-flight question `key` (starting it upstream if new, with a
  // deadline no later than `deadline_ms`).
  void forward(const dns::QuestionKey& key, const dns::ClientQuery& cq,
               const net::ClientEndpoint& from, uint32_t context,
               uint64_t deadline_ms = UINT64_MAX);
  // --- chase_stage.cc: answers assembled from several questions (chase.h) ---
  // A redirect (`b.redirect`): our CNAME, then the target's records.
  Step start_redirect(const BlockedAnswer& b, const dns::ClientQuery& cq, uint16_t qtype,
                      const net::ClientEndpoint& to, unsigned hops);
  // `resp` ends in a chain to follow (`end`): keep its records, ask for the chain's end.
  Step follow_chain(const dns::ChainEnd& end, const uint8_t* resp, const dns::MessageView& m,
                    const dns::ClientQuery& cq, uint16_t qtype, const net::ClientEndpoint& to,
                    uint32_t& chase, uint64_t deadline_ms);
  // Asks for the next link `target` (cache, then in flight, then upstream) within the
  // limits; a listed target (not the `cname` action's own) gets its block's answer.
  Step ask_link(uint32_t& chase, const uint8_t* target, size_t target_len,
                const dns::ClientQuery& cq, uint16_t qtype, const net::ClientEndpoint& to);
  // The last link answered: the client's answer is the chain's records, then `resp`'s.
  Step finish_chain(Chase& c, const uint8_t* resp, const dns::MessageView& m,
                    const dns::ClientQuery& cq, uint16_t qtype);
  // A chain that cannot be finished (loop, too long, out of time): SERVFAIL with an EDE.
  Step chain_failed(const dns::ClientQuery& cq, uint16_t ede_code, const char* why);
  // No upstream will answer `key` for this client: a stale cached answer (RFC 8767) for a
  // plain forward, else SERVFAIL with `ede`.
  void answer_without_upstream(const dns::QuestionKey& key, const dns::ClientQuery& cq,
                               const net::ClientEndpoint& to, uint32_t context,
                               const dns::Ede& ede);
  // Counts and logs (rate-limited) a question refused by an in-flight limit.
  void note_limit(upstream::Admission a, const dns::QuestionKey& key);
  // Sends the reply of an answering Step; true when the query is done with (answered,
  // dropped or deferred).
  bool finish(const Step& s, const net::ClientEndpoint& to);
  // Counts the rcode, then sends: a client that has its answer sees it counted.
  void reply(const net::ClientEndpoint& to, uint16_t rcode, const uint8_t* data, size_t len);
  void count_rcode(uint16_t rcode);
  // The deadline of a client whose question starts now (upstream.deadline from now).
  uint64_t client_deadline() const {
    return clock_.now_ms() + static_cast<uint64_t>(cfg_->upstream.deadline.count());
  }
  void done_waiting(const upstream::Waiter& w);
  // The decision line (decision_log.h), when debug lines are on and one is allowed now.
  void debug_decision(const net::ClientEndpoint& from, const uint8_t* qname, size_t qname_len,
                      uint16_t qtype, Decision d, const policy::Verdict* v = nullptr);
  // A cache is there and cache.max_bytes is not 0 now (a reload may change it).
  bool cache_on() const { return cache_ && cache_->enabled(); }

  const config::Config* cfg_;  // the settings in force (apply_settings)
  unsigned workers_ = 1;
  metrics::WorkerCounters& counters_;
  ReplySink& sink_;
  const upstream::Clock& clock_;
  AdmitStage admit_;
  RateLimiter limiter_;
  PolicyStage policy_;
  BlockCounter blocks_;
  upstream::InflightTable inflight_;
  upstream::LimitLog limit_log_;
  upstream::DebugLog debug_;
  upstream::UpstreamPool* pool_ = nullptr;
  cache::PacketCache* cache_ = nullptr;
  bool log_queries_ = false;
  NotifySink notify_sink_;
  // RFC 1996 NOTIFY for an RPZ feed list (notify_stage.h): answered, and passed on.
  void handle_notify(const uint8_t* msg, size_t len, const dns::QueryView& q,
                     const net::ClientEndpoint& from);
  // Chases by Waiter::context (redirects and unfinished chains).
  ChaseTable chases_;
  std::unique_ptr<uint8_t[]> cache_buf_;  // a cached message is copied here, then patched
  alignas(64) uint8_t tx_[dns::kMaxMessage + 1024];
  uint8_t slip_[dns::kHeaderSize + dns::kMaxNameWire + 4];  // a TC=1 slip reply
};

}  // namespace sinkhole::pipeline
