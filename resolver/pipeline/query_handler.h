// SPDX-License-Identifier: MIT
// QueryHandler: the request pipeline of one worker, one call per stage (see STYLE.md §1):
// parse → meta queries → (policy, cache: later issues) → upstream, and the answers that come
// back from upstream. Each stage returns a typed outcome; counting happens here.
// Worker thread only.
#pragma once

#include <cstddef>
#include <cstdint>

#include <spdlog/logger.h>

#include "blocklist/pattern_set.h"
#include "policy/snapshot_holder.h"
#include "resolver/cache/packet_cache.h"
#include "resolver/config/config.h"
#include "resolver/dns/answer_builder.h"
#include "resolver/dns/query_view.h"
#include "resolver/metrics/worker_counters.h"
#include "resolver/net/client_endpoint.h"
#include "resolver/upstream/inflight_table.h"
#include "resolver/upstream/upstream_pool.h"

namespace sinkhole::dnstap {
class WorkerTap;
}

namespace sinkhole::pipeline {

class QueryHandler final : public net::QuerySink, public upstream::UpstreamDelegate {
 public:
  // `cache` is shared by all workers; null when the cache is off.
  QueryHandler(const config::Config& cfg, metrics::WorkerCounters& counters,
               const policy::SnapshotHolder& policies, cache::PacketCache* cache);
  // The pool is created after the handler (it needs the handler as delegate).
  void set_upstreams(upstream::UpstreamPool* pool) { pool_ = pool; }
  // Before serving: this worker's dnstap tap (null: dnstap off, one pointer test per query).
  void set_dnstap(dnstap::WorkerTap* tap) { tap_ = tap; }
  // Which worker this is: its slot in shared per-worker counters (metrics::BlockStats).
  void set_worker_index(unsigned index) { worker_index_ = index; }
  // Where blocked queries are logged, one line each (null: not logged).
  void set_blocked_log(spdlog::logger* log) { blocked_log_ = log; }

  void on_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from) override;
  void on_upstream_answer(upstream::PendingQuery& q, const uint8_t* resp,
                          const dns::MessageView& m) override;
  void on_upstream_failure(upstream::PendingQuery& q) override;

  // Questions waiting on an upstream (graceful shutdown waits for 0).
  size_t in_flight() const { return inflight_.size(); }
  // Answers every waiting client with SERVFAIL (forced shutdown).
  void fail_all();

 private:
  enum class Stage : uint8_t { kContinue, kAnswered, kDropped };

  // The pipeline; on_query stamps the arrival time into the endpoint first when dnstap is on.
  void handle_query(const uint8_t* msg, size_t len, const net::ClientEndpoint& from);

  Stage reject_malformed(const dns::QueryView& q, const uint8_t* msg, size_t limit,
                         const net::ClientEndpoint& from);
  Stage answer_meta(const dns::QueryView& q, const dns::ClientQuery& cq,
                    const net::ClientEndpoint& from);
  Stage apply_policy(const dns::QueryView& q, const uint8_t* msg, const dns::ClientQuery& cq,
                     const net::ClientEndpoint& from);
  // Sends the answer of a block verdict for the question in `cq`.
  void answer_blocked(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                      const dns::ClientQuery& cq, uint16_t qtype, const net::ClientEndpoint& to);
  // A CNAME/DNAME target in an upstream answer that this client's policy blocks.
  std::optional<policy::Verdict> blocked_chain(const policy::PolicySnapshot& snap,
                                               const net::ClientEndpoint& client,
                                               const uint8_t* resp, const dns::MessageView& m);
  const policy::PolicySnapshot& snapshot();
  // Answers from the packet cache (fresh, or stale when `stale`); false on a miss.
  bool answer_from_cache(const cache::CacheKey& key, const dns::ClientQuery& cq,
                         const net::ClientEndpoint& to, bool stale);
  // Sends an upstream (or cached) message to one client: CNAME-chain check, rewrite, count.
  void answer_with(const policy::PolicySnapshot& snap, const uint8_t* resp,
                   const dns::MessageView& m, const dns::ClientQuery& cq, uint16_t qtype,
                   const net::ClientEndpoint& to);
  void log_verdict(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                   const dns::QueryView& q, const uint8_t* msg);
  // Counts one blocked query: totals, by list/category/action, the blocked-query log.
  void count_block(const policy::PolicySnapshot& snap, const policy::Verdict& v,
                   const dns::ClientQuery& cq, uint16_t qtype, const net::ClientEndpoint& from);
  // Returns the waiter added for this client (the cname action marks it).
  upstream::Waiter& forward(const uint8_t* qname, size_t qname_len, uint16_t qtype, uint16_t qclass,
                            bool do_bit, bool cd_bit, const dns::ClientQuery& cq,
                            const net::ClientEndpoint& from);
  size_t build_cname_answer(const upstream::PendingQuery& pq, const upstream::Waiter& w,
                            const uint8_t* resp, const dns::MessageView& m);
  void finish_waiter(const upstream::Waiter& w);

  void send(const net::ClientEndpoint& to, const uint8_t* data, size_t len);
  // Counted before the reply is sent: a client that has its answer sees it counted.
  void count_rcode(uint16_t rcode);

  const config::Config& cfg_;
  metrics::WorkerCounters& counters_;
  dnstap::WorkerTap* tap_ = nullptr;
  unsigned worker_index_ = 0;
  spdlog::logger* blocked_log_ = nullptr;
  upstream::InflightTable inflight_;
  upstream::UpstreamPool* pool_ = nullptr;
  policy::SnapshotView policies_;
  uint64_t scratch_generation_ = 0;
  blocklist::PatternScratch scratch_;  // Hyperscan scratch of this worker
  cache::PacketCache* cache_ = nullptr;
  std::unique_ptr<uint8_t[]> cache_buf_;  // a cached message is copied here, then patched
  alignas(64) uint8_t tx_[dns::kMaxMessage + 1024];
};

}  // namespace sinkhole::pipeline
